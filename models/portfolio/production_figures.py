"""Production per product and unit for a month, against the month before and the year before."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from models import production
from models.portfolio.months import Month, id_list


@dataclass(frozen=True)
class ProductLine:
    """One product's quantity in a month against the month before and the same month a year before."""

    product: str
    unit: str
    quantity: int
    previous: int
    last_year: int


def production_lines(
    session: Session, month: Month, today: date, cooperative_ids: Iterable[int] | None = None
) -> tuple[production.Period | None, list[ProductLine]]:
    """Production per product and unit of these cooperatives (None: all), None before the month starts.

    The quantities are `models.production`'s (current reports, weeks by their Thursday). A month to
    date is compared with as many weeks at the start of the other months, as the production report
    does, so that an unfinished month does not look like a fall. Three grouped statements: the
    month, the month before (`production.comparison_period`) and the same weeks a year before.
    """
    try:
        period = production.month_period(month.year, month.month, today)
    except production.PeriodError:
        return None, []
    ids = id_list(cooperative_ids)
    year_weeks = production.weeks_of_month(month.year - 1, month.month)
    if period.to_date:
        year_weeks = year_weeks[: len(period.weeks)]
    now = production.product_totals(session, period.weeks, ids)
    before = production.product_totals(session, production.comparison_period(period).weeks, ids)
    last_year = production.product_totals(session, year_weeks, ids)
    lines = [
        ProductLine(key[0], key[1], now.get(key, 0), before.get(key, 0), last_year.get(key, 0))
        for key in set(now) | set(before) | set(last_year)
    ]
    return period, sorted(lines, key=lambda line: (line.product.lower(), line.unit, line.product))
