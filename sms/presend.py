"""The last look before a row leaves the outbox (docs/design.md, "Sending"): cancel, hold, or send.

Checked in the claim transaction, right before sending, for reminders, broadcasts and the
officers' digests (receipts, replies and notices always go; a digest is held only by quiet hours
and its day, and counts in the budget without ever being cancelled for it):
- a reminder whose covered instalments (ReminderSent.outbound_sms_id = row) are all paid → cancelled (paid);
- the member opted out → cancelled (opted_out);
- quiet hours (QUIET_HOURS, Africa/Dakar): before the sending window opens → held until it opens;
  still unsent when it closes → cancelled (expired), never carried over. A reminder's window is the
  day of its send_after (it was planned for that day); a broadcast's is the first window at or
  after its send_after (an announcement written at 21:00 goes at 08:00);
- the cooperative's spend today (SMS_DAILY_BUDGET, XOF, 0 = none) would be exceeded → cancelled (budget).
  Spend counts every row of the cooperative claimed today (receipts too) that went or may have gone out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from config import Config
from models.cooperative import Member
from models.enums import CancelReason, SmsKind, SmsStatus
from models.ledger_tables import Instalment
from models.messaging import OutboundSms, ReminderSent
from sms.replies import local_midnight
from sms.sending_hours import SendingHours

SEND = "send"
HOLD = "hold"
CANCEL = "cancel"

# Rows that count against the day's budget: they went out, or may have.
SPENT = (SmsStatus.SENDING, SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)


@dataclass(frozen=True)
class Verdict:
    """What to do with one row now."""

    action: str
    reason: CancelReason | None = None
    until: datetime | None = None


GO = Verdict(SEND)


def is_bulk(kind: str) -> bool:
    """Reminders and broadcasts: the kinds that opt-out and the budget hold."""
    return SmsKind(kind).is_bulk


def is_held(kind: str) -> bool:
    """The kinds that quiet hours hold: reminders, broadcasts and digests."""
    return SmsKind(kind).waits_for_daytime


def resent_when_lost(kind: str) -> bool:
    """The kinds sent again after a lost lease or an uncertain answer (never receipts)."""
    return SmsKind(kind).resent_when_lost


def sending_window(kind: str, send_after: datetime, config: Config) -> tuple[datetime, datetime]:
    """(opens, closes) of the window in which a reminder or broadcast may go, as aware datetimes."""
    hours = SendingHours.from_config(config)
    return hours.window(send_after, for_one_day=SmsKind(kind).belongs_to_its_day)


def _paid_reminders(session: Session, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = session.execute(
        select(
            ReminderSent.outbound_sms_id,
            func.count(Instalment.id),
            func.sum(case((Instalment.amount_paid >= Instalment.amount_due, 1), else_=0)),
        )
        .join(Instalment, Instalment.id == ReminderSent.instalment_id)
        .where(ReminderSent.outbound_sms_id.in_(ids))
        .group_by(ReminderSent.outbound_sms_id)
    ).all()
    return {sms_id for sms_id, covered, paid in rows if covered and covered == paid}


def _opted_out(session: Session, rows: list) -> set[int]:
    member_ids = {r.member_id for r in rows if r.member_id}
    phones = {r.to for r in rows if not r.member_id}
    if not member_ids and not phones:
        return set()
    found = session.execute(
        select(Member.id, Member.phone).where(
            Member.opted_out.is_(True), or_(Member.id.in_(member_ids), Member.phone.in_(phones))
        )
    ).all()
    out_ids = {member_id for member_id, _ in found}
    out_phones = {phone for _, phone in found}
    return {r.id for r in rows if (r.member_id in out_ids if r.member_id else r.to in out_phones)}


def spent_today(session: Session, cooperative_ids: set[int], now: datetime, config: Config) -> dict[int, int]:
    """XOF already spent today (Africa/Dakar) per cooperative."""
    if not cooperative_ids:
        return {}
    rows = session.execute(
        select(OutboundSms.cooperative_id, func.coalesce(func.sum(OutboundSms.cost), 0))
        .where(
            OutboundSms.cooperative_id.in_(cooperative_ids),
            OutboundSms.claimed_at >= local_midnight(now, config),
            OutboundSms.status.in_(SPENT),
        )
        .group_by(OutboundSms.cooperative_id)
    ).all()
    spent = dict.fromkeys(cooperative_ids, 0)
    spent.update({coop: int(total) for coop, total in rows})
    return spent


def review(session: Session, rows: list, *, now: datetime, config: Config) -> dict[int, Verdict]:
    """A verdict for each row (by id), in the rows' order; rows not bulk always get SEND.

    `rows` are OutboundSms objects or rows with the same attributes (id, to, kind, member_id,
    cooperative_id, send_after, cost).
    """
    held = [r for r in rows if is_held(r.kind)]
    verdicts: dict[int, Verdict] = {r.id: GO for r in rows}
    if not held:
        return verdicts
    paid = _paid_reminders(session, [r.id for r in held if r.kind == SmsKind.REMINDER])
    opted_out = _opted_out(session, [r for r in held if is_bulk(r.kind)])
    for row in held:
        if row.id in paid:
            verdicts[row.id] = Verdict(CANCEL, CancelReason.PAID)
        elif row.id in opted_out:
            verdicts[row.id] = Verdict(CANCEL, CancelReason.OPTED_OUT)
        else:
            opens, closes = sending_window(row.kind, row.send_after, config)
            if now >= closes:
                verdicts[row.id] = Verdict(CANCEL, CancelReason.EXPIRED)
            elif now < opens:
                verdicts[row.id] = Verdict(HOLD, until=opens)
    budget = config.SMS_DAILY_BUDGET
    if budget:
        coops = {r.cooperative_id for r in rows if r.cooperative_id}
        spent = defaultdict(int, spent_today(session, coops, now, config))
        for row in rows:
            if not row.cooperative_id or verdicts[row.id].action != SEND:
                continue
            if is_bulk(row.kind) and spent[row.cooperative_id] + row.cost > budget:
                verdicts[row.id] = Verdict(CANCEL, CancelReason.BUDGET)
                continue
            spent[row.cooperative_id] += row.cost
    return verdicts
