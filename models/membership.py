"""Changes to a member's standing made by the coordinator: a new phone, deactivation.

Each stages its change and its audit event on the session and returns what changed; the caller
commits, together with the SMS the change causes (sms/notices.py), in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import audit
from models.cooperative import Cooperative, Member
from models.directory import find_phone_holder
from models.enums import MemberStatus
from models.errors import Refused, Unchanged


@dataclass(frozen=True)
class PhoneChange:
    """A member moved from `old` (None: had no phone) to `new`."""

    member: Member
    old: str | None
    new: str


def set_phone(
    session: Session, member: Member, phone: str, *, reason: str, actor: str, source: str, now: datetime
) -> PhoneChange:
    """Move `member` to `phone` (E.164) and clear the PIN; refused when another member holds it."""
    holder = find_phone_holder(session, phone)
    if holder is not None and holder.id != member.id:
        coop = session.get(Cooperative, holder.cooperative_id)
        raise Refused("phone_taken", phone=phone, member_no=holder.member_no, coop=coop.name)
    if member.phone == phone:
        raise Unchanged(f"member {member.member_no} already has {phone}: nothing changed")
    old = member.phone
    before = {"phone": old, "pin": "set" if member.pin_hash else "none", "locked": member.locked}
    member.phone = phone
    # The new phone starts like a new member: the first dial asks to choose a PIN.
    member.pin_hash = None
    member.wrong_pins = 0
    member.locked = False
    member.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="member.set_phone",
        target=f"member:{member.id}",
        source=source,
        at=now,
        member_id=member.id,
        before=before,
        after={"phone": phone, "pin": "cleared", "locked": False},
        reason=reason,
    )
    return PhoneChange(member, old, phone)


def deactivate(
    session: Session, member: Member, *, reason: str, actor: str, source: str, now: datetime
) -> None:
    """Mark a member inactive: no broadcasts, USSD balance only; reminders go on while a loan is active."""
    if member.status == MemberStatus.INACTIVE:
        raise Unchanged(f"member {member.member_no} is already inactive: nothing changed")
    member.status = MemberStatus.INACTIVE
    member.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="member.deactivate",
        target=f"member:{member.id}",
        source=source,
        at=now,
        member_id=member.id,
        before={"status": MemberStatus.ACTIVE},
        after={"status": MemberStatus.INACTIVE},
        reason=reason,
    )
