"""What members report and declare: production reports and repayment declarations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.enums import DeclarationStatus


class ProductionReport(Base):
    """A member's quantity of one product for one ISO week; a later report supersedes it."""

    __tablename__ = "production_report"
    __table_args__ = (
        Index("ix_production_report_member_week", "member_id", "product_id", "iso_year", "iso_week"),
        Index("ix_production_report_week", "iso_year", "iso_week"),
        # One current report per member, product and week; a later one supersedes (docs/design.md,
        # "Production reports").
        Index(
            "uq_production_report_current",
            "member_id",
            "product_id",
            "iso_year",
            "iso_week",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(12))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(12), unique=True)
    # (sessionId, step) of the USSD hop that saved it: a replayed hop cannot save twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class RepaymentDeclaration(Base):
    """A member's USSD statement that they paid; a treasurer confirms (OUI) or rejects (NON)."""

    __tablename__ = "repayment_declaration"
    __table_args__ = (
        # The 4-digit code is unique among the cooperative's pending declarations only.
        Index(
            "uq_declaration_pending_code",
            "cooperative_id",
            "code",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "uq_declaration_pending_member",
            "member_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_declaration_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10), default=DeclarationStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class ProductionBaseline(Base):
    """A product's production in one calendar month of the reference period, imported, and its target.

    Where a month has no row, the baseline is derived from the reports of `PRODUCTION_BASELINE_YEAR`
    (see docs/coordinators.md, "Production against the doubling goal").
    """

    __tablename__ = "production_baseline"
    __table_args__ = (UniqueConstraint("product_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    month: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger)
    # None: twice the baseline.
    target: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
