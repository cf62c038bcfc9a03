"""Money tables: savings entries, loans, instalments, repayments and their per-loan lines."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime
from models.enums import LoanStatus


class SavingsEntry(Base):
    """Append-only savings ledger; balance = Σ amount (signed XOF)."""

    __tablename__ = "savings_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    entry_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    source: Mapped[str] = mapped_column(String(12))
    external_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    receipt: Mapped[str | None] = mapped_column(String(12), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("savings_entry.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(200))


class Loan(Base):
    """A loan and its repayment schedule."""

    __tablename__ = "loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_on: Mapped[date] = mapped_column(Date)
    first_due_on: Mapped[date] = mapped_column(Date)
    frequency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=LoanStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instalments: Mapped[list[Instalment]] = relationship(back_populates="loan", order_by="Instalment.number")

    @property
    def total_due(self) -> int:
        """Principal plus the flat interest."""
        return self.principal + self.interest


class Instalment(Base):
    """One due amount of a loan; amount_paid is recomputed from the loan's repayments."""

    __tablename__ = "instalment"
    __table_args__ = (
        UniqueConstraint("loan_id", "number"),
        # Reminder planning and arrears scan only unpaid instalments by due date.
        Index(
            "ix_instalment_unpaid_due_on",
            "due_on",
            postgresql_where=text("amount_paid < amount_due"),
            sqlite_where=text("amount_paid < amount_due"),
        ),
        # The portfolio figures sum each loan's unpaid instalments: these rows, in loan order, with
        # every column summed, so that the sums are read from the index alone.
        Index(
            "ix_instalment_unpaid_loan",
            "loan_id",
            "due_on",
            "amount_due",
            "amount_paid",
            postgresql_where=text("amount_paid < amount_due"),
            sqlite_where=text("amount_paid < amount_due"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"))
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    # The paid_on of the repayment that completed this instalment (None while unpaid); the ledger
    # keeps it with amount_paid, reversals included, so the on-time rate never re-reads history.
    fully_paid_on: Mapped[date | None] = mapped_column(Date)

    loan: Mapped[Loan] = relationship(back_populates="instalments")

    @property
    def unpaid(self) -> int:
        """What is still owed on this instalment."""
        return self.amount_due - self.amount_paid


class Repayment(Base):
    """A payment by a member; its lines say how much went to each loan.

    A payment given without a loan reference fills the member's instalments oldest due date
    first across every active loan, so one payment may touch several loans: the per-loan
    amounts are its `RepaymentLine`s and one receipt covers them all.
    """

    __tablename__ = "repayment"
    __table_args__ = (Index("ix_repayment_member_paid_on", "member_id", "paid_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id"))  # set when a reference was given
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    source: Mapped[str] = mapped_column(String(12))
    external_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    receipt: Mapped[str | None] = mapped_column(String(12), unique=True)
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_declaration.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_by: Mapped[str | None] = mapped_column(String(80))
    reverse_reason: Mapped[str | None] = mapped_column(String(200))

    lines: Mapped[list[RepaymentLine]] = relationship(back_populates="repayment")


class RepaymentLine(Base):
    """The part of a repayment that went to one loan."""

    __tablename__ = "repayment_line"
    __table_args__ = (UniqueConstraint("repayment_id", "loan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repayment_id: Mapped[int] = mapped_column(ForeignKey("repayment.id"))
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    repayment: Mapped[Repayment] = relationship(back_populates="lines")
