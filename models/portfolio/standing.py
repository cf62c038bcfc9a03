"""The portfolio on a day: outstanding, PAR1/30/90, ageing, arrears and what was written off.

Today's figures come from the instalments' present `amount_paid`, by the rules of
`models.position` (the same arrears a member reads on USSD): `loan_figures` groups them per
cooperative in SQL and is tested equal to counting `position.active_loan_arrears` loan by loan
(`count_arrears`). Any other day is a replay (`replay_arrears`): each loan's non-reversed
repayments paid on or before that day, filled into its instalments in schedule order, as the
ledger's allocation does. The month-end snapshots are such replays, written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative, Member
from models.enums import LoanStatus, MemberStatus
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine, SavingsEntry
from models.portfolio.months import end_of_day, id_list, ratio, within
from models.position import LoanArrears, MemberLoanArrears, days_late

# Ageing buckets by days late of each active loan: (key, label, lowest, highest).
BUCKETS = (
    ("on_time", "À jour", 0, 0),
    ("1_30", "1–30 j", 1, 30),
    ("31_60", "31–60 j", 31, 60),
    ("61_90", "61–90 j", 61, 90),
    ("over_90", "> 90 j", 91, None),
)
PAR_DAYS = 30


# The Portfolio counts and amounts that add up across cooperatives (a region's, the programme's).
SUMMED = (
    "members",
    "members_inactive",
    "active_loans",
    "borrowers",
    "outstanding",
    "overdue",
    "par1_outstanding",
    "par30_outstanding",
    "par90_outstanding",
    "loans_in_arrears",
    "members_in_arrears",
    "written_off_outstanding",
    "recoveries",
    "savings",
)


@dataclass
class Bucket:
    """One ageing bucket: active loans whose days late fall in [low, high]."""

    key: str
    label: str
    low: int
    high: int | None
    loans: int = 0
    outstanding: int = 0

    def holds(self, days_late: int) -> bool:
        """True when a loan this many days late belongs here."""
        return days_late >= self.low and (self.high is None or days_late <= self.high)


@dataclass
class Portfolio:
    """Members, active loans, outstanding, PAR and ageing, as of `today`; written-off loans apart."""

    today: date
    members: int = 0
    members_inactive: int = 0
    active_loans: int = 0
    borrowers: int = 0
    outstanding: int = 0
    overdue: int = 0
    par1_outstanding: int = 0
    par30_outstanding: int = 0
    par90_outstanding: int = 0
    loans_in_arrears: int = 0
    members_in_arrears: int = 0
    written_off_outstanding: int = 0
    recoveries: int = 0
    savings: int = 0
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def par1(self) -> float | None:
        """Outstanding of active loans more than 1 day late ÷ outstanding of all active loans."""
        return ratio(self.par1_outstanding, self.outstanding)

    @property
    def par30(self) -> float | None:
        """Outstanding of active loans more than 30 days late ÷ outstanding of all active loans."""
        return ratio(self.par30_outstanding, self.outstanding)

    @property
    def par90(self) -> float | None:
        """Outstanding of active loans more than 90 days late ÷ outstanding of all active loans."""
        return ratio(self.par90_outstanding, self.outstanding)

    def count_loan(self, loan: LoanArrears) -> None:
        """Count one active loan's arrears in: outstanding, overdue, PAR and its ageing bucket."""
        self.outstanding += loan.outstanding
        self.overdue += loan.overdue
        if loan.days_late > 1:
            self.par1_outstanding += loan.outstanding
        if loan.days_late > PAR_DAYS:
            self.par30_outstanding += loan.outstanding
        if loan.days_late > 90:
            self.par90_outstanding += loan.outstanding
        if loan.overdue > 0:
            self.loans_in_arrears += 1
        bucket = next(b for b in self.buckets if b.holds(loan.days_late))
        bucket.loans += 1
        bucket.outstanding += loan.outstanding

    def absorb(self, other: Portfolio) -> None:
        """Add another portfolio's figures to this one (the overall total of the cooperatives)."""
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in zip(self.buckets, other.buckets, strict=True):
            mine.loans += theirs.loans
            mine.outstanding += theirs.outstanding


def empty_portfolio(today: date) -> Portfolio:
    """A portfolio with nothing in it yet, its buckets laid out."""
    return Portfolio(today=today, buckets=[Bucket(*b) for b in BUCKETS])


def count_arrears(result: dict[int, Portfolio], rows: Iterable[MemberLoanArrears]) -> None:
    """Count each active loan's arrears into its cooperative's portfolio, members in arrears too."""
    late_members: dict[int, set[int]] = {}
    for row in rows:
        result[row.cooperative_id].count_loan(row.arrears)
        if row.arrears.overdue > 0:
            late_members.setdefault(row.cooperative_id, set()).add(row.member_id)
    for cooperative_id, members in late_members.items():
        result[cooperative_id].members_in_arrears = len(members)


def portfolios(
    session: Session, today: date, cooperative_ids: Iterable[int] | None = None
) -> dict[int, Portfolio]:
    """Today's portfolio of each cooperative (all, or those given), in a few grouped statements.

    The programme's (None) statements carry no list of ids: they read every row once instead.
    """
    ids = id_list(cooperative_ids)
    loans = loan_figures(session, today, ids)
    result = {
        cid: loans.get(cid) or empty_portfolio(today)
        for cid in session.scalars(within(select(Cooperative.id), Cooperative.id, ids))
    }
    for cooperative_id, status, count in session.execute(
        within(
            select(Member.cooperative_id, Member.status, func.count()).group_by(
                Member.cooperative_id, Member.status
            ),
            Member.cooperative_id,
            ids,
        )
    ):
        if status == MemberStatus.ACTIVE:
            result[cooperative_id].members += int(count)
        else:
            result[cooperative_id].members_inactive += int(count)
    for cooperative_id, amount in session.execute(
        within(
            select(Member.cooperative_id, func.sum(SavingsEntry.amount))
            .join(Member, Member.id == SavingsEntry.member_id)
            .group_by(Member.cooperative_id),
            Member.cooperative_id,
            ids,
        )
    ):
        result[cooperative_id].savings = int(amount or 0)
    for cooperative_id, amount in session.execute(
        within(
            select(Member.cooperative_id, func.sum(Instalment.amount_due - Instalment.amount_paid))
            .join(Loan, Loan.id == Instalment.loan_id)
            .join(Member, Member.id == Loan.member_id)
            .where(Loan.status == LoanStatus.WRITTEN_OFF)
            .group_by(Member.cooperative_id),
            Member.cooperative_id,
            ids,
        )
    ):
        result[cooperative_id].written_off_outstanding = int(amount or 0)
    for cooperative_id, amount in recoveries(session, today, ids).items():
        result[cooperative_id].recoveries = amount
    return result


def loan_figures(session: Session, today: date, cooperative_ids: list[int] | None) -> dict[int, Portfolio]:
    """Per cooperative with active loans: loans, borrowers, outstanding, arrears, PAR and ageing.

    One grouped statement, the SQL form of `count_arrears` over `active_loan_arrears` (tested
    equal): each active loan's unpaid instalments are summed per loan, then the loans per
    cooperative. A loan's days late is today − its oldest late due date, so "more than n days
    late" is "oldest late due date before today − n", a comparison of dates any database makes.
    The per-loan sums read the unpaid instalments in loan order from `ix_instalment_unpaid_loan`.
    """
    unpaid = Instalment.amount_due - Instalment.amount_paid
    late = Instalment.due_on < today
    per_loan = select(
        Instalment.loan_id.label("loan_id"),
        func.sum(unpaid).label("outstanding"),
        func.sum(case((late, unpaid), else_=0)).label("overdue"),
        func.min(case((late, Instalment.due_on), else_=None)).label("oldest_late"),
    ).where(Instalment.amount_paid < Instalment.amount_due)
    if cooperative_ids is not None:
        per_loan = per_loan.where(
            Instalment.loan_id.in_(
                select(Loan.id)
                .join(Member, Member.id == Loan.member_id)
                .where(Member.cooperative_id.in_(cooperative_ids))
            )
        )
    loan = per_loan.group_by(Instalment.loan_id).subquery()
    unpaid_left = loan.c.loan_id.is_not(None)  # an active loan with nothing unpaid has no arrears line
    oldest = loan.c.oldest_late

    def more_late_than(days: int):
        return oldest < literal(today - timedelta(days=days), Date())

    def in_bucket(low: int, high: int | None):
        """Days late in [low, high]; no late due date is 0 days late."""
        conditions = [unpaid_left]
        if low > 0:
            conditions.append(oldest <= literal(today - timedelta(days=low), Date()))
        if high is not None:
            conditions.append(or_(oldest.is_(None), oldest >= literal(today - timedelta(days=high), Date())))
        return and_(*conditions)

    def total_where(condition):
        return func.sum(case((condition, loan.c.outstanding), else_=0))

    def count_where(condition):
        return func.sum(case((condition, 1), else_=0))

    in_arrears = loan.c.overdue > 0
    columns = [
        func.count(Loan.id),
        func.count(func.distinct(Loan.member_id)),
        func.sum(loan.c.outstanding),
        func.sum(loan.c.overdue),
        total_where(more_late_than(1)),
        total_where(more_late_than(PAR_DAYS)),
        total_where(more_late_than(90)),
        count_where(in_arrears),
        func.count(func.distinct(case((in_arrears, Loan.member_id), else_=None))),
    ]
    for _, _, low, high in BUCKETS:
        columns += [count_where(in_bucket(low, high)), total_where(in_bucket(low, high))]
    stmt = within(
        select(Member.cooperative_id, *columns)
        .select_from(Loan)
        .join(Member, Member.id == Loan.member_id)
        .outerjoin(loan, loan.c.loan_id == Loan.id)
        .where(Loan.status == LoanStatus.ACTIVE)
        .group_by(Member.cooperative_id),
        Member.cooperative_id,
        cooperative_ids,
    )
    result = {}
    for cooperative_id, *values in session.execute(stmt):
        figures = empty_portfolio(today)
        counts = [int(v or 0) for v in values]
        (
            figures.active_loans,
            figures.borrowers,
            figures.outstanding,
            figures.overdue,
            figures.par1_outstanding,
            figures.par30_outstanding,
            figures.par90_outstanding,
            figures.loans_in_arrears,
            figures.members_in_arrears,
        ) = counts[:9]
        for n, bucket in enumerate(figures.buckets):
            bucket.loans, bucket.outstanding = counts[9 + 2 * n : 11 + 2 * n]
        result[cooperative_id] = figures
    return result


def portfolio(session: Session, today: date, cooperative_ids: Iterable[int] | None = None) -> Portfolio:
    """Today's portfolio of these cooperatives together (None: the whole programme)."""
    total = empty_portfolio(today)
    for figures in portfolios(session, today, cooperative_ids).values():
        total.absorb(figures)
    return total


def recoveries(session: Session, day: date, cooperative_ids: list[int] | None = None) -> dict[int, int]:
    """Per cooperative: repayments on written-off loans recorded after the write-off, paid by `day`.

    Read from the repayments themselves (their per-loan lines), whatever recorded them.
    """
    stmt = (
        select(Member.cooperative_id, func.sum(RepaymentLine.amount))
        .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
        .join(Loan, Loan.id == RepaymentLine.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .where(
            Loan.status == LoanStatus.WRITTEN_OFF,
            Repayment.reversed_at.is_(None),
            Repayment.recorded_at >= Loan.closed_at,
            Repayment.paid_on <= day,
        )
        .group_by(Member.cooperative_id)
    )
    if cooperative_ids is not None:
        stmt = stmt.where(Member.cooperative_id.in_(cooperative_ids))
    return {cid: int(amount or 0) for cid, amount in session.execute(stmt)}


@dataclass
class Replay:
    """A day's arrears replayed from the repayments: active loans, and written-off ones apart."""

    active: list[MemberLoanArrears]
    written_off: dict[int, int]


def replay_arrears(session: Session, day: date, cooperative_ids: list[int] | None = None) -> Replay:
    """Every loan's arrears at the end of `day`, replayed from the repayments paid by then.

    Loans disbursed after the day are left out; a loan written off by the end of the day is
    counted apart; a loan written off later was still active then. One statement: the window
    sum gives what fell due before each instalment, so what a loan's payments cover of each one
    is a clamp, the allocation's oldest-first order without a loop.
    """
    written_off_then = and_(Loan.status == LoanStatus.WRITTEN_OFF, Loan.closed_at < end_of_day(day))
    loans = select(Loan.id).join(Member, Member.id == Loan.member_id).where(Loan.disbursed_on <= day)
    if cooperative_ids is not None:
        loans = loans.where(Member.cooperative_id.in_(cooperative_ids))
    paid = (
        select(RepaymentLine.loan_id.label("loan_id"), func.sum(RepaymentLine.amount).label("paid"))
        .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
        .where(Repayment.reversed_at.is_(None), Repayment.paid_on <= day)
        .group_by(RepaymentLine.loan_id)
        .subquery()
    )
    before = func.sum(Instalment.amount_due).over(partition_by=Instalment.loan_id, order_by=Instalment.number)
    schedule = (
        select(
            Instalment.loan_id.label("loan_id"),
            Instalment.due_on.label("due_on"),
            Instalment.amount_due.label("amount_due"),
            (before - Instalment.amount_due).label("before"),
        )
        .where(Instalment.loan_id.in_(loans))
        .subquery()
    )
    covered = func.coalesce(paid.c.paid, 0) - schedule.c.before
    unpaid = schedule.c.amount_due - case(
        (covered >= schedule.c.amount_due, schedule.c.amount_due), (covered > 0, covered), else_=0
    )
    late = schedule.c.due_on < day
    per_loan = (
        select(
            schedule.c.loan_id.label("loan_id"),
            func.sum(unpaid).label("outstanding"),
            func.sum(case((late, unpaid), else_=0)).label("overdue"),
            func.min(case((and_(late, unpaid > 0), schedule.c.due_on), else_=None)).label("oldest_late"),
        )
        .select_from(schedule.outerjoin(paid, paid.c.loan_id == schedule.c.loan_id))
        .group_by(schedule.c.loan_id)
        .subquery()
    )
    stmt = (
        select(
            Member.cooperative_id,
            Loan.member_id,
            Loan.reference,
            case((written_off_then, 1), else_=0),
            per_loan.c.outstanding,
            per_loan.c.overdue,
            per_loan.c.oldest_late,
        )
        .join(Loan, Loan.id == per_loan.c.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .where(per_loan.c.outstanding > 0)
    )
    replay = Replay(active=[], written_off={})
    for cooperative_id, member_id, reference, gone, outstanding, overdue, oldest in session.execute(stmt):
        if gone:
            replay.written_off[cooperative_id] = replay.written_off.get(cooperative_id, 0) + int(outstanding)
            continue
        arrears = LoanArrears(
            loan_reference=reference,
            outstanding=int(outstanding),
            overdue=int(overdue),
            days_late=days_late(_as_date(oldest), day) if oldest is not None else 0,
        )
        replay.active.append(MemberLoanArrears(cooperative_id, member_id, arrears))
    return replay


def portfolios_as_of(
    session: Session, day: date, cooperative_ids: Iterable[int] | None = None
) -> dict[int, Portfolio]:
    """Each cooperative's loan figures at the end of `day`, replayed (members and savings not set)."""
    ids = list(cooperative_ids) if cooperative_ids is not None else None
    coops = select(Cooperative.id)
    if ids is not None:
        coops = coops.where(Cooperative.id.in_(ids))
    result = {cid: empty_portfolio(day) for cid in session.scalars(coops)}
    replay = replay_arrears(session, day, ids)
    count_arrears(result, (row for row in replay.active if row.cooperative_id in result))
    borrowers: dict[int, set[int]] = {}
    for row in replay.active:
        if row.cooperative_id in result:
            result[row.cooperative_id].active_loans += 1
            borrowers.setdefault(row.cooperative_id, set()).add(row.member_id)
    for cooperative_id, members in borrowers.items():
        result[cooperative_id].borrowers = len(members)
    for cooperative_id, amount in replay.written_off.items():
        if cooperative_id in result:
            result[cooperative_id].written_off_outstanding = amount
    for cooperative_id, amount in recoveries(session, day, ids).items():
        if cooperative_id in result:
            result[cooperative_id].recoveries = amount
    return result


def _as_date(value) -> date:
    """MIN over a CASE loses the column's type on some drivers (SQLite returns the ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
