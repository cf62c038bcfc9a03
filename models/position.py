"""A member's position: the one function behind USSD screens, SMS receipts and dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.activity import RepaymentDeclaration
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
    unpaid = [Due(ref, due_on, amount) for ref, due_on, amount in rows]
    late = [d for d in unpaid if d.due_on < today]
    upcoming = [d for d in unpaid if d.due_on >= today]
    return Position(
        savings=int(savings),
        outstanding=sum(d.unpaid for d in unpaid),
        overdue=sum(d.unpaid for d in late),
        days_late=(today - late[0].due_on).days if late else 0,
        next_due=upcoming[0] if upcoming else None,
        pending_declaration=int(pending) if pending is not None else None,
        active_loans=int(active),
        unpaid=unpaid,
    )
