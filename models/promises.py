"""Promises to pay (`PROMESSE`): one open promise per member, kept or broken by the repayments.

A promise is recorded by an officer for a member: an amount to pay by a date (1–30 days ahead).
It is **kept** as soon as the member's repayments dated from the day it was recorded to its
date (reversed ones excluded) reach the amount; otherwise it is **broken** the day after its
date. A new promise replaces the open one (`replaced`). While a promise is open and its date
not yet past, arrears reminders pause for that member; the date itself gets the promise's own
reminder (see docs/design.md, "Arrears, promises and the officers' digest").

Lifecycle: open → kept | broken | replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.ledger_tables import Repayment

# A promise further ahead than this is a plan, not a promise: the treasurer follows up sooner.
MAX_DAYS_AHEAD = 30


class PromiseStatus(StrEnum):
    """open → kept (paid in time) | broken (its date passed unpaid) | replaced (a newer promise)."""

    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    REPLACED = "replaced"


class Promise(Base):
    """A member's promise to pay `amount` by `due_on`, recorded by an officer."""

    __tablename__ = "promise"
    __table_args__ = (
        Index("ix_promise_member_status", "member_id", "status"),
        Index("ix_promise_status_due_on", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[date] = mapped_column(Date)
    # Local (Africa/Dakar) day it was recorded: repayments dated from then count towards it.
    recorded_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    status: Mapped[str] = mapped_column(String(10), default=PromiseStatus.OPEN)
    settled_on: Mapped[date | None] = mapped_column(Date)
    # What had been paid towards it when it was settled (kept, broken or replaced).
    paid: Mapped[int | None] = mapped_column(BigInteger)


def paid_towards(member_id: int, since: date, until: date):
    """Σ of the member's repayments dated in [since, until], reversals excluded (a scalar select)."""
    return (
        select(func.coalesce(func.sum(Repayment.amount), 0))
        .where(
            Repayment.member_id == member_id,
            Repayment.paid_on >= since,
            Repayment.paid_on <= until,
            Repayment.reversed_at.is_(None),
        )
        .scalar_subquery()
    )


def open_promise(session: Session, member_id: int) -> Promise | None:
    """The member's open promise, if any."""
    return session.scalar(
        select(Promise).where(Promise.member_id == member_id, Promise.status == PromiseStatus.OPEN)
    )


def last_promise(session: Session, member_id: int) -> Promise | None:
    """The member's most recent promise, whatever its status."""
    return session.scalar(
        select(Promise).where(Promise.member_id == member_id).order_by(Promise.id.desc()).limit(1)
    )


def paid_on_promise(session: Session, promise: Promise) -> int:
    """What the member has paid towards this promise so far."""
    return int(session.scalar(select(paid_towards(promise.member_id, promise.recorded_on, promise.due_on))))


@dataclass(frozen=True)
class Recorded:
    """A new promise and the one it replaced, if any."""

    promise: Promise
    replaced: Promise | None


def record_promise(
    session: Session,
    *,
    member_id: int,
    amount: int,
    due_on: date,
    today: date,
    now: datetime,
    recorded_by_id: int | None,
) -> Recorded:
    """Record a promise, replacing the member's open one; the caller checks the amount and date."""
    if amount <= 0:
        raise ValueError("a promise is for a positive amount")
    if not today < due_on or (due_on - today).days > MAX_DAYS_AHEAD:
        raise ValueError(f"a promise's date is 1 to {MAX_DAYS_AHEAD} days ahead")
    replaced = open_promise(session, member_id)
    if replaced is not None:
        replaced.paid = paid_on_promise(session, replaced)
        replaced.status = PromiseStatus.REPLACED
        replaced.settled_on = today
    promise = Promise(
        member_id=member_id,
        amount=amount,
        due_on=due_on,
        recorded_on=today,
        recorded_at=now,
        recorded_by_id=recorded_by_id,
        status=PromiseStatus.OPEN,
    )
    session.add(promise)
    session.flush()
    return Recorded(promise, replaced)


@dataclass(frozen=True)
class Settled:
    """How many open promises a settlement run found kept and broken."""

    kept: int
    broken: int


def settle(session: Session, today: date) -> Settled:
    """Mark open promises kept (paid in full) or broken (date passed unpaid); set-based, idempotent."""
    paid = paid_towards(Promise.member_id, Promise.recorded_on, Promise.due_on)
    kept = session.execute(
        update(Promise)
        .where(Promise.status == PromiseStatus.OPEN, paid >= Promise.amount)
        .values(status=PromiseStatus.KEPT, settled_on=today, paid=paid)
        .execution_options(synchronize_session=False)
    ).rowcount
    broken = session.execute(
        update(Promise)
        .where(Promise.status == PromiseStatus.OPEN, Promise.due_on < today)
        .values(status=PromiseStatus.BROKEN, settled_on=today, paid=paid)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Settled(kept=max(kept, 0), broken=max(broken, 0))
