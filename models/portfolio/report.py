"""`report portfolio`: one scope's figures as of a day, under the keys the command's JSON promises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from models.portfolio.collection import Collection, collection_of
from models.portfolio.months import Month, id_list
from models.portfolio.standing import Portfolio, empty_portfolio, portfolio, portfolios_as_of


@dataclass(frozen=True)
class PortfolioReport:
    """The portfolio as of `day` (replayed when it is not today) and its month's collection to date."""

    day: date
    cooperative: str | None
    figures: Portfolio
    collection: Collection

    def as_json(self) -> dict:
        """Integers in XOF, rates as fractions 0–1 (None when there is nothing to divide)."""
        p, c = self.figures, self.collection
        return {
            "date": self.day.isoformat(),
            "cooperative": self.cooperative,
            "month_due_to_date": c.due,
            "month_collected": c.collected,
            "collection_rate": c.rate,
            "on_time_rate": c.on_time_rate,
            "cash_in": c.cash_in,
            "outstanding": p.outstanding,
            "overdue": p.overdue,
            "par1": p.par1,
            "par30": p.par30,
            "par90": p.par90,
            "written_off": p.written_off_outstanding,
            "recoveries": p.recoveries,
            "members_in_arrears": p.members_in_arrears,
            "loans_in_arrears": p.loans_in_arrears,
        }


def portfolio_report(
    session: Session,
    day: date,
    today: date,
    cooperative_ids: Iterable[int] | None = None,
    name: str | None = None,
) -> PortfolioReport:
    """Figures as of `day` (≤ today): today's from the ledger, an earlier day's replayed.

    Of these cooperatives together (None: the whole programme).
    """
    if day > today:
        raise ValueError(f"{day.isoformat()} is after today ({today.isoformat()})")
    ids = id_list(cooperative_ids)
    if day == today:
        figures = portfolio(session, day, ids)
    else:
        figures = empty_portfolio(day)
        for one in portfolios_as_of(session, day, ids).values():
            figures.absorb(one)
    return PortfolioReport(day, name, figures, collection_of(session, Month.of(day), day, ids))
