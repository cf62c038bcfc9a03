"""Replies to people who text the service, within the reply limits (see docs/design.md, "SMS commands").

Treasurers and presidents are always answered, up to a flood guard of 60 replies a rolling hour;
members get at most 5 replies a rolling hour; a number that is not a member gets one a day
(Africa/Dakar calendar day). When a reply is held back, the sender gets one pause notice (kind
`pause`, itself never limited) saying when replies resume, once per pause: a pause begins at the
first reply held back after the last one sent. Receipts and notices are not replies: they are
queued without a limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Config
from i18n.catalog import N_, translate
from models.cooperative import Member
from models.enums import SmsKind
from models.messaging import OutboundSms
from models.phones import mask
from sms.outbox import queue_sms

log = logging.getLogger("mbolo.sms")

OFFICER_REPLIES_PER_HOUR = 60
REPLIES_PER_HOUR = 5
REPLIES_PER_DAY_TO_STRANGERS = 1
HOUR = timedelta(hours=1)

PAUSED_OFFICER = N_(
    "Mbolo: 60 réponses en une heure, les réponses sont en pause jusqu'à {time}. "
    "Les reçus continuent d'arriver."
)
PAUSED_MEMBER = N_("Mbolo: 5 réponses en une heure. Prochaine réponse à partir de {time}.")
PAUSED_STRANGER = N_("Mbolo: une réponse par jour à ce numéro. Les réponses reprennent demain.")


@dataclass(frozen=True)
class Limit:
    """The reply limit that applies to one sender: its name, how many, since when."""

    name: str
    most: int
    since: datetime  # replies strictly after this count: one sent at 10:00 frees its slot at 11:00
    notice: str


def local_midnight(now: datetime, config: Config) -> datetime:
    """The start of `now`'s calendar day in the service's time zone, as an aware datetime."""
    local = now.astimezone(config.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def limit_for(member: Member | None, now: datetime, config: Config) -> Limit:
    """Officers: 60 a rolling hour; members: 5 a rolling hour; strangers: 1 a Dakar calendar day."""
    if member is None:
        return Limit(
            "stranger_daily",
            REPLIES_PER_DAY_TO_STRANGERS,
            local_midnight(now, config) - timedelta(microseconds=1),
            PAUSED_STRANGER,
        )
    if member.can_record_money:
        return Limit("officer_hourly", OFFICER_REPLIES_PER_HOUR, now - HOUR, PAUSED_OFFICER)
    return Limit("hourly", REPLIES_PER_HOUR, now - HOUR, PAUSED_MEMBER)


def _reply_times(session: Session, to: str, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(OutboundSms.created_at)
            .where(OutboundSms.to == to, OutboundSms.kind == SmsKind.REPLY, OutboundSms.created_at > since)
            .order_by(OutboundSms.created_at)
        )
    )


def reply_limit_reached(
    session: Session, *, to: str, now: datetime, config: Config, member: Member | None
) -> str | None:
    """Why a reply to `to` may not go now ("officer_hourly", "hourly", "stranger_daily"), or None."""
    limit = limit_for(member, now, config)
    if len(_reply_times(session, to, limit.since)) >= limit.most:
        return limit.name
    return None


def _pause_notice(
    session: Session, *, to: str, now: datetime, config: Config, member: Member | None, language: str
) -> OutboundSms | None:
    """The one notice of a pause: queued at the first reply held back since the last one sent."""
    limit = limit_for(member, now, config)
    times = _reply_times(session, to, limit.since)
    last_reply = times[-1] if times else limit.since
    already = session.scalar(
        select(func.count(OutboundSms.id)).where(
            OutboundSms.to == to, OutboundSms.kind == SmsKind.PAUSE, OutboundSms.created_at >= last_reply
        )
    )
    if already:
        return None
    # A rolling hour frees its first slot when the oldest reply in it is an hour old.
    resumes = times[len(times) - limit.most] + HOUR if len(times) >= limit.most else now
    local = resumes.astimezone(config.tz)
    return queue_sms(
        session,
        to=to,
        text=translate(language, limit.notice, time=f"{local:%H:%M}"),
        kind=SmsKind.PAUSE,
        language=language,
        now=now,
        cooperative_id=member.cooperative_id if member else None,
        member_id=member.id if member else None,
        cost_per_segment=config.SMS_COST_PER_SEGMENT,
    )


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
    """Queue a reply unless the sender's reply limit is reached (then None, and a pause notice once).

    Only kind="reply" is limited; pass kind="receipt" or "notice" for messages that must go.
    """
    if str(kind) == SmsKind.REPLY:
        reason = reply_limit_reached(session, to=to, now=now, config=config, member=member)
        if reason:
            log.info(
                "reply limited", extra={"to": mask(to), "limit": reason, "member_id": member and member.id}
            )
            _pause_notice(session, to=to, now=now, config=config, member=member, language=language)
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
