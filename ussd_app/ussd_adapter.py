"""USSD aggregators' request and response formats; another aggregator is one more class.

An adapter turns the aggregator's HTTP request into a `UssdRequest` (phone in E.164) and a
`Reply` into its HTTP response. Africa's Talking: form-encoded POST, `CON `/`END ` text/plain.
"""

from __future__ import annotations

from typing import ClassVar

from flask import Request, Response

from models.phones import try_normalise
from ussd_app.conversation import UssdRequest
from ussd_app.engine import Reply

MAX_FIELD = 200  # longer values are not an aggregator's and are cut before storing
# What an end-of-session notice may store: Africa's Talking's documented fields minus `input` (it
# holds the PIN) and `lastAppResponse` (our last screen: balances). Anything else is dropped, so a
# field renamed or added upstream (`Input`, `userInput`…) can never bring a PIN into the table.
EVENT_FIELDS = frozenset(
    {
        "sessionId",
        "serviceCode",
        "networkCode",
        "phoneNumber",
        "status",
        "cost",
        "durationInMillis",
        "hopsCount",
        "errorMessage",
        "date",
    }
)


class BadUssdRequest(ValueError):
    """The request lacks what a hop needs (session id, a valid phone number)."""


class AfricasTalkingAdapter:
    """Africa's Talking: `sessionId, serviceCode, phoneNumber, networkCode, text` form fields."""

    name: ClassVar[str] = "africastalking"

    def service_code(self, request: Request) -> str:
        """The code dialled (checked against USSD_SERVICE_CODES)."""
        return request.form.get("serviceCode", "").strip()

    def parse(self, request: Request, region: str) -> UssdRequest:
        """The hop, or BadUssdRequest when the session id or the phone is missing or odd."""
        form = request.form
        session_id = form.get("sessionId", "").strip()
        if not session_id or len(session_id) > 100:
            raise BadUssdRequest("sessionId")
        phone = try_normalise(form.get("phoneNumber", "")[:30], region)
        if phone is None:
            raise BadUssdRequest("phoneNumber")
        return UssdRequest(
            session_id=session_id,
            phone=phone,
            text=form.get("text", "")[: MAX_FIELD * 5],
            service_code=self.service_code(request),
            network_code=form.get("networkCode", "")[:20],
        )

    def respond(self, reply: Reply) -> Response:
        """`CON …` to continue, `END …` to close; always 200 text/plain."""
        prefix = "END " if reply.end else "CON "
        return Response(prefix + reply.text, status=200, mimetype="text/plain")

    def event(self, request: Request) -> dict:
        """An end-of-session notice as stored: only the allowed fields, each cut to MAX_FIELD."""
        return {key: value[:MAX_FIELD] for key, value in request.form.items() if key in EVENT_FIELDS}


ADAPTER = AfricasTalkingAdapter()
