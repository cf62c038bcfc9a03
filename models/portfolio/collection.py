"""Collection and on-time rates (see docs/figures.md for the definitions shown on the pages).

Collection rate of a month = what is paid today on the instalments that fell due in it ÷ their
amount due, counting for the running month only the instalments due up to today: an instalment
due on the 28th is not a failure on the 4th. Written-off loans stay in: what fell due on them and
was never paid is what the rate measures.

On-time rate of a month = the share of its instalments, among those whose due date has passed,
that were fully paid on or before their due date (`Instalment.fully_paid_on`, kept by the ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from models.cooperative import Member
from models.ledger_tables import Instalment, Loan, Repayment
from models.portfolio.months import Month, id_list, members_of, months_ending, ratio, within


@dataclass
class Collection:
    """A month's dues up to `through`, what of them is paid today, punctuality, and the cash received."""

    month: Month
    through: date | None = None
    due: int = 0
    collected: int = 0
    cash_in: int = 0
    instalments_decided: int = 0
    instalments_on_time: int = 0

    @property
    def rate(self) -> float | None:
        """Collection rate: collected ÷ due for the month's instalments due up to `through`."""
        return ratio(self.collected, self.due)

    @property
    def on_time_rate(self) -> float | None:
        """Instalments fully paid by their due date ÷ instalments whose due date has passed."""
        return ratio(self.instalments_on_time, self.instalments_decided)

    def add(self, due: int, paid: int, decided: int, on_time: int) -> None:
        """Count in one group of instalments."""
        self.due += int(due or 0)
        self.collected += int(paid or 0)
        self.instalments_decided += int(decided or 0)
        self.instalments_on_time += int(on_time or 0)


def _dues_columns(today: date) -> list:
    """Σ due, Σ paid, instalments past due, and of those the ones fully paid by their due date."""
    decided = Instalment.due_on < today
    paid_by_due = Instalment.fully_paid_on <= Instalment.due_on
    on_time = and_(decided, Instalment.fully_paid_on.is_not(None), paid_by_due)
    return [
        func.sum(Instalment.amount_due),
        func.sum(Instalment.amount_paid),
        func.sum(case((decided, 1), else_=0)),
        func.sum(case((on_time, 1), else_=0)),
    ]


def collections(
    session: Session,
    last: Month,
    today: date,
    count: int = 12,
    cooperative_ids: Iterable[int] | None = None,
) -> list[Collection]:
    """Collection, punctuality and cash in for `count` months ending with `last`, oldest first.

    Of these cooperatives' loans and members (None: the whole programme's).
    """
    ids = id_list(cooperative_ids)
    months = months_ending(last, count)
    by_month = {m: Collection(m, through=m.through(today)) for m in months}
    first_day, last_day = months[0].first, months[-1].through(today)
    dues = (
        select(Instalment.due_on, *_dues_columns(today))
        .where(Instalment.due_on.between(first_day, last_day))
        .group_by(Instalment.due_on)
    )
    cash = (
        select(Repayment.paid_on, func.sum(Repayment.amount))
        .where(Repayment.paid_on.between(first_day, last_day), Repayment.reversed_at.is_(None))
        .group_by(Repayment.paid_on)
    )
    if ids is not None:
        dues = dues.join(Loan, Loan.id == Instalment.loan_id).where(Loan.member_id.in_(members_of(ids)))
        cash = cash.where(Repayment.member_id.in_(members_of(ids)))
    for day, due, paid, decided, on_time in session.execute(dues):
        day = _as_date(day)
        if Month.of(day) in by_month:
            by_month[Month.of(day)].add(due, paid, decided, on_time)
    for day, amount in session.execute(cash):
        by_month[Month.of(_as_date(day))].cash_in += int(amount)
    return [by_month[m] for m in months]


def collection_of(
    session: Session, month: Month, today: date, cooperative_ids: Iterable[int] | None = None
) -> Collection:
    """One month's collection as of `today` (the running month counts dues up to today)."""
    return collections(session, month, today, 1, cooperative_ids)[0]


def collections_by_cooperative(
    session: Session, month: Month, today: date, cooperative_ids: Iterable[int] | None = None
) -> dict[int, Collection]:
    """One month's collection per cooperative, in two grouped statements.

    Every cooperative given has its entry; with None (the programme) the statements carry no list
    of ids and the cooperatives with nothing due or paid in the month are left out.
    """
    ids = id_list(cooperative_ids)
    through = month.through(today)
    result = {cid: Collection(month, through=through) for cid in ids or ()}
    dues = within(
        select(Member.cooperative_id, *_dues_columns(today))
        .join(Loan, Loan.id == Instalment.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .where(Instalment.due_on.between(month.first, through))
        .group_by(Member.cooperative_id),
        Member.cooperative_id,
        ids,
    )
    for cooperative_id, due, paid, decided, on_time in session.execute(dues):
        result.setdefault(cooperative_id, Collection(month, through=through)).add(due, paid, decided, on_time)
    cash = within(
        select(Member.cooperative_id, func.sum(Repayment.amount))
        .join(Member, Member.id == Repayment.member_id)
        .where(Repayment.paid_on.between(month.first, through), Repayment.reversed_at.is_(None))
        .group_by(Member.cooperative_id),
        Member.cooperative_id,
        ids,
    )
    for cooperative_id, amount in session.execute(cash):
        result.setdefault(cooperative_id, Collection(month, through=through)).cash_in = int(amount)
    return result


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
