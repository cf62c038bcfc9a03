"""Replies to people who text the service, within the limits in docs/design.md, "Sending" (incoming SMS).

At most 5 replies per sender per hour, and at most one a day (Africa/Dakar calendar day) to a
number that is not a member. A reply over the limit is not queued: `queue_reply` returns None and
logs it. Receipts and notices are not replies: they are queued without a limit (kind="receipt").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Config
from models.cooperative import Member
from models.enums import SmsKind
from models.messaging import OutboundSms
from models.phones import mask
from sms.outbox import queue_sms

log = logging.getLogger("mbolo.sms")

REPLIES_PER_HOUR = 5
REPLIES_PER_DAY_TO_STRANGERS = 1


def local_midnight(now: datetime, config: Config) -> datetime:
    """The start of `now`'s calendar day in the service's time zone, as an aware datetime."""
    local = now.astimezone(config.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _replies_since(session: Session, to: str, since: datetime) -> int:
    return session.scalar(
        select(func.count(OutboundSms.id)).where(
            OutboundSms.to == to, OutboundSms.kind == SmsKind.REPLY, OutboundSms.created_at >= since
        )
    )


def reply_limit_reached(
    session: Session, *, to: str, now: datetime, config: Config, member: Member | None
) -> str | None:
    """Why a reply to `to` may not go now ("hourly" or "stranger_daily"), or None when it may."""
    if _replies_since(session, to, now - timedelta(hours=1)) >= REPLIES_PER_HOUR:
        return "hourly"
    if (
        member is None
        and _replies_since(session, to, local_midnight(now, config)) >= REPLIES_PER_DAY_TO_STRANGERS
    ):
        return "stranger_daily"
    return None


def queue_reply(
    session: Session,
    *,
    to: str,
    text: str,
    language: str,
    now: datetime,
    config: Config,
    member: Member | None = None,
    kind: SmsKind | str = SmsKind.REPLY,
) -> OutboundSms | None:
    """Queue a reply unless the sender's reply limit is reached (then None, logged); the caller commits.

    Only kind="reply" is limited; pass kind="receipt" or "notice" for messages that must go.
    """
    if str(kind) == SmsKind.REPLY:
        reason = reply_limit_reached(session, to=to, now=now, config=config, member=member)
        if reason:
            log.info(
                "reply limited", extra={"to": mask(to), "limit": reason, "member_id": member and member.id}
            )
            return None
    return queue_sms(
        session,
        to=to,
        text=text,
        kind=kind,
        language=language,
        now=now,
        cooperative_id=member.cooperative_id if member else None,
        member_id=member.id if member else None,
        cost_per_segment=config.SMS_COST_PER_SEGMENT,
    )
