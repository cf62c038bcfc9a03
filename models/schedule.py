"""Loan schedules: equal instalments rounded down, the remainder last; dates from the first due date."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from models.enums import Frequency


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` plus `months`, the day clamped to the month's end (Jan 31 → Feb 28 → Mar 31)."""
    anchor = anchor_day or day.day
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def first_due_date(disbursed_on: date, frequency: str, first_due_on: date | None = None) -> date:
    """The first due date: as given, else one period after disbursement."""
    if first_due_on is not None:
        return first_due_on
    if frequency == Frequency.WEEKLY:
        return disbursed_on + timedelta(weeks=1)
    return add_months(disbursed_on, 1)


def due_dates(first_due: date, count: int, frequency: str) -> list[date]:
    """Due dates counted from the first one (never from the previous, so no drift after Feb)."""
    if frequency == Frequency.WEEKLY:
        return [first_due + timedelta(weeks=k) for k in range(count)]
    return [add_months(first_due, k) for k in range(count)]


def instalment_amounts(total: int, count: int, rounding: int = 5) -> list[int]:
    """total ÷ count rounded down to `rounding` XOF, the remainder on the last instalment."""
    if count < 1:
        raise ValueError("a loan has at least one instalment")
    if total < 0:
        raise ValueError("negative total")
    base = (total // count) // rounding * rounding
    return [base] * (count - 1) + [total - base * (count - 1)]


def replay_instalments(instalments: list, payments: list[tuple[int, date]]) -> list[tuple]:
    """Fill (amount_due, key) instalments in order with (amount, paid_on) payments in order.

    Returns (key, amount_paid, fully_paid_on) per instalment: the date is the one of the payment
    that completed it, None while something is unpaid.
    """
    result = []
    queue = list(payments)
    k, left = 0, queue[0][0] if queue else 0
    for amount_due, key in instalments:
        paid, completed_on = 0, None
        while paid < amount_due and k < len(queue):
            take = min(left, amount_due - paid)
            paid += take
            left -= take
            if paid == amount_due:
                completed_on = queue[k][1]
            if left == 0:
                k += 1
                left = queue[k][0] if k < len(queue) else 0
        result.append((key, paid, completed_on))
    return result
