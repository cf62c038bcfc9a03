"""The SMS a PIN lock causes: the cooperative's treasurers (the president when there is none) are told.

The lock itself is models.pin's (`check_pin` says which entry locked); this module writes the
notice, in the same transaction, through the outbox. It names the member and the exact command
that clears the PIN, since the member locked out is told to see their treasurer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from models.cooperative import Cooperative, Member
from models.enums import MemberStatus, Role, SmsKind
from sms.commands import texts as T
from sms.commands.messenger import Messenger, label, text
from sms.declarations import after_quiet_hours


def alert_lock(session: Session, member_id: int, *, now: datetime, config: Config) -> int:
    """Tell the active treasurers (else the president) that this member is locked; the SMS count."""
    member = session.get(Member, member_id)
    officers = list(
        session.scalars(
            select(Member)
            .where(
                Member.cooperative_id == member.cooperative_id,
                Member.role.in_((Role.TREASURER, Role.PRESIDENT)),
                Member.status == MemberStatus.ACTIVE,
                Member.phone.is_not(None),
                Member.id != member.id,
            )
            .order_by(Member.id)
        )
    )
    treasurers = [o for o in officers if o.role == Role.TREASURER]
    told = treasurers or officers
    notice = text(
        T.PIN_LOCKED_OFFICER,
        coop=session.get(Cooperative, member.cooperative_id).code,
        member=label(member),
        member_no=member.member_no,
    )
    out = Messenger(session, now, config)
    send_after = after_quiet_hours(now, config)
    return sum(
        out.tell(officer, SmsKind.NOTICE, notice, send_after=send_after) is not None for officer in told
    )
