"""Incoming SMS: stored first (unique on the gateway id), then handled in a second transaction.

Handling: every message goes to `sms.commands.handle(session, inbound, sender, now, runtime)`
(the commands of sms/commands/registry.py, STOP and START included). The handler only
stages changes in `session`; this module commits them together with the row's `handled` status,
so a retried message never posts twice. If handling raises, the transaction is rolled back and the
row is marked `failed` with the error; `retry_unhandled` (run by the tick) tries it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.cooperative import Member
from models.enums import InboundStatus, Source
from models.messaging import InboundSms
from models.phones import mask, try_normalise
from sms.commands import handle as handle_command

log = logging.getLogger("mbolo.sms")

MAX_ATTEMPTS = 5
# A row still `received` this long after arriving was being handled by a process that died.
STUCK_AFTER = timedelta(minutes=5)


class MalformedInbound(ValueError):
    """The gateway's form lacks what an incoming SMS needs (id, from)."""


@dataclass(frozen=True)
class InboundForm:
    """The fields of an incoming SMS as the gateway posts them (docs/design.md, "Endpoints")."""

    gateway_id: str
    from_phone: str
    to: str | None
    text: str
    link_id: str | None
    network_code: str | None

    @classmethod
    def parse(cls, form, region: str = "SN") -> InboundForm:
        """Read the form; raise MalformedInbound when `id` or `from` is missing or unusable."""
        gateway_id = (form.get("id") or "").strip()
        raw_from = (form.get("from") or "").strip()
        if not gateway_id or len(gateway_id) > 100:
            raise MalformedInbound("missing or oversized id")
        if not raw_from:
            raise MalformedInbound("missing from")
        phone = try_normalise(raw_from, region)
        if phone is None:
            # Short codes and odd senders are kept as written, if they fit the column.
            if len(raw_from) > 20:
                raise MalformedInbound("unusable from")
            phone = raw_from
        return cls(
            gateway_id=gateway_id,
            from_phone=phone,
            to=(form.get("to") or "").strip()[:20] or None,
            text=form.get("text") or "",
            link_id=(form.get("linkId") or "").strip()[:100] or None,
            network_code=(form.get("networkCode") or "").strip()[:10] or None,
        )


def store(
    session: Session, form: InboundForm, now: datetime, source: str = Source.SMS
) -> tuple[InboundSms, bool]:
    """Insert and commit the row; (row, True) when new, (existing row, False) on a redelivery.

    `source` is `simulator` for the phone simulator's posts (the webhook decides it); it stays with
    the row, so the handlers and any retry record it on what the message writes.
    """
    row = InboundSms(
        gateway_id=form.gateway_id,
        from_phone=form.from_phone,
        to=form.to,
        text=form.text,
        link_id=form.link_id,
        network_code=form.network_code,
        source=source,
        received_at=now,
        status=InboundStatus.RECEIVED,
        attempts=0,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(select(InboundSms).where(InboundSms.gateway_id == form.gateway_id))
        if existing is None:  # the unique violation came from something else: let the boundary answer
            raise
        return existing, False
    return row, True


def find_sender(session: Session, phone: str) -> Member | None:
    """The member who holds this phone (one member per phone in this version)."""
    return session.scalar(select(Member).where(Member.phone == phone))


def dispatch(session: Session, runtime, inbound: InboundSms, now: datetime) -> str:
    """Stage what the message asks for (sms.commands logs what it came to); returns "command"."""
    handle_command(session, inbound, find_sender(session, inbound.from_phone), now, runtime)
    return "command"


def handle(runtime, inbound_id: int, now: datetime) -> str:
    """Handle one stored message in its own transaction; marks it handled, or failed with the error."""
    with runtime.sessions() as session:
        inbound = session.get(InboundSms, inbound_id)
        if inbound is None or inbound.status == InboundStatus.HANDLED:
            return "done"
        try:
            outcome = dispatch(session, runtime, inbound, now)
            inbound.status = InboundStatus.HANDLED
            inbound.handled_at = now
            inbound.error = None
            inbound.attempts = (inbound.attempts or 0) + 1
            session.commit()
        except Exception as exc:  # boundary: any handler failure marks the row failed
            session.rollback()
            _mark_failed(runtime, inbound_id, exc)
            log.exception("inbound failed", extra={"inbound_id": inbound_id})
            return "failed"
    log.info(
        "inbound handled",
        extra={"inbound_id": inbound_id, "from": mask(inbound.from_phone), "as": outcome},
    )
    return outcome


def _mark_failed(runtime, inbound_id: int, exc: Exception) -> None:
    with runtime.sessions() as session:
        session.execute(
            update(InboundSms)
            .where(InboundSms.id == inbound_id, InboundSms.status != InboundStatus.HANDLED)
            .values(
                status=InboundStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:300],
                attempts=InboundSms.attempts + 1,
            )
        )
        session.commit()


def retry_unhandled(runtime, now: datetime) -> int:
    """Tick task: handle again failed rows (up to MAX_ATTEMPTS) and rows stuck in `received`."""
    with runtime.sessions() as session:
        ids = session.scalars(
            select(InboundSms.id)
            .where(
                InboundSms.attempts < MAX_ATTEMPTS,
                or_(
                    InboundSms.status == InboundStatus.FAILED,
                    (InboundSms.status == InboundStatus.RECEIVED)
                    & (InboundSms.received_at < now - STUCK_AFTER),
                ),
            )
            .order_by(InboundSms.id)
            .limit(500)
        ).all()
    return sum(1 for inbound_id in ids if handle(runtime, inbound_id, now) not in ("failed", "done"))
