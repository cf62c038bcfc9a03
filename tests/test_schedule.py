"""Loan schedules: equal instalments rounded down to 5 F, the remainder last; dates from the first due."""

from datetime import date

import pytest

from models.enums import Frequency
from models.schedule import add_months, due_dates, first_due_date, instalment_amounts


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        (110_000, 10, [11_000] * 10),
        (100_000, 3, [33_330, 33_330, 33_340]),
        (10_003, 4, [2_500, 2_500, 2_500, 2_503]),
        (22_000, 8, [2_750] * 8),
        (7, 3, [0, 0, 7]),
        (50_000, 1, [50_000]),
    ],
)
def test_equal_split_rounded_down_to_5_with_the_remainder_last(total, count, expected):
    """Each instalment is total ÷ n rounded down to 5 F; the last one carries what is left."""
    amounts = instalment_amounts(total, count)
    assert amounts == expected
    assert sum(amounts) == total


def test_rounding_step_comes_from_the_setting():
    """INSTALMENT_ROUNDING = 100 rounds to the hundred."""
    assert instalment_amounts(100_000, 3, rounding=100) == [33_300, 33_300, 33_400]
    assert instalment_amounts(100_000, 3, rounding=1) == [33_333, 33_333, 33_334]


def test_a_loan_has_at_least_one_instalment():
    """Zero instalments is refused."""
    with pytest.raises(ValueError):
        instalment_amounts(1_000, 0)


def test_weekly_due_dates_are_seven_days_apart_from_the_first():
    """Weekly: first due, then +7 days each."""
    assert due_dates(date(2026, 12, 29), 3, Frequency.WEEKLY) == [
        date(2026, 12, 29),
        date(2027, 1, 5),
        date(2027, 1, 12),
    ]


def test_monthly_due_dates_clamp_to_the_month_end_without_drifting():
    """Jan 31 → Feb 28 → Mar 31: always counted from the first due date, never from the previous."""
    assert due_dates(date(2027, 1, 31), 4, Frequency.MONTHLY) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_monthly_due_dates_in_a_leap_year_and_across_the_year_end():
    """Feb 29 in a leap year; December rolls into January."""
    assert due_dates(date(2027, 11, 30), 4, Frequency.MONTHLY) == [
        date(2027, 11, 30),
        date(2027, 12, 30),
        date(2028, 1, 30),
        date(2028, 2, 29),
    ]


def test_first_due_date_defaults_to_one_period_after_disbursement():
    """first_due_on when given, else disbursed_on + one week or one month (clamped)."""
    assert first_due_date(date(2026, 12, 1), Frequency.WEEKLY) == date(2026, 12, 8)
    assert first_due_date(date(2027, 1, 31), Frequency.MONTHLY) == date(2027, 2, 28)
    assert first_due_date(date(2026, 12, 1), Frequency.MONTHLY, date(2026, 12, 15)) == date(2026, 12, 15)


def test_add_months_keeps_the_anchor_day():
    """add_months with an anchor day returns to the 31st after a short month."""
    assert add_months(date(2027, 2, 28), 1, anchor_day=31) == date(2027, 3, 31)
