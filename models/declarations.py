"""Repayment declarations: a member says "I paid"; a treasurer confirms (OUI) or rejects (NON).

Lifecycle (DeclarationStatus): pending → confirmed | rejected | expired (72 h) | replaced (the
member declared again). One pending declaration per member and a 4-digit code unique among the
cooperative's pending declarations, both held by partial unique indexes. These functions change
the session only; the SMS that tell people about it are the caller's (sms.declarations).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import audit
from models.activity import RepaymentDeclaration
from models.cooperative import Member
from models.database import for_update, lock_member
from models.enums import DeclarationStatus, MemberStatus, Role, Source
from models.errors import Refused
from models.position import member_position

REMIND_AFTER = timedelta(hours=24)
EXPIRE_AFTER = timedelta(hours=72)
# A code decided recently is not handed out again, so that a late "OUI 1234" meant for the old
# declaration finds "already confirmed" instead of confirming someone else's new one.
CODE_COOLDOWN = timedelta(days=7)
CODES = range(1000, 10000)  # no leading zero: "OUI 0123" is too easily typed "OUI 123"
CODE_ATTEMPTS = 5

_rng = random.SystemRandom()


@dataclass(frozen=True)
class Declared:
    """The pending declaration, the one it replaced (if any), and whether this call created it."""

    declaration: RepaymentDeclaration
    replaced: RepaymentDeclaration | None
    created: bool


def _locked(session: Session, stmt):
    return for_update(session, stmt).execution_options(populate_existing=True)


def pending_of(session: Session, member_id: int, *, lock: bool = False) -> RepaymentDeclaration | None:
    """The member's pending declaration, if any (locked FOR UPDATE on PostgreSQL when asked)."""
    stmt = select(RepaymentDeclaration).where(
        RepaymentDeclaration.member_id == member_id,
        RepaymentDeclaration.status == DeclarationStatus.PENDING,
    )
    return session.scalar(_locked(session, stmt) if lock else stmt)


def declare(
    session: Session,
    *,
    member: Member,
    amount: int,
    now: datetime,
    today: date,
    idempotency_key: str | None = None,
    rng: random.Random | None = None,
    source: str = Source.USSD,
) -> Declared:
    """Record a pending declaration (replacing the member's previous one) with a fresh code."""
    if idempotency_key:
        existing = session.scalar(
            select(RepaymentDeclaration).where(RepaymentDeclaration.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return Declared(existing, None, created=False)
    if member.status != MemberStatus.ACTIVE:
        raise Refused("inactive")
    if amount <= 0:
        raise Refused("amount", amount=amount)
    # Serialises a member's declarations with the money commands on that member.
    lock_member(session, member.id)
    position = member_position(session, member.id, today)
    if position.active_loans == 0 or position.outstanding == 0:
        raise Refused("no_active_loan")
    if amount > position.outstanding:
        raise Refused("too_much", remaining=position.outstanding)
    replaced = pending_of(session, member.id, lock=True)
    if replaced is not None:
        replaced.status = DeclarationStatus.REPLACED
        replaced.decided_at = now
        session.flush()
    declaration = _insert_with_code(session, member, amount, now, idempotency_key, rng or _rng)
    audit.record(
        session,
        actor=audit.actor_of(member),
        action="declaration.create",
        target=f"declaration:{declaration.id}",
        source=source,
        at=now,
        member_id=member.id,
        after={"amount": amount, "code": declaration.code, "replaces": replaced.code if replaced else None},
    )
    return Declared(declaration, replaced, created=True)


def _insert_with_code(
    session: Session, member: Member, amount: int, now: datetime, key: str | None, rng: random.Random
) -> RepaymentDeclaration:
    """Insert with a code free in the cooperative; a concurrent insert taking it means another try."""
    for _ in range(CODE_ATTEMPTS):
        code = _free_code(session, member.cooperative_id, now, rng)
        declaration = RepaymentDeclaration(
            cooperative_id=member.cooperative_id,
            member_id=member.id,
            amount=amount,
            code=code,
            status=DeclarationStatus.PENDING,
            created_at=now,
            idempotency_key=key,
        )
        try:
            with session.begin_nested():
                session.add(declaration)
                session.flush()
        except IntegrityError:
            # The savepoint's rollback leaves `declaration` transient; draw another code.
            continue
        return declaration
    raise Refused("no_code")


def _free_code(session: Session, cooperative_id: int, now: datetime, rng: random.Random) -> str:
    """A code no pending declaration of the cooperative holds, preferring codes not used for a week."""
    rows = session.execute(
        select(RepaymentDeclaration.code, RepaymentDeclaration.status).where(
            RepaymentDeclaration.cooperative_id == cooperative_id,
            or_(
                RepaymentDeclaration.status == DeclarationStatus.PENDING,
                RepaymentDeclaration.created_at >= now - CODE_COOLDOWN,
                RepaymentDeclaration.decided_at >= now - CODE_COOLDOWN,
            ),
        )
    ).all()
    pending = {code for code, status in rows if status == DeclarationStatus.PENDING}
    recent = {code for code, _ in rows}
    fresh = [str(c) for c in CODES if str(c) not in recent]
    if not fresh:
        fresh = [str(c) for c in CODES if str(c) not in pending]
    if not fresh:
        raise Refused("no_code")
    return rng.choice(fresh)


def find_by_code(session: Session, cooperative_id: int, code: str) -> RepaymentDeclaration | None:
    """The cooperative's pending declaration with this code, else its latest one with that code."""
    # Not locked: callers lock the member, then the declaration (the order of every money change).
    pending = session.scalar(
        select(RepaymentDeclaration).where(
            RepaymentDeclaration.cooperative_id == cooperative_id,
            RepaymentDeclaration.code == code,
            RepaymentDeclaration.status == DeclarationStatus.PENDING,
        )
    )
    if pending is not None:
        return pending
    return session.scalar(
        select(RepaymentDeclaration)
        .where(RepaymentDeclaration.cooperative_id == cooperative_id, RepaymentDeclaration.code == code)
        .order_by(RepaymentDeclaration.created_at.desc(), RepaymentDeclaration.id.desc())
        .limit(1)
    )


def decide(
    session: Session,
    declaration: RepaymentDeclaration,
    *,
    status: DeclarationStatus,
    by: Member | None,
    now: datetime,
    source: str = Source.SMS,
) -> None:
    """Move a pending declaration to confirmed, rejected or expired; anything else is refused."""
    if declaration.status != DeclarationStatus.PENDING:
        raise Refused("already_decided", status=declaration.status)
    declaration.status = status
    declaration.decided_at = now
    declaration.decided_by_id = by.id if by is not None else None
    audit.record(
        session,
        actor=audit.actor_of(by),
        action=f"declaration.{status}",
        target=f"declaration:{declaration.id}",
        source=source,
        at=now,
        member_id=declaration.member_id,
        before={"status": DeclarationStatus.PENDING},
        after={"status": str(status), "amount": declaration.amount, "code": declaration.code},
    )
    session.flush()


def due_for_expiry(session: Session, now: datetime, limit: int = 500) -> list[RepaymentDeclaration]:
    """Pending declarations older than 72 h (locked, skipping rows an answer holds on PostgreSQL)."""
    stmt = (
        select(RepaymentDeclaration)
        .where(
            RepaymentDeclaration.status == DeclarationStatus.PENDING,
            RepaymentDeclaration.created_at <= now - EXPIRE_AFTER,
        )
        .order_by(RepaymentDeclaration.created_at)
        .limit(limit)
    )
    return list(session.scalars(for_update(session, stmt, skip_locked=True)))


def due_for_reminder(session: Session, now: datetime, limit: int = 500) -> list[RepaymentDeclaration]:
    """Pending declarations older than 24 h whose treasurers have not been reminded yet."""
    stmt = (
        select(RepaymentDeclaration)
        .where(
            RepaymentDeclaration.status == DeclarationStatus.PENDING,
            RepaymentDeclaration.created_at <= now - REMIND_AFTER,
            RepaymentDeclaration.reminded_at.is_(None),
        )
        .order_by(RepaymentDeclaration.created_at)
        .limit(limit)
    )
    return list(session.scalars(for_update(session, stmt, skip_locked=True)))


def answerers(session: Session, declaration: RepaymentDeclaration) -> list[Member]:
    """Who may answer: the cooperative's active treasurers and president, not the declarant."""
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.cooperative_id == declaration.cooperative_id,
                Member.role.in_((Role.TREASURER, Role.PRESIDENT)),
                Member.status == MemberStatus.ACTIVE,
                Member.id != declaration.member_id,
            )
            .order_by(Member.id)
        )
    )
