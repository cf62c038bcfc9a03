"""Whether reminders work: per rule and month, the share of reminded instalments paid within 7 days.

Generic over the rule name stored in ReminderSent (M-3, M0, W+1, arrears, promise, whatever the
planner adds). A reminder counts when its SMS left for the gateway (a cancelled one reminded no
one); its instalment counts as paid when `fully_paid_on` is at most 7 days after the reminder's
day. Reminders younger than 7 days whose instalment is still unpaid are "open": left out of the
share until their week is over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from models.arrears import rule_group
from models.enums import SmsStatus
from models.ledger_tables import Instalment
from models.messaging import OutboundSms, ReminderSent
from models.portfolio.months import Month, id_list, months_ending, ratio, within

WINDOW_DAYS = 7
# Statuses of a reminder that left for the gateway ("unknown" may have gone: counted).
LEFT = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)


@dataclass
class ReminderEffect:
    """One rule's reminders of one month."""

    rule: str
    month: Month
    reminded: int = 0
    paid_within: int = 0
    open: int = 0

    @property
    def share(self) -> float | None:
        """Paid within 7 days ÷ reminded instalments whose week is over (or already paid)."""
        return ratio(self.paid_within, self.reminded - self.open)


def _days_after(session: Session, later, earlier):
    """later − earlier in days, in the dialect's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier


def reminder_effect(
    session: Session,
    last: Month,
    today: date,
    count: int = 6,
    cooperative_ids: Iterable[int] | None = None,
) -> list[ReminderEffect]:
    """Per rule and month (`count` months ending with `last`): reminded, paid within 7 days, open.

    Reminders sent for these cooperatives (None: all), by their SMS's cooperative.
    """
    months = months_ending(last, count)
    gap = _days_after(session, Instalment.fully_paid_on, ReminderSent.day)
    paid = and_(Instalment.fully_paid_on.is_not(None), gap <= literal(WINDOW_DAYS))
    still_open = and_(Instalment.fully_paid_on.is_(None), ReminderSent.day > today - timedelta(WINDOW_DAYS))
    stmt = within(
        select(
            ReminderSent.rule,
            ReminderSent.day,
            func.count(),
            func.sum(case((paid, 1), else_=0)),
            func.sum(case((still_open, 1), else_=0)),
        )
        .join(Instalment, Instalment.id == ReminderSent.instalment_id)
        .join(OutboundSms, OutboundSms.id == ReminderSent.outbound_sms_id)
        .where(ReminderSent.day.between(months[0].first, months[-1].last), OutboundSms.status.in_(LEFT))
        .group_by(ReminderSent.rule, ReminderSent.day),
        OutboundSms.cooperative_id,
        id_list(cooperative_ids),
    )
    cells: dict[tuple[str, Month], ReminderEffect] = {}
    for rule, day, reminded, paid_count, open_count in session.execute(stmt):
        month = Month.of(day if isinstance(day, date) else date.fromisoformat(str(day)[:10]))
        group = rule_group(rule)  # every arrears day is one line, every promise another
        cell = cells.setdefault((group, month), ReminderEffect(group, month))
        cell.reminded += int(reminded)
        cell.paid_within += int(paid_count or 0)
        cell.open += int(open_count or 0)
    return sorted(cells.values(), key=lambda c: (c.rule, c.month))


@dataclass(frozen=True)
class EffectTable:
    """Rules as rows, months as columns, for a page."""

    months: list[Month]
    rows: list[tuple[str, list[ReminderEffect]]]


def effect_table(effects: list[ReminderEffect], last: Month, count: int = 6) -> EffectTable:
    """Lay the effects out by rule (sorted) and month (oldest first), empty cells filled."""
    months = months_ending(last, count)
    by_cell = {(e.rule, e.month): e for e in effects}
    rules = sorted({e.rule for e in effects}, key=_rule_order)
    return EffectTable(
        months=months,
        rows=[(rule, [by_cell.get((rule, m)) or ReminderEffect(rule, m) for m in months]) for rule in rules],
    )


def _rule_order(rule: str) -> tuple:
    """Due-date rules (M-3, M0, W+1 …) by frequency then offset; named ones (arrears, promise) after."""
    if rule[:1].isalpha() and rule[1:].lstrip("+-").isdigit():
        return (0, rule[0], int(rule[1:]))
    return (1, rule, 0)
