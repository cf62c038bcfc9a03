"""A member's position: the one function behind USSD screens, SMS receipts and dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Integer, Select, bindparam, case, func, literal_column, select, true
from sqlalchemy.orm import Session

from models.activity import RepaymentDeclaration
from models.cooperative import Member
from models.enums import DeclarationStatus, LoanStatus
from models.ledger_tables import Instalment, Loan, SavingsEntry


@dataclass(frozen=True)
class Due:
    """An unpaid instalment as a member sees it."""

    loan_reference: str
    due_on: date
    unpaid: int


@dataclass(frozen=True)
class Position:
    """Savings, what is owed and when, and any declaration awaiting a treasurer."""

    savings: int
    outstanding: int
    overdue: int
    days_late: int
    next_due: Due | None
    pending_declaration: int | None
    active_loans: int
    unpaid: list[Due] = field(default_factory=list)


def member_position(session: Session, member_id: int, today: date) -> Position:
    """Compute the position in one SQL statement (the USSD read-only hop budget is three)."""
    stmt = _position_statement(session.get_bind().dialect.name)
    # Plain columns: run on the session's connection, without the ORM's result machinery.
    rows = session.connection().execute(stmt, {"member_id": member_id}).all()
    savings, pending, active = rows[0][:3]
    unpaid = [Due(ref, due_on, int(amount)) for *_, ref, due_on, amount in rows if ref is not None]
    late = [d for d in unpaid if d.due_on < today]
    upcoming = [d for d in unpaid if d.due_on >= today]
    return Position(
        savings=int(savings),
        outstanding=sum(d.unpaid for d in unpaid),
        overdue=sum(d.unpaid for d in late),
        days_late=days_late(late[0].due_on, today) if late else 0,
        next_due=upcoming[0] if upcoming else None,
        pending_declaration=int(pending) if pending is not None else None,
        active_loans=int(active),
        unpaid=unpaid,
    )


_STATEMENTS: dict[str, Select] = {}


def _position_statement(dialect: str) -> Select:
    """Member `:member_id`'s position as rows: savings, pending, active loans, one unpaid instalment.

    Shaped so that its plan is two index lookups whatever the statistics say (a freshly loaded
    table has none): the member's active loans by `loan.member_id`, then, for each loan, its
    unpaid instalments by `instalment.loan_id`. On PostgreSQL the instalments are a LATERAL
    subquery behind OFFSET 0, which the planner cannot flatten into a join it might hash over the
    whole instalment table. One row comes back even without unpaid instalments (outer join on
    a one-row source), carrying the three figures. Built once per dialect; the member is a bound
    parameter, so the statement is compiled once and prepared by psycopg.
    """
    stmt = _STATEMENTS.get(dialect)
    if stmt is not None:
        return stmt
    member = bindparam("member_id", type_=Integer)
    savings_q = (
        select(func.coalesce(func.sum(SavingsEntry.amount), 0)).where(SavingsEntry.member_id == member)
    ).scalar_subquery()
    pending_q = (
        select(RepaymentDeclaration.amount)
        .where(
            RepaymentDeclaration.member_id == member,
            RepaymentDeclaration.status == str(DeclarationStatus.PENDING),
        )
        .limit(1)
        .scalar_subquery()
    )
    active_q = (
        select(func.count())
        .select_from(Loan)
        .where(Loan.member_id == member, Loan.status == str(LoanStatus.ACTIVE))
        .scalar_subquery()
    )
    unpaid = (Instalment.amount_due - Instalment.amount_paid).label("unpaid")
    loans = select(Loan.id.label("loan_id"), Loan.reference, Loan.disbursed_on).where(
        Loan.member_id == member, Loan.status == str(LoanStatus.ACTIVE)
    )
    if dialect == "postgresql":
        per_loan = (
            select(Instalment.due_on, unpaid)
            .where(Instalment.loan_id == Loan.id, Instalment.amount_paid < Instalment.amount_due)
            .offset(literal_column("0"))  # an optimisation fence: keeps the lookup per loan
            .lateral("i")
        )
        dues = loans.add_columns(per_loan.c.due_on, per_loan.c.unpaid).join(per_loan, true())
    else:
        dues = loans.add_columns(Instalment.due_on, unpaid).join(
            Instalment, (Instalment.loan_id == Loan.id) & (Instalment.amount_paid < Instalment.amount_due)
        )
    dues = dues.subquery("u")
    one = select(literal_column("1").label("one")).subquery("one")
    stmt = (
        select(savings_q, pending_q, active_q, dues.c.reference, dues.c.due_on, dues.c.unpaid)
        .select_from(one.outerjoin(dues, true()))
        .order_by(dues.c.due_on, dues.c.disbursed_on, dues.c.loan_id)
    )
    _STATEMENTS[dialect] = stmt
    return stmt


def days_late(oldest_unpaid_due: date, today: date) -> int:
    """Days late = today − the oldest unpaid due date (late from the day after it), never negative."""
    return max((today - oldest_unpaid_due).days, 0)


@dataclass(frozen=True)
class LoanArrears:
    """One active loan's share of a position: what is left, what is late, and how late."""

    loan_reference: str
    outstanding: int
    overdue: int
    days_late: int


def loan_arrears(position: Position, today: date) -> list[LoanArrears]:
    """Per active loan with something unpaid: outstanding, overdue and days late (PAR, ageing)."""
    by_loan: dict[str, list[Due]] = {}
    for due in position.unpaid:
        by_loan.setdefault(due.loan_reference, []).append(due)
    result = []
    for reference, dues in by_loan.items():
        late = [d for d in dues if d.due_on < today]
        result.append(
            LoanArrears(
                loan_reference=reference,
                outstanding=sum(d.unpaid for d in dues),
                overdue=sum(d.unpaid for d in late),
                days_late=days_late(min(d.due_on for d in late), today) if late else 0,
            )
        )
    return result


@dataclass(frozen=True)
class MemberLoanArrears:
    """A loan's arrears with the member and cooperative it belongs to."""

    cooperative_id: int
    member_id: int
    arrears: LoanArrears


def active_loan_arrears(
    session: Session,
    today: date,
    cooperative_ids: list[int] | None = None,
    member_ids: list[int] | None = None,
) -> list[MemberLoanArrears]:
    """Every active loan's arrears in one grouped statement (dashboards); same rules as loan_arrears.

    The instalments are summed per loan in SQL, so a portfolio of a million instalments comes back
    as one row per loan; days late still comes from `days_late` on the oldest late due date.
    """
    unpaid = Instalment.amount_due - Instalment.amount_paid
    late = Instalment.due_on < today
    loans = select(Loan.id).join(Member, Member.id == Loan.member_id).where(Loan.status == LoanStatus.ACTIVE)
    if cooperative_ids is not None:
        loans = loans.where(Member.cooperative_id.in_(cooperative_ids))
    if member_ids is not None:
        loans = loans.where(Loan.member_id.in_(member_ids))
    # Grouped on the loan id alone first: a narrow key keeps PostgreSQL's aggregate in memory.
    per_loan = (
        select(
            Instalment.loan_id.label("loan_id"),
            func.sum(unpaid).label("outstanding"),
            func.sum(case((late, unpaid), else_=0)).label("overdue"),
            func.min(case((late, Instalment.due_on), else_=None)).label("oldest_late"),
        )
        .where(Instalment.amount_paid < Instalment.amount_due, Instalment.loan_id.in_(loans))
        .group_by(Instalment.loan_id)
        .subquery()
    )
    stmt = (
        select(
            Member.cooperative_id,
            Loan.member_id,
            Loan.reference,
            per_loan.c.outstanding,
            per_loan.c.overdue,
            per_loan.c.oldest_late,
        )
        .join(Loan, Loan.id == per_loan.c.loan_id)
        .join(Member, Member.id == Loan.member_id)
    )
    return [
        MemberLoanArrears(
            cooperative_id,
            member_id,
            LoanArrears(
                loan_reference=reference,
                outstanding=int(outstanding),
                overdue=int(overdue),
                days_late=days_late(_as_date(oldest_late), today) if oldest_late is not None else 0,
            ),
        )
        for cooperative_id, member_id, reference, outstanding, overdue, oldest_late in session.execute(stmt)
    ]


def _as_date(value) -> date:
    """MIN over a CASE loses the column's type on some drivers (SQLite returns the ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
