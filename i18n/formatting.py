"""Amounts and dates as members read them: `12 500 F`, `10/12/2026` (ASCII only, GSM-7 safe)."""

from __future__ import annotations

from datetime import date


def format_money(amount: int) -> str:
    """An integer XOF amount with ASCII-space thousands: 12500 → '12 500 F'."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", " ") + " F"


def format_date(day: date) -> str:
    """A date as DD/MM/YYYY."""
    return day.strftime("%d/%m/%Y")


def format_short_date(day: date) -> str:
    """A date as DD/MM (SMS, where the year is obvious)."""
    # Not strftime: a day's reminder run formats tens of thousands of dates.
    return f"{day.day:02d}/{day.month:02d}"
