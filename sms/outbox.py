"""The outbox: every SMS is a row written in the caller's transaction and sent after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from i18n.gsm7 import fold, segments
from models.enums import SmsKind, SmsStatus
from models.messaging import OutboundSms

DEFAULT_COST_PER_SEGMENT = 15


def queue_sms(
    session: Session,
    *,
    to: str,
    text: str,
    kind: SmsKind | str,
    language: str,
    now: datetime,
    cooperative_id: int | None = None,
    member_id: int | None = None,
    send_after: datetime | None = None,
    cost_per_segment: int = DEFAULT_COST_PER_SEGMENT,
) -> OutboundSms:
    """Add one SMS to the outbox (GSM-7 folded, segments counted); the caller commits."""
    body = fold(text)
    parts = segments(body)
    when = send_after or now
    row = OutboundSms(
        to=to,
        text=body,
        kind=str(kind),
        language=language,
        status=SmsStatus.QUEUED,
        cooperative_id=cooperative_id,
        member_id=member_id,
        attempts=0,
        send_after=when,
        next_attempt_at=when,
        segments=parts,
        cost=parts * cost_per_segment,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row
