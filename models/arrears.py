"""Arrears: who is late, by how much and since when, and on which days arrears reminders fall.

Days late are counted per member from D, the due date of their oldest unpaid instalment on an
active loan (an instalment is late from the day after its due date). Arrears reminder days are
d = L + 7k days after D (L = 1 when that instalment's loan is weekly, 7 when monthly; k = 1, 2, …)
while d ≤ 90, then the last of those plus 30k, with no end, until paid or written off (see
docs/design.md, "Arrears, promises and the officers' digest"). The days are derived from the
arithmetic, never from a table of days, so there is no silent end after a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from models.cooperative import Member
from models.enums import Frequency, LoanStatus, MemberStatus, Role
from models.ledger_tables import Instalment, Loan

WEEKLY_LAG = 1
MONTHLY_LAG = 7
STEP = 7
WEEKLY_PHASE_END = 90
THEN_EVERY = 30
# Thresholds the officers' digest and the coordinator's pages call out.
MILESTONES = (30, 60, 90)
# ReminderSent.rule of an arrears day (`A15`: 15 days after D) and of a promise's day (`P<id>`).
ARREARS_PREFIX = "A"
PROMISE_PREFIX = "P"


def is_arrears_rule(rule: str) -> bool:
    """True for an arrears day's rule code (`A15`)."""
    return rule.startswith(ARREARS_PREFIX) and rule[1:].isdigit()


def is_promise_rule(rule: str) -> bool:
    """True for a promise reminder's rule code (`P42`)."""
    return rule.startswith(PROMISE_PREFIX) and rule[1:].isdigit()


def promise_id(rule: str) -> int:
    """The promise a `P<id>` rule reminds of."""
    return int(rule[1:])


def rule_group(rule: str) -> str:
    """`arrears`, `promise`, or the due-date rule itself: how reports group reminders."""
    if is_arrears_rule(rule):
        return "arrears"
    if is_promise_rule(rule):
        return "promise"
    return rule


def lag(frequency: str) -> int:
    """L: the arrears days of a loan start L + 7 days after its oldest unpaid due date."""
    return WEEKLY_LAG if frequency == Frequency.WEEKLY else MONTHLY_LAG


def last_weekly_day(lag_days: int) -> int:
    """The last arrears day of the weekly phase: the largest L + 7k that is ≤ 90."""
    return lag_days + STEP * ((WEEKLY_PHASE_END - lag_days) // STEP)


def is_arrears_day(days_late: int, lag_days: int) -> bool:
    """True when a member `days_late` days late (loan lag L) gets an arrears reminder."""
    if days_late < lag_days + STEP:
        return False
    if days_late <= WEEKLY_PHASE_END:
        return (days_late - lag_days) % STEP == 0
    last = last_weekly_day(lag_days)
    return days_late > last and (days_late - last) % THEN_EVERY == 0


def arrears_due_dates(today: date, lag_days: int, oldest: date) -> list[date]:
    """Every oldest-due date D ≥ `oldest` for which `today` is an arrears reminder day."""
    found = []
    d = lag_days + STEP
    while d <= WEEKLY_PHASE_END:
        found.append(today - timedelta(days=d))
        d += STEP
    d = last_weekly_day(lag_days) + THEN_EVERY
    while today - timedelta(days=d) >= oldest:
        found.append(today - timedelta(days=d))
        d += THEN_EVERY
    return [due for due in found if due >= oldest]


def oldest_unpaid_due(session: Session, today: date) -> date | None:
    """A lower bound of the oldest unpaid, past-due due date (bounds the arrears days to look at).

    Over every loan, not only active ones: the bound may come earlier than needed (a few more
    candidate dates, each matching nothing), but it is one read of the partial index's first entry
    instead of a join over every late instalment.
    """
    return session.scalar(
        select(func.min(Instalment.due_on)).where(
            Instalment.amount_paid < Instalment.amount_due, Instalment.due_on < today
        )
    )


def is_oldest_unpaid():
    """Condition on (Instalment, Loan) rows: no earlier unpaid instalment of the same member's active loans.

    Ties on the due date go to the lower instalment id, so exactly one instalment defines D.
    """
    other_loan, other = aliased(Loan), aliased(Instalment)
    earlier = (
        select(other.id)
        .join(other_loan, other_loan.id == other.loan_id)
        .where(
            other_loan.member_id == Loan.member_id,
            other_loan.status == LoanStatus.ACTIVE,
            other.amount_paid < other.amount_due,
            (other.due_on < Instalment.due_on)
            | and_(other.due_on == Instalment.due_on, other.id < Instalment.id),
        )
        .exists()
    )
    return ~earlier


@dataclass(frozen=True)
class MemberArrears:
    """One member in arrears: total overdue (due before today, unpaid) and days since the oldest."""

    member_id: int
    cooperative_id: int
    member_no: str
    name: str
    phone: str | None
    language: str
    opted_out: bool
    overdue: int
    oldest_due: date
    days_late: int
    loans: int


def members_in_arrears(
    session: Session, today: date, cooperative_ids: list[int] | None = None, member_id: int | None = None
) -> list[MemberArrears]:
    """Members with an unpaid instalment due before `today`, most days late first, then member no."""
    late = (
        select(
            Loan.member_id.label("member_id"),
            func.sum(Instalment.amount_due - Instalment.amount_paid).label("overdue"),
            func.min(Instalment.due_on).label("oldest"),
            func.count(func.distinct(Loan.id)).label("loans"),
        )
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            Instalment.amount_paid < Instalment.amount_due,
            Instalment.due_on < today,
            Loan.status == LoanStatus.ACTIVE,
        )
        .group_by(Loan.member_id)
    )
    if member_id is not None:
        late = late.where(Loan.member_id == member_id)
    late = late.subquery()
    query = select(
        Member.id,
        Member.cooperative_id,
        Member.member_no,
        Member.name,
        Member.phone,
        Member.language,
        Member.opted_out,
        late.c.overdue,
        late.c.oldest,
        late.c.loans,
    ).join(late, late.c.member_id == Member.id)
    if cooperative_ids is not None:
        query = query.where(Member.cooperative_id.in_(cooperative_ids))
    rows = [
        MemberArrears(
            member_id=r[0],
            cooperative_id=r[1],
            member_no=r[2],
            name=r[3],
            phone=r[4],
            language=r[5],
            opted_out=bool(r[6]),
            overdue=int(r[7]),
            oldest_due=r[8],
            days_late=(today - r[8]).days,
            loans=int(r[9]),
        )
        for r in session.execute(query)
    ]
    rows.sort(key=lambda m: (-m.days_late, m.member_no))
    return rows


@dataclass(frozen=True)
class OfficerContact:
    """An active treasurer or president of a cooperative, with a phone."""

    member_id: int
    cooperative_id: int
    name: str
    phone: str
    role: str
    language: str


def officers(session: Session, cooperative_ids: list[int] | None = None) -> list[OfficerContact]:
    """Active treasurers and presidents with a phone, treasurers first, then by id."""
    query = select(
        Member.id, Member.cooperative_id, Member.name, Member.phone, Member.role, Member.language
    ).where(
        Member.role.in_((Role.TREASURER, Role.PRESIDENT)),
        Member.status == MemberStatus.ACTIVE,
        Member.phone.is_not(None),
    )
    if cooperative_ids is not None:
        query = query.where(Member.cooperative_id.in_(cooperative_ids))
    found = [OfficerContact(*row) for row in session.execute(query)]
    found.sort(key=lambda o: (o.cooperative_id, o.role != Role.TREASURER, o.member_id))
    return found


def payee_of(session: Session, cooperative_ids: list[int]) -> dict[int, OfficerContact]:
    """cooperative id → whom late members are told to pay: the first treasurer, else the president."""
    chosen: dict[int, OfficerContact] = {}
    for officer in officers(session, cooperative_ids):
        chosen.setdefault(officer.cooperative_id, officer)
    return chosen
