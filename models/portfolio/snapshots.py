"""Month-end snapshots: written by the tick, backfilled once by replay, read for the 12-month series.

A snapshot is the replay of the month's last day (`standing.portfolios_as_of`): the same figure
whether the tick wrote it that night or the backfill wrote it a year later. A repayment may be
dated up to 7 days back, so for the first days of the next month the tick rewrites the last
month's snapshot once a day; after that it stays as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models.history_tables import PortfolioSnapshot
from models.ledger_tables import Loan
from models.portfolio.months import Month, id_list, ratio, within
from models.portfolio.standing import Portfolio, portfolios_as_of

# Back-dated repayments (paid_on up to 7 days back) may still land in a closed month this long.
SETTLING_DAYS = 8


def snapshot_row(cooperative_id: int, figures: Portfolio, now: datetime) -> PortfolioSnapshot:
    """A snapshot row from a replayed portfolio."""
    ages = {b.key: b.outstanding for b in figures.buckets}
    return PortfolioSnapshot(
        cooperative_id=cooperative_id,
        as_of=figures.today,
        loans=figures.active_loans,
        loans_in_arrears=figures.loans_in_arrears,
        members_in_arrears=figures.members_in_arrears,
        outstanding=figures.outstanding,
        overdue=figures.overdue,
        par1=figures.par1_outstanding,
        par30=figures.par30_outstanding,
        par90=figures.par90_outstanding,
        age_on_time=ages["on_time"],
        age_1_30=ages["1_30"],
        age_31_60=ages["31_60"],
        age_61_90=ages["61_90"],
        age_over_90=ages["over_90"],
        written_off=figures.written_off_outstanding,
        recoveries=figures.recoveries,
        computed_at=now,
    )


def write_month(
    session: Session, month: Month, now: datetime, cooperative_ids: Iterable[int] | None = None
) -> int:
    """(Re)write the month's snapshot of each cooperative (all, or those given); returns the rows."""
    figures = portfolios_as_of(session, month.last, cooperative_ids)
    stmt = delete(PortfolioSnapshot).where(PortfolioSnapshot.as_of == month.last)
    if cooperative_ids is not None:
        stmt = stmt.where(PortfolioSnapshot.cooperative_id.in_(list(figures)))
    session.execute(stmt)
    session.add_all(snapshot_row(cid, f, now) for cid, f in figures.items())
    session.flush()
    return len(figures)


def written_months(session: Session) -> set[Month]:
    """The months that already have snapshots."""
    return {Month.of(day) for day in session.scalars(select(PortfolioSnapshot.as_of).distinct())}


def first_month(session: Session) -> Month | None:
    """The month of the first disbursement: history starts there."""
    first = session.scalar(select(func.min(Loan.disbursed_on)))
    if first is None:
        return None
    return Month.of(first if isinstance(first, date) else date.fromisoformat(str(first)[:10]))


def backfill(
    session: Session, today: date, now: datetime, *, rebuild: bool = False, since: Month | None = None
) -> list[Month]:
    """Write the snapshots of every closed month missing one (all of them with `rebuild`)."""
    start = since or first_month(session)
    if start is None:
        return []
    done = set() if rebuild else written_months(session)
    last_closed = Month.of(today).shift(-1)
    written = []
    month = start
    while (month.year, month.month) <= (last_closed.year, last_closed.month):
        if month not in done:
            write_month(session, month, now)
            written.append(month)
        month = month.shift(1)
    return written


def tick(runtime, now: datetime) -> str:
    """Tick task: the last closed month's snapshots, written when missing and settled daily for a week."""
    today = now.astimezone(runtime.clock.tz).date()
    month = Month.of(today).shift(-1)
    with runtime.sessions() as session:
        last = session.scalar(
            select(func.max(PortfolioSnapshot.computed_at)).where(PortfolioSnapshot.as_of == month.last)
        )
        settling = today <= month.last + timedelta(days=SETTLING_DAYS)
        written_today = last is not None and last.astimezone(runtime.clock.tz).date() >= today
        if last is not None and (not settling or written_today):
            return "up to date"
        rows = write_month(session, month, now)
        session.commit()
    return f"{month.key}: {rows} cooperatives"


@dataclass(frozen=True)
class SnapshotFigures:
    """A month-end's loan figures, one cooperative's or summed over several."""

    month: Month
    outstanding: int
    par1: int
    par30: int
    par90: int
    written_off: int

    @property
    def par30_rate(self) -> float | None:
        """PAR30 at the month's end."""
        return ratio(self.par30, self.outstanding)


def month_ends(
    session: Session, months: list[Month], cooperative_ids: Iterable[int] | None = None
) -> dict[Month, SnapshotFigures]:
    """The snapshots of these months, summed over these cooperatives (None: all), in one statement."""
    stmt = within(
        select(
            PortfolioSnapshot.as_of,
            func.sum(PortfolioSnapshot.outstanding),
            func.sum(PortfolioSnapshot.par1),
            func.sum(PortfolioSnapshot.par30),
            func.sum(PortfolioSnapshot.par90),
            func.sum(PortfolioSnapshot.written_off),
        )
        .where(PortfolioSnapshot.as_of.in_([m.last for m in months]))
        .group_by(PortfolioSnapshot.as_of),
        PortfolioSnapshot.cooperative_id,
        id_list(cooperative_ids),
    )
    result = {}
    for as_of, outstanding, par1, par30, par90, written_off in session.execute(stmt):
        month = Month.of(as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of)[:10]))
        result[month] = SnapshotFigures(
            month, int(outstanding), int(par1), int(par30), int(par90), int(written_off)
        )
    return result
