"""POST /ussd and POST /ussd/events: token, size cap, service code, never a 5xx.

See docs/design.md, "Endpoints".
"""

from __future__ import annotations

import dataclasses
import hmac
import logging

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy import insert
from werkzeug.exceptions import HTTPException

from models.database import one_statement
from models.enums import Source
from models.messaging import UssdEvent
from models.phones import try_normalise
from ussd_app.conversation import answer, apology
from ussd_app.engine import ENGINE, Reply
from ussd_app.origin import source_of
from ussd_app.ussd_adapter import ADAPTER, BadUssdRequest
from ussd_app.web_request import MAX_BODY

bp = Blueprint("ussd", __name__)
log = logging.getLogger("mbolo.ussd")


def _guard() -> None:
    """403 without the right token (current or previous, constant-time); 413 above 4 KB (WebRequest)."""
    from ussd_app.current import runtime

    tokens = runtime().config.webhook_tokens
    if tokens:
        given = request.args.get("token", "").encode()
        # Compare against every accepted token so the time taken does not tell which one matched.
        matches = [hmac.compare_digest(given, t.encode()) for t in tokens]
        if not any(matches):
            abort(403)
    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413)


@bp.post("/ussd")
def ussd_hop() -> Response:
    """One USSD hop: `CON …` or `END …`, 200 whatever the form holds."""
    from ussd_app.current import runtime

    _guard()
    rt = runtime()
    try:
        codes = rt.config.USSD_SERVICE_CODES
        if codes and ADAPTER.service_code(request) not in codes:
            return ADAPTER.respond(Reply(apology(), True))
        hop = ADAPTER.parse(request, rt.config.DEFAULT_REGION)
        hop = dataclasses.replace(hop, source=source_of(request.environ, Source.USSD))
    except BadUssdRequest as exc:
        log.info("ussd.hop", extra={"outcome": "bad_request", "field": str(exc)})
        return ADAPTER.respond(Reply(apology(), True))
    except HTTPException:
        raise  # 413 from the size cap
    except Exception as exc:  # noqa: BLE001 - boundary: a hop never answers 5xx
        log.error("ussd.hop_failed", extra={"error": type(exc).__name__})
        return ADAPTER.respond(Reply(apology(), True))
    engine = current_app.extensions.get("mbolo.ussd_engine", ENGINE)  # tests may add screens
    return ADAPTER.respond(answer(rt, hop, engine))


# One row and nothing else, built once: a Core INSERT on a connection of its own (one round trip on
# PostgreSQL), where the ORM's session and unit of work cost more CPU than the hop that ended it.
STORE_EVENT = insert(UssdEvent)


@bp.post("/ussd/events")
def ussd_event() -> Response:
    """End-of-session notice: stored without its `input` field; 200."""
    from ussd_app.current import runtime

    _guard()
    rt = runtime()
    payload = ADAPTER.event(request)
    row = {
        "session_id": payload.get("sessionId", "")[:100],
        "phone": try_normalise(payload.get("phoneNumber", ""), rt.config.DEFAULT_REGION),
        "status": payload.get("status", "")[:40] or None,
        "payload": payload,
        "received_at": rt.clock.now(),
    }
    try:
        with one_statement(rt.engine) as connection:
            connection.execute(STORE_EVENT, row)
    except Exception as exc:  # noqa: BLE001 - boundary: the notice is informational, the gateway gets 200
        log.error("ussd.event_failed", extra={"error": type(exc).__name__})
    return Response("", status=200, mimetype="text/plain")


def init_app(app: Flask) -> None:
    """Register the USSD endpoints."""
    app.register_blueprint(bp)
