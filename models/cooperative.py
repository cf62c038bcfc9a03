"""Cooperatives, their members and their products."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from i18n.accents import strip_accents
from models.base import Base, UTCDateTime
from models.enums import Language, MemberStatus, Role


class Cooperative(Base):
    """A solidarity cooperative; `code` is the short name shown in SMS."""

    __tablename__ = "cooperative"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    commune: Mapped[str | None] = mapped_column(String(80))
    region: Mapped[str | None] = mapped_column(String(80))
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members: Mapped[list[Member]] = relationship(back_populates="cooperative")


@lru_cache(maxsize=8192)  # cooperative and product names repeat; member names need not fill memory
def name_key(name: str) -> str:
    """Matching key of a name: case, accents and repeated spaces ignored (Aïssatou  DIOP = aissatou diop)."""
    return " ".join(strip_accents(name).casefold().split())


def member_key(member_no: str) -> str:
    """Matching key of a member number: upper case, leading zeros of the digits dropped (m12 = M0012)."""
    value = member_no.strip().upper()
    match = re.fullmatch(r"([A-Z]*)-?0*(\d+)", value)
    if match:
        return f"{match[1]}{int(match[2])}"
    return value


class Member(Base):
    """A member; identity is (cooperative, member_no); one member per phone in this version."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "member_key"),
        Index("ix_member_cooperative_status", "cooperative_id", "status"),
        Index("ix_member_name_key", "name_key"),
        Index("ix_member_member_key", "member_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id"))
    member_no: Mapped[str] = mapped_column(String(20))
    member_key: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    # The name with case, accents and repeated spaces folded (`name_key`), for search;
    # kept in step with `name` on every insert and update (the listener below).
    name_key: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(12), default=Role.MEMBER)
    language: Mapped[str] = mapped_column(String(2), default=Language.FR)
    status: Mapped[str] = mapped_column(String(10), default=MemberStatus.ACTIVE)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    wrong_pins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cooperative: Mapped[Cooperative] = relationship(back_populates="members")

    @property
    def can_record_money(self) -> bool:
        """Treasurers and the president record repayments, deposits and withdrawals."""
        return self.role in (Role.TREASURER, Role.PRESIDENT)


@event.listens_for(Member, "before_insert")
@event.listens_for(Member, "before_update")
def _fold_name(_mapper, _connection, member: Member) -> None:
    member.name_key = name_key(member.name or "")


class Product(Base):
    """Something a cooperative produces, counted in whole units (kg, litre, sac, piece)."""

    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("cooperative_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id"))
    name: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
