"""A member's position: the one function behind USSD screens, SMS receipts and dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select
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
    """Compute the position in two SQL statements (the USSD read-only hop budget is three)."""
    savings_q = (
        select(func.coalesce(func.sum(SavingsEntry.amount), 0))
        .where(SavingsEntry.member_id == member_id)
        .scalar_subquery()
    )
    pending_q = (
        select(RepaymentDeclaration.amount)
        .where(
            RepaymentDeclaration.member_id == member_id,
            RepaymentDeclaration.status == DeclarationStatus.PENDING,
        )
        .limit(1)
        .scalar_subquery()
    )
    active_q = (
        select(func.count())
        .select_from(Loan)
        .where(Loan.member_id == member_id, Loan.status == LoanStatus.ACTIVE)
        .scalar_subquery()
    )
    savings, pending, active = session.execute(select(savings_q, pending_q, active_q)).one()
    rows = session.execute(
        select(Loan.reference, Instalment.due_on, Instalment.amount_due - Instalment.amount_paid)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            Loan.member_id == member_id,
            Loan.status == LoanStatus.ACTIVE,
            Instalment.amount_paid < Instalment.amount_due,
        )
        .order_by(Instalment.due_on, Loan.disbursed_on, Loan.id)
    ).all()
    unpaid = [Due(ref, due_on, int(amount)) for ref, due_on, amount in rows]
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
    session: Session, today: date, cooperative_ids: list[int] | None = None
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
