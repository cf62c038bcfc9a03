"""What needs the coordinator's attention: members crossing 30/60/90 days late and broken promises
(both this week), locked members, and cooperatives with no active officer.

"This week" is the seven days ending today. A member crosses a threshold m on the day their days
late (today − the oldest unpaid due date of their active loans) reaches m, so this week's
crossings are the members whose days late is in [m, m + 6]. Each list is one grouped statement
over every cooperative in scope (thousands of them), never a query per cooperative; the lists
are cut to `limit` rows and their counts stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from models.arrears import MILESTONES
from models.cooperative import Cooperative, Member
from models.enums import LoanStatus, MemberStatus, Role
from models.ledger_tables import Instalment, Loan
from models.promises import Promise, PromiseStatus

WEEK = 7
LIMIT = 50


@dataclass(frozen=True)
class Flagged:
    """One member on the list: who, where, and what about them (days late, or the promise)."""

    member_id: int
    cooperative_id: int
    cooperative: str
    member_no: str
    name: str
    days_late: int | None = None
    milestone: int | None = None
    amount: int | None = None
    paid: int | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class Unattended:
    """A cooperative with no active treasurer or president who can receive SMS."""

    cooperative_id: int
    name: str
    code: str


@dataclass
class Attention:
    """The four lists, each with its whole count."""

    crossing: list[Flagged] = field(default_factory=list)
    crossing_count: int = 0
    broken: list[Flagged] = field(default_factory=list)
    broken_count: int = 0
    locked: list[Flagged] = field(default_factory=list)
    locked_count: int = 0
    no_officer: list[Unattended] = field(default_factory=list)
    no_officer_count: int = 0
    limit: int = LIMIT

    @property
    def cut(self) -> bool:
        """True when a list shows fewer rows than its count."""
        return (
            max(self.crossing_count, self.broken_count, self.locked_count, self.no_officer_count) > self.limit
        )

    @property
    def empty(self) -> bool:
        """True when nothing needs attention."""
        return not (self.crossing_count or self.broken_count or self.locked_count or self.no_officer_count)


def _scoped(stmt: Select, column, cooperative_ids: list[int] | None) -> Select:
    return stmt if cooperative_ids is None else stmt.where(column.in_(cooperative_ids))


def _first(session: Session, stmt: Select, limit: int) -> tuple[list[tuple], int]:
    """The first `limit` rows of `stmt` and how many rows it has in all, in one statement.

    The window count is taken over the whole result before the limit: one pass where a count
    and then the list would compute every member's oldest late due date twice.
    """
    rows = session.execute(stmt.add_columns(func.count().over()).limit(limit)).all()
    return [tuple(row[:-1]) for row in rows], int(rows[0][-1]) if rows else 0


def attention(
    session: Session, today: date, cooperative_ids: list[int] | None = None, limit: int = LIMIT
) -> Attention:
    """The needs-attention lists of these cooperatives (None: all), as of `today`."""
    result = Attention(limit=limit)
    who = (Member.id, Member.cooperative_id, Cooperative.name, Member.member_no, Member.name)

    oldest = (
        select(Loan.member_id.label("member_id"), func.min(Instalment.due_on).label("oldest"))
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            Instalment.amount_paid < Instalment.amount_due,
            Instalment.due_on < today,
            Loan.status == LoanStatus.ACTIVE,
        )
        .group_by(Loan.member_id)
    )
    if cooperative_ids is not None:  # a region's members only, before grouping the programme's loans
        oldest = oldest.where(
            Loan.member_id.in_(select(Member.id).where(Member.cooperative_id.in_(cooperative_ids)))
        )
    oldest = oldest.subquery()
    # Oldest due dates that put a member in [m, m + 6] days late today, for each threshold m.
    window = [
        (oldest.c.oldest <= today - timedelta(days=m)) & (oldest.c.oldest > today - timedelta(days=m + WEEK))
        for m in MILESTONES
    ]
    crossing = _scoped(
        select(*who, oldest.c.oldest)
        .join(oldest, oldest.c.member_id == Member.id)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(Member.status == MemberStatus.ACTIVE, or_(*window)),
        Member.cooperative_id,
        cooperative_ids,
    ).order_by(oldest.c.oldest, Cooperative.name, Member.member_no)
    rows, result.crossing_count = _first(session, crossing, limit)
    for *person, due in rows:
        days = (today - due).days
        milestone = max(m for m in MILESTONES if m <= days)
        result.crossing.append(Flagged(*person, days_late=days, milestone=milestone))

    broken = _scoped(
        select(*who, Promise.amount, Promise.paid, Promise.due_on)
        .join(Member, Member.id == Promise.member_id)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(Promise.status == PromiseStatus.BROKEN, Promise.settled_on > today - timedelta(days=WEEK)),
        Member.cooperative_id,
        cooperative_ids,
    ).order_by(Promise.due_on.desc(), Cooperative.name, Member.member_no)
    rows, result.broken_count = _first(session, broken, limit)
    for *person, amount, paid, due_on in rows:
        result.broken.append(Flagged(*person, amount=int(amount), paid=int(paid or 0), due_on=due_on))

    locked = _scoped(
        select(*who)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(Member.locked.is_(True), Member.status == MemberStatus.ACTIVE),
        Member.cooperative_id,
        cooperative_ids,
    ).order_by(Cooperative.name, Member.member_no)
    rows, result.locked_count = _first(session, locked, limit)
    result.locked = [Flagged(*row) for row in rows]

    officer = (
        select(Member.id)
        .where(
            Member.cooperative_id == Cooperative.id,
            Member.role.in_((Role.TREASURER, Role.PRESIDENT)),
            Member.status == MemberStatus.ACTIVE,
            Member.phone.is_not(None),
        )
        .exists()
    )
    unattended = _scoped(
        select(Cooperative.id, Cooperative.name, Cooperative.code).where(~officer),
        Cooperative.id,
        cooperative_ids,
    ).order_by(Cooperative.name)
    rows, result.no_officer_count = _first(session, unattended, limit)
    result.no_officer = [Unattended(*row) for row in rows]
    return result
