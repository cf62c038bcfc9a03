"""POST /sms/inbound and POST /sms/delivery (Africa's Talking form format), POST /sms/delivery/orange
(Orange's JSON deliveryInfoNotification).

See docs/design.md, "Endpoints" and "Sending".

Inbound: the row is committed first (unique gateway id: a redelivery answers 200 and does nothing
twice; 503 when it cannot be stored, so the gateway retries; 400 when malformed), then handled in
a second transaction; a failure there still answers 200 and marks the row failed for the sweep.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, abort, request
from sqlalchemy.exc import SQLAlchemyError

from models.enums import Source
from models.phones import mask
from sms import delivery, inbound
from ussd_app.origin import source_of
from ussd_app.web_request import MAX_BODY

log = logging.getLogger("mbolo.sms")

bp = Blueprint("sms_webhooks", __name__)


def _plain(body: str, status: int = 200):
    return body, status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.before_request
def _guard():
    """Token (constant-time, current or previous value) and body size, before reading the form."""
    from ussd_app.current import runtime

    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413)
    tokens = runtime().config.webhook_tokens
    if tokens:
        given = request.args.get("token", "").encode()
        if not any(hmac.compare_digest(given, t.encode()) for t in tokens):
            abort(403)


@bp.post("/sms/inbound")
def sms_inbound():
    """Store, then handle, one incoming SMS."""
    from ussd_app.current import db_session, runtime

    rt = runtime()
    try:
        form = inbound.InboundForm.parse(request.form, rt.config.DEFAULT_REGION)
    except inbound.MalformedInbound as exc:
        log.info("inbound malformed", extra={"reason": str(exc)})
        return _plain("malformed", 400)
    now = rt.clock.now()
    try:
        row, created = inbound.store(db_session(), form, now, source_of(request.environ, Source.SMS))
    except SQLAlchemyError as exc:
        log.error("inbound not stored", extra={"from": mask(form.from_phone), "error": type(exc).__name__})
        return _plain("unavailable", 503)
    if not created:
        log.info("inbound redelivered", extra={"inbound_id": row.id, "status": row.status})
        return _plain("ok")
    inbound.handle(rt, row.id, now)
    return _plain("ok")


@bp.post("/sms/delivery")
def sms_delivery():
    """Apply one delivery report."""
    from ussd_app.current import db_session, runtime

    try:
        report = delivery.DeliveryReport.parse(request.form)
    except ValueError:
        return _plain("malformed", 400)
    session = db_session()
    try:
        delivery.record_report(session, report, runtime().clock.now())
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.error("delivery report not stored", extra={"error": type(exc).__name__})
        return _plain("unavailable", 503)
    return _plain("ok")


@bp.post("/sms/delivery/orange")
def sms_delivery_orange():
    """Apply one Orange delivery receipt (JSON), matched to the oldest `sent` SMS to its number."""
    from ussd_app.current import db_session, runtime

    try:
        report = delivery.OrangeReport.parse(request.get_json(silent=True) or {})
    except ValueError:
        return _plain("malformed", 400)
    session = db_session()
    try:
        delivery.record_orange_report(session, report, runtime().clock.now())
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.error("delivery report not stored", extra={"error": type(exc).__name__})
        return _plain("unavailable", 503)
    return _plain("ok")


def init_app(app: Flask) -> None:
    """Register the SMS webhooks (the runtime itself sends new outbox rows after every commit)."""
    app.register_blueprint(bp)
