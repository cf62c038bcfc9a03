"""Rows of the coordinators' CSV exports, read in batches so that a programme-wide file streams.

Portfolio: one row per loan (outstanding, overdue and days late as `models.position` counts them:
unpaid instalments, late from the day after their due date). Savings: one row per member (the
ledger's sum, deposits and withdrawals apart). Production: one row per cooperative, product and
ISO week (current reports only: a corrected report replaces the earlier one).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from models.activity import ProductionReport
from models.cooperative import Cooperative, Member, Product
from models.ledger_tables import Instalment, Loan, SavingsEntry
from models.position import days_late

BATCH = 2_000

PORTFOLIO_COLUMNS = (
    "cooperative",
    "code",
    "region",
    "member_no",
    "name",
    "loan",
    "status",
    "disbursed_on",
    "frequency",
    "principal",
    "interest",
    "paid",
    "outstanding",
    "overdue",
    "days_late",
)
SAVINGS_COLUMNS = (
    "cooperative",
    "code",
    "region",
    "member_no",
    "name",
    "status",
    "balance",
    "deposits",
    "withdrawals",
    "last_entry_on",
)
PRODUCTION_COLUMNS = (
    "cooperative",
    "code",
    "region",
    "product",
    "unit",
    "iso_year",
    "iso_week",
    "quantity",
    "reporters",
)


def _in(stmt, column, cooperative_ids: list[int] | None):
    return stmt if cooperative_ids is None else stmt.where(column.in_(cooperative_ids))


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def portfolio_rows(session: Session, today: date, cooperative_ids: list[int] | None) -> Iterator[tuple]:
    """One row per loan of the cooperatives given (None: all), by cooperative, member and loan."""
    unpaid = Instalment.amount_due - Instalment.amount_paid
    late = (Instalment.due_on < today) & (Instalment.amount_paid < Instalment.amount_due)
    stmt = (
        select(
            Cooperative.name,
            Cooperative.code,
            Cooperative.region,
            Member.member_no,
            Member.name,
            Loan.reference,
            Loan.status,
            Loan.disbursed_on,
            Loan.frequency,
            Loan.principal,
            Loan.interest,
            func.sum(Instalment.amount_paid),
            func.sum(unpaid),
            func.sum(case((late, unpaid), else_=0)),
            func.min(case((late, Instalment.due_on), else_=None)),
        )
        .join(Member, Member.id == Loan.member_id)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .join(Instalment, Instalment.loan_id == Loan.id)
        .group_by(Loan.id, Cooperative.id, Member.id)
        .order_by(Cooperative.name, Member.member_key, Loan.disbursed_on, Loan.id)
    )
    stmt = _in(stmt, Member.cooperative_id, cooperative_ids)
    for row in session.execute(stmt.execution_options(yield_per=BATCH)):
        *head, paid, outstanding, overdue, oldest = row
        active = row.status == "active"
        yield (
            *head,
            int(paid or 0),
            int(outstanding or 0) if active else 0,
            int(overdue or 0) if active else 0,
            days_late(_as_date(oldest), today) if active and oldest is not None else 0,
        )


def savings_rows(session: Session, cooperative_ids: list[int] | None) -> Iterator[tuple]:
    """One row per member: balance, money in, money out (reversals counted where they fall), last entry."""
    per_member = (
        select(
            SavingsEntry.member_id.label("member_id"),
            func.sum(SavingsEntry.amount).label("balance"),
            func.sum(case((SavingsEntry.amount > 0, SavingsEntry.amount), else_=0)).label("money_in"),
            func.sum(case((SavingsEntry.amount < 0, -SavingsEntry.amount), else_=0)).label("money_out"),
            func.max(SavingsEntry.entry_on).label("last_on"),
        )
        .group_by(SavingsEntry.member_id)
        .subquery()
    )
    stmt = (
        select(
            Cooperative.name,
            Cooperative.code,
            Cooperative.region,
            Member.member_no,
            Member.name,
            Member.status,
            func.coalesce(per_member.c.balance, 0),
            func.coalesce(per_member.c.money_in, 0),
            func.coalesce(per_member.c.money_out, 0),
            per_member.c.last_on,
        )
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .outerjoin(per_member, per_member.c.member_id == Member.id)
        .order_by(Cooperative.name, Member.member_key, Member.id)
    )
    stmt = _in(stmt, Member.cooperative_id, cooperative_ids)
    for *head, balance, money_in, money_out, last_on in session.execute(
        stmt.execution_options(yield_per=BATCH)
    ):
        yield (*head, int(balance), int(money_in), int(money_out), _as_date(last_on))


def production_rows(session: Session, cooperative_ids: list[int] | None) -> Iterator[tuple]:
    """One row per cooperative, product and ISO week: the current reports' quantity and how many reported."""
    stmt = (
        select(
            Cooperative.name,
            Cooperative.code,
            Cooperative.region,
            Product.name,
            Product.unit,
            ProductionReport.iso_year,
            ProductionReport.iso_week,
            func.sum(ProductionReport.quantity),
            func.count(func.distinct(ProductionReport.member_id)),
        )
        .join(Product, Product.id == ProductionReport.product_id)
        .join(Cooperative, Cooperative.id == Product.cooperative_id)
        .where(ProductionReport.superseded_at.is_(None))
        .group_by(Cooperative.id, Product.id, ProductionReport.iso_year, ProductionReport.iso_week)
        .order_by(Cooperative.name, Product.name, ProductionReport.iso_year, ProductionReport.iso_week)
    )
    stmt = _in(stmt, Product.cooperative_id, cooperative_ids)
    for *head, quantity, reporters in session.execute(stmt.execution_options(yield_per=BATCH)):
        yield (*head, int(quantity), int(reporters))
