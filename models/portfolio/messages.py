"""Reminder SMS of a month by outcome, and the SMS billed against the budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.clock import DAKAR
from models.cooperative import Cooperative
from models.enums import SmsKind, SmsStatus
from models.messaging import OutboundSms
from models.portfolio.months import Month, id_list, ratio, within

# Statuses whose SMS left for the gateway and are billed ("unknown" may have gone: counted, to be safe).
BILLED = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)


@dataclass
class ReminderCounts:
    """Reminder SMS meant for a month (by their sending day), by outcome."""

    planned: int = 0
    pending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0
    cancelled_by_reason: dict[str, int] = field(default_factory=dict)


def reminder_counts(
    session: Session, month: Month, cooperative_ids: Iterable[int] | None = None, tz: ZoneInfo = DAKAR
) -> ReminderCounts:
    """Reminders of the month: sent counts every one the gateway accepted (delivered ones included)."""
    start, end = month.utc_bounds(tz)
    stmt = within(
        select(OutboundSms.status, OutboundSms.failure_reason, func.count())
        .where(
            OutboundSms.kind == SmsKind.REMINDER,
            OutboundSms.send_after >= start,
            OutboundSms.send_after < end,
        )
        .group_by(OutboundSms.status, OutboundSms.failure_reason),
        OutboundSms.cooperative_id,
        id_list(cooperative_ids),
    )
    counts = ReminderCounts()
    for status, reason, count in session.execute(stmt):
        count = int(count)
        counts.planned += count
        if status in (SmsStatus.QUEUED, SmsStatus.SENDING):
            counts.pending += count
        elif status in (SmsStatus.SENT, SmsStatus.DELIVERED):
            counts.sent += count
            counts.delivered += count if status == SmsStatus.DELIVERED else 0
        elif status == SmsStatus.FAILED:
            counts.failed += count
        elif status == SmsStatus.CANCELLED:
            counts.cancelled += count
            key = reason or "-"
            counts.cancelled_by_reason[key] = counts.cancelled_by_reason.get(key, 0) + count
        else:
            counts.unknown += count
    return counts


@dataclass
class SmsCost:
    """SMS billed in a month against the budget (SMS_DAILY_BUDGET per cooperative per day)."""

    month: Month
    messages: int = 0
    segments: int = 0
    cost: int = 0
    budget: int = 0
    today_cost: int = 0
    daily_budget: int = 0
    held_for_budget: int = 0

    @property
    def used(self) -> float | None:
        """Share of the month's budget spent; None when there is no budget."""
        return ratio(self.cost, self.budget)


def sms_cost(
    session: Session,
    month: Month,
    today: date,
    daily_budget: int,
    cooperative_ids: Iterable[int] | None = None,
    tz: ZoneInfo = DAKAR,
) -> SmsCost:
    """Messages, segments and estimated cost billed in the month (by creation day), with the budget.

    Of these cooperatives (None: all); the budget is SMS_DAILY_BUDGET for each of them.
    """
    ids = id_list(cooperative_ids)
    start, end = month.utc_bounds(tz)
    scope = [OutboundSms.status.in_(BILLED)]
    if ids is not None:
        scope.append(OutboundSms.cooperative_id.in_(ids))
        coops = len(set(ids))
    else:
        coops = int(session.scalar(select(func.count()).select_from(Cooperative)) or 0)
    count, parts, cost = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(OutboundSms.segments), 0),
            func.coalesce(func.sum(OutboundSms.cost), 0),
        ).where(*scope, OutboundSms.created_at >= start, OutboundSms.created_at < end)
    ).one()
    day_start = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
    today_cost = session.scalar(
        select(func.coalesce(func.sum(OutboundSms.cost), 0)).where(
            *scope,
            OutboundSms.created_at >= day_start,
            OutboundSms.created_at < day_start + timedelta(days=1),
        )
    )
    held = within(
        select(func.count()).where(
            OutboundSms.status == SmsStatus.CANCELLED,
            OutboundSms.failure_reason == "budget",
            OutboundSms.created_at >= start,
            OutboundSms.created_at < end,
        ),
        OutboundSms.cooperative_id,
        ids,
    )
    return SmsCost(
        month=month,
        messages=int(count),
        segments=int(parts),
        cost=int(cost),
        budget=daily_budget * month.days * coops,
        today_cost=int(today_cost),
        daily_budget=daily_budget * coops,
        held_for_budget=int(session.scalar(held) or 0),
    )
