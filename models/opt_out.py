"""A member's opt-out from reminders and announcements (receipts and notices still go out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models.audit import actor_of, record
from models.cooperative import Member
from models.enums import Source


def set_opt_out(
    session: Session, member: Member, opted_out: bool, now: datetime, source: str = Source.SMS
) -> bool:
    """Set the member's opt-out flag with an audit event; False when it already had that value."""
    if member.opted_out == opted_out:
        return False
    before = {"opted_out": member.opted_out}
    member.opted_out = opted_out
    member.updated_at = now
    record(
        session,
        actor=actor_of(member),
        action="sms.opt_out" if opted_out else "sms.opt_in",
        target=f"member:{member.id}",
        source=source,
        at=now,
        before=before,
        after={"opted_out": opted_out},
        member_id=member.id,
    )
    return True
