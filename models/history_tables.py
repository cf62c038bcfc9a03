"""Month-end portfolio snapshots: one row per cooperative and month, so history is read, not replayed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class PortfolioSnapshot(Base):
    """A cooperative's portfolio at the end of a month's last day (see docs/figures.md)."""

    __tablename__ = "portfolio_snapshot"
    __table_args__ = (UniqueConstraint("as_of", "cooperative_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    loans: Mapped[int] = mapped_column(Integer)
    loans_in_arrears: Mapped[int] = mapped_column(Integer)
    members_in_arrears: Mapped[int] = mapped_column(Integer)
    outstanding: Mapped[int] = mapped_column(BigInteger)
    overdue: Mapped[int] = mapped_column(BigInteger)
    par1: Mapped[int] = mapped_column(BigInteger)
    par30: Mapped[int] = mapped_column(BigInteger)
    par90: Mapped[int] = mapped_column(BigInteger)
    # Outstanding by days late of each loan, the ageing buckets of the dashboard.
    age_on_time: Mapped[int] = mapped_column(BigInteger)
    age_1_30: Mapped[int] = mapped_column(BigInteger)
    age_31_60: Mapped[int] = mapped_column(BigInteger)
    age_61_90: Mapped[int] = mapped_column(BigInteger)
    age_over_90: Mapped[int] = mapped_column(BigInteger)
    written_off: Mapped[int] = mapped_column(BigInteger)
    recoveries: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
