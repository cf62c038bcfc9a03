"""Production per product and unit for a month, against the month before and the year before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from models import production
from models.cooperative import Cooperative
from models.portfolio.months import Month


@dataclass(frozen=True)
class ProductLine:
    """One product's quantity in a month against the month before and the same month a year before."""

    product: str
    unit: str
    quantity: int
    previous: int
    last_year: int


def production_lines(
    session: Session, month: Month, today: date, cooperative_id: int | None = None
) -> tuple[production.Period | None, list[ProductLine]]:
    """Production per product and unit (models.production's figures), None before the month starts.

    A month to date is compared with as many weeks at the start of the other months, as the
    production report does, so that an unfinished month does not look like a fall.
    """
    try:
        period = production.month_period(month.year, month.month, today)
    except production.PeriodError:
        return None, []
    coop = session.get(Cooperative, cooperative_id) if cooperative_id is not None else None
    summary = production.summarise(session, period, cooperative=coop)
    year_weeks = production.weeks_of_month(month.year - 1, month.month)
    if period.to_date:
        year_weeks = year_weeks[: len(period.weeks)]
    year_ago = production.Period(month.year - 1, month.month, year_weeks, to_date=period.to_date)
    last_year = {
        (r.product, r.unit): r.quantity
        for r in production.summarise(session, year_ago, cooperative=coop).rows
    }
    lines = {
        (r.product, r.unit): ProductLine(
            r.product, r.unit, r.quantity, r.previous, last_year.get((r.product, r.unit), 0)
        )
        for r in summary.rows
    }
    for key, quantity in last_year.items():
        lines.setdefault(key, ProductLine(key[0], key[1], 0, 0, quantity))
    return period, sorted(lines.values(), key=lambda line: (line.product.lower(), line.unit))
