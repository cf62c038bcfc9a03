"""Writing audit events, always in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from models.messaging import AuditEvent


def actor_of(member=None, *, user: str | None = None) -> str:
    """How an actor is written in the audit log: member:ID, user:EMAIL, or system."""
    if member is not None:
        return member_actor(member.id)
    if user:
        return f"user:{user}"
    return "system"


def member_actor(member_id: int) -> str:
    """A member as an actor of the audit log, from the id alone."""
    return f"member:{member_id}"


def _row(
    *,
    actor: str,
    action: str,
    target: str,
    source: str,
    at: datetime,
    before: dict | None = None,
    after: dict | None = None,
    member_id: int | None = None,
    reason: str | None = None,
) -> dict:
    return {
        "at": at,
        "actor": actor[:80],
        "action": action,
        "target": target[:80],
        "source": source,
        "before": before,
        "after": after,
        "member_id": member_id,
        "reason": reason[:300] if reason else None,
    }


def record(session: Session, **event) -> AuditEvent:
    """Add one audit event to the session; it commits (or not) with the change it describes.

    `event`: actor, action, target, source, at, and optionally before, after, member_id, reason.
    """
    added = AuditEvent(**_row(**event))
    session.add(added)
    return added


_INSERT = insert(AuditEvent)


def write(session: Session, **event) -> None:
    """Insert one audit event now, in the session's transaction, by a statement built once.

    For a USSD hop's one write: no ORM object to track and flush (the unit of work costs more
    CPU than the INSERT). It commits (or not) with the change it describes, like `record`'s.
    """
    session.flush()  # anything pending first, as the ORM would order it
    session.connection().execute(_INSERT, _row(**event))


def events(
    session: Session,
    *,
    member_id: int | None = None,
    since: datetime | None = None,
    action: str | None = None,
    limit: int | None = 100,
) -> list[AuditEvent]:
    """Audit events, newest first; `action` matches itself and its sub-actions (`loan` → `loan.*`)."""
    stmt = select(AuditEvent)
    if member_id is not None:
        stmt = stmt.where(AuditEvent.member_id == member_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if action:
        family = AuditEvent.action.startswith(f"{action}.", autoescape=True)
        stmt = stmt.where(or_(AuditEvent.action == action, family))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
