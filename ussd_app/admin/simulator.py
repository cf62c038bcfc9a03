"""`/simulator`: a basic phone on screen for demos and training.

Pick a member, dial, type: each hop is posted in-process to the real `POST /ussd` (the same
webhook, adapter, engine and session store the aggregator reaches) and the screen shows its
answer as is. Beside the phone, the SMS that number received (outbox rows to it) and a box to
send an SMS as that phone, posted in-process to the real `POST /sms/inbound` with a generated
gateway id `sim-…`, so treasurer commands run through the same inbound path.

What the simulator injects is marked: the in-process requests carry the WSGI environ key
`mbolo.source = "simulator"` (a key no HTTP client can set, see ussd_app.origin), so the webhooks
record what those hops and SMS write (repayments, savings, production reports, declarations, PINs,
their audit events) with source `simulator`; and every hop and SMS writes an audit event with
source `simulator` and the logged-in account as actor. In production it works
only for members of cooperatives flagged `demo`.

The text typed so far in a USSD session travels in a hidden form field, as the aggregator
resends it; it holds the PIN, so it is never stored server-side, logged or audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from models import audit
from models.cooperative import Cooperative, Member
from models.enums import Source
from models.messaging import InboundSms, OutboundSms
from models.phones import mask
from ussd_app.admin.pages import error_page, guard, protect
from ussd_app.admin.security import current_user
from ussd_app.origin import SOURCE_KEY, looks_simulated, simulated_id

log = logging.getLogger("mbolo.admin")

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates")
bp.before_request(guard)
bp.after_request(protect)
for _code in (400, 403, 404):
    bp.register_error_handler(_code, error_page)

DEFAULT_SERVICE_CODE = "*384*1#"
MAX_ENTRY = 40
THREAD_LIMIT = 30
DEMO_ONLY = "Le simulateur ne fonctionne en production que pour les coopératives de démonstration."


@dataclass(frozen=True)
class Screen:
    """What the phone shows after a hop."""

    text: str
    end: bool


def allowed_members(session):
    """Members the logged-in account may simulate: their cooperatives, and only `demo` ones in production."""
    user = current_user()
    stmt = (
        select(Member, Cooperative)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(Member.phone.is_not(None))
        .order_by(Cooperative.name, Member.member_key, Member.id)
    )
    stmt = user.scope.restrict(stmt, Member.cooperative_id, session)
    if _production():
        stmt = stmt.where(Cooperative.demo.is_(True))
    return session.execute(stmt).all()


def _production() -> bool:
    return current_app.config.get("APP_ENV") == "production"


def _member_or_refuse(session, member_id) -> tuple[Member, Cooperative]:
    """The member to act as; 403 outside the account's cooperatives or, in production, a non-demo one."""
    try:
        member = session.get(Member, int(member_id))
    except (TypeError, ValueError):
        abort(400, description="Membre inconnu.")
    if member is None or member.phone is None:
        abort(404)
    user = current_user()
    coop = session.get(Cooperative, member.cooperative_id)
    if not user.may_read(coop):
        abort(403)
    if _production() and not coop.demo:
        abort(403, description=DEMO_ONLY)
    return member, coop


def _service_code() -> str:
    codes = current_app.config.get("USSD_SERVICE_CODES") or ()
    return codes[0] if codes else DEFAULT_SERVICE_CODE


def _post_in_process(path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST to one of this app's webhooks in a fresh app context (its own database session).

    This request's own transaction is ended first: on SQLite every transaction holds the write
    lock (BEGIN IMMEDIATE), and on PostgreSQL the page must then read what the webhook wrote.
    """
    from ussd_app.current import db_session

    db_session().commit()
    tokens = current_app.config.get("WEBHOOK_TOKEN")
    query = {"token": tokens} if tokens else {}
    client = current_app.test_client()
    with current_app.app_context():
        response = client.post(
            path,
            data=form,
            query_string=query,
            environ_base={SOURCE_KEY: Source.SIMULATOR, "REMOTE_ADDR": "127.0.0.1"},
        )
        return response.status_code, response.get_data(as_text=True)


def _audit(action: str, member: Member, after: dict) -> None:
    from ussd_app.current import runtime

    rt = runtime()
    with rt.sessions() as session:
        audit.record(
            session,
            actor=f"user:{current_user().email}",
            action=action,
            target=f"member:{member.id}",
            source=Source.SIMULATOR,
            at=rt.clock.now(),
            member_id=member.id,
            after=after,
        )
        session.commit()


def thread(session, phone: str) -> list[dict]:
    """The phone's SMS, newest first: what it received (outbox rows to it) and what it sent."""
    received = session.scalars(
        select(OutboundSms).where(OutboundSms.to == phone).order_by(OutboundSms.id.desc()).limit(THREAD_LIMIT)
    ).all()
    sent = session.scalars(
        select(InboundSms)
        .where(InboundSms.from_phone == phone)
        .order_by(InboundSms.id.desc())
        .limit(THREAD_LIMIT)
    ).all()
    items = [
        {"at": row.created_at, "way": "in", "text": row.text, "status": row.status, "kind": row.kind}
        for row in received
    ]
    items += [
        {"at": row.received_at, "way": "out", "text": row.text, "status": row.status, "kind": ""}
        for row in sent
    ]
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:THREAD_LIMIT]


def _render(member: Member | None, coop: Cooperative | None, screen: Screen | None = None, **state):
    from ussd_app.current import db_session

    session = db_session()
    return render_template(
        "admin/simulator.html",
        choices=allowed_members(session),
        member=member,
        cooperative=coop,
        screen=screen,
        service_code=_service_code(),
        messages=thread(session, member.phone) if member else [],
        production=_production(),
        session_id=state.get("session_id", ""),
        text=state.get("text", ""),
        notice=state.get("notice"),
    )


@bp.get("/")
def phone():
    """The phone; `?member=ID` takes that member's phone."""
    from ussd_app.current import db_session

    chosen = request.args.get("member")
    if not chosen:
        return _render(None, None)
    member, coop = _member_or_refuse(db_session(), chosen)
    return _render(member, coop)


def _hop(member: Member, session_id: str, text: str) -> Screen:
    status, body = _post_in_process(
        "/ussd",
        {
            "sessionId": session_id,
            "serviceCode": _service_code(),
            "phoneNumber": member.phone,
            "networkCode": "SIM",
            "text": text,
        },
    )
    end = not body.startswith("CON ")
    shown = body[4:] if body[:4] in ("CON ", "END ") else body
    if status != 200:
        shown, end = f"Erreur {status}", True
    return Screen(shown, end)


@bp.post("/dial")
def dial():
    """Dial the service code: a new USSD session, its first screen."""
    from ussd_app.current import db_session

    member, coop = _member_or_refuse(db_session(), request.form.get("member"))
    session_id = simulated_id()
    screen = _hop(member, session_id, "")
    _audit("simulator.ussd", member, {"session": session_id, "hop": 1})
    log.info("simulator.dial", extra={"phone": mask(member.phone), "session": session_id})
    return _render(member, coop, screen, session_id=session_id, text="")


@bp.post("/key")
def key():
    """Send what was typed: the text grows as the aggregator's does (`1`, then `1*4827`)."""
    from ussd_app.current import db_session

    member, coop = _member_or_refuse(db_session(), request.form.get("member"))
    session_id = request.form.get("session_id", "")
    if not looks_simulated(session_id):
        abort(400, description="Session de simulation invalide : recomposez le code.")
    entry = request.form.get("entry", "").strip()[:MAX_ENTRY]
    before = request.form.get("text", "")[: MAX_ENTRY * 20]
    text = f"{before}*{entry}" if before else entry
    screen = _hop(member, session_id, text)
    _audit("simulator.ussd", member, {"session": session_id, "hop": text.count("*") + 2})
    return _render(member, coop, screen, session_id=session_id if not screen.end else "", text=text)


@bp.post("/sms")
def sms():
    """Send an SMS as this phone through the real inbound path, then show the thread."""
    from ussd_app.current import db_session

    member, _coop = _member_or_refuse(db_session(), request.form.get("member"))
    body = request.form.get("body", "").strip()[:459]
    if body:
        gateway_id = simulated_id()
        status, _ = _post_in_process(
            "/sms/inbound",
            {
                "from": member.phone,
                "to": current_app.config.get("AT_SENDER_ID") or "MBOLO",
                "text": body,
                "date": "",
                "id": gateway_id,
                "linkId": "",
                "networkCode": "SIM",
            },
        )
        # The text itself stays in the inbound row, which purge anonymises; the audit trail is kept
        # for good, so it records the message by its id and length only.
        _audit("simulator.sms", member, {"gateway_id": gateway_id, "length": len(body), "status": status})
        log.info("simulator.sms", extra={"phone": mask(member.phone), "status": status})
    return redirect(url_for("simulator.phone", member=member.id) + "#sms")
