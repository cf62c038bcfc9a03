"""Resending SMS that did not go out (gateway outage, credit exhausted, a worker lost mid-send).

An outbox row's status only moves forward, so a resend is a new `queued` row with the same
recipient, text, kind and language; the old row keeps its status and gains `resent as #<id>` at
the end of its failure reason, which also keeps it from being resent twice. One audit event per
resend lists the pairs. Rows whose text was purged, reminders (they belong to their day, no
catch-up: docs/design.md, "Reminders and announcements") and `unknown` rows younger than an hour
(a late delivery report may still say they arrived) are never resent.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import audit
from models.enums import SmsKind, SmsStatus, Source
from models.messaging import OutboundSms
from sms.outbox import queue_sms
from sms.telemetry import failure_reason_label

RESENDABLE_STATUSES = (SmsStatus.FAILED, SmsStatus.UNKNOWN)
RESENDABLE_KINDS = (SmsKind.RECEIPT, SmsKind.REPLY, SmsKind.NOTICE, SmsKind.BROADCAST)
DEFAULT_KINDS = (SmsKind.RECEIPT, SmsKind.REPLY, SmsKind.NOTICE)
# A delivery report kept early lives an hour (sms.delivery.EARLY_REPORT_TTL): wait at least that.
UNKNOWN_SETTLES_AFTER = timedelta(hours=1)
MARK = "resent as #"


class ResendError(ValueError):
    """The request names rows or kinds that cannot be resent."""


def candidates(
    session: Session,
    *,
    status: str,
    since: datetime,
    now: datetime,
    kinds: tuple[str, ...] = tuple(str(k) for k in DEFAULT_KINDS),
    reason: str | None = None,
    ids: tuple[int, ...] = (),
    limit: int = 10_000,
) -> list[OutboundSms]:
    """Rows that may be resent: `status` (failed or unknown), created since `since`, not resent yet.

    `reason` is a folded failure label (`InsufficientCredit`, `http_5xx`, `timeout`, … as in
    /metrics); rows whose reason folds to another label are left out.
    """
    if status not in {str(s) for s in RESENDABLE_STATUSES}:
        raise ResendError(f"only {', '.join(RESENDABLE_STATUSES)} SMS can be resent, not {status!r}")
    bad = set(kinds) - {str(k) for k in RESENDABLE_KINDS}
    if bad:
        raise ResendError(f"{', '.join(sorted(bad))} cannot be resent (reminders belong to their day)")
    stmt = (
        select(OutboundSms)
        .where(
            OutboundSms.status == status,
            OutboundSms.created_at >= since,
            OutboundSms.kind.in_(kinds),
            OutboundSms.purged_at.is_(None),
            or_(OutboundSms.failure_reason.is_(None), ~OutboundSms.failure_reason.contains(MARK)),
        )
        .order_by(OutboundSms.id)
        .limit(limit)
    )
    if status == SmsStatus.UNKNOWN:
        stmt = stmt.where(OutboundSms.updated_at <= now - UNKNOWN_SETTLES_AFTER)
    if ids:
        stmt = stmt.where(OutboundSms.id.in_(ids))
    rows = list(session.scalars(stmt))
    if reason:
        rows = [r for r in rows if failure_reason_label(r.failure_reason) == reason]
    return rows


def resend(
    session: Session,
    rows: list[OutboundSms],
    *,
    now: datetime,
    actor: str,
    cost_per_segment: int,
    source: str = Source.CLI,
) -> dict[int, int]:
    """Queue a copy of each row, mark the original, write one audit event; returns old id → new id."""
    pairs: dict[int, int] = {}
    for row in rows:
        copy = queue_sms(
            session,
            to=row.to,
            text=row.text,
            kind=row.kind,
            language=row.language,
            now=now,
            cooperative_id=row.cooperative_id,
            member_id=row.member_id,
            cost_per_segment=cost_per_segment,
        )
        session.flush()
        suffix = f"; {MARK}{copy.id}"
        row.failure_reason = (row.failure_reason or row.status)[: 200 - len(suffix)] + suffix
        row.updated_at = now
        pairs[row.id] = copy.id
    if pairs:
        audit.record(
            session,
            actor=actor,
            action="sms.resend",
            target=f"sms:{min(pairs)}-{max(pairs)}",
            source=source,
            at=now,
            after={
                "resent": {str(k): v for k, v in pairs.items()},
                "kinds": dict(Counter(r.kind for r in rows)),
            },
        )
    return pairs
