"""The overdue list: members with something late, most days late first, with their last reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative, Member
from models.enums import SmsKind
from models.messaging import OutboundSms
from models.position import active_loan_arrears


@dataclass(frozen=True)
class OverdueLine:
    """A member with something late, for a treasurer to follow up."""

    member_id: int
    cooperative: str
    member_no: str
    name: str
    phone: str | None
    overdue: int
    outstanding: int
    days_late: int
    opted_out: bool
    last_reminder_at: datetime | None
    last_reminder_status: str | None


def overdue_list(
    session: Session, today: date, cooperative_id: int | None = None, cooperative_ids: list[int] | None = None
) -> list[OverdueLine]:
    """Members with an overdue amount, most days late first, with their last reminder.

    One cooperative (`cooperative_id`), some (`cooperative_ids`: a coordinator's region), or all.

    A member's figures add up their loans' arrears (models.position): overdue and outstanding are
    the sums, days late the largest, which is today − the oldest unpaid due date of all the loans.
    """
    ids = [cooperative_id] if cooperative_id is not None else cooperative_ids
    figures: dict[int, list[int]] = {}
    for row in active_loan_arrears(session, today, ids):
        overdue, outstanding, days = figures.setdefault(row.member_id, [0, 0, 0])
        figures[row.member_id] = [
            overdue + row.arrears.overdue,
            outstanding + row.arrears.outstanding,
            max(days, row.arrears.days_late),
        ]
    late = {mid for mid, (overdue, _, _) in figures.items() if overdue > 0}
    # Scoped by cooperative, not by IN (…) lists of ids: the overall list may hold tens of thousands.
    last_ids = (
        select(func.max(OutboundSms.id))
        .where(OutboundSms.kind == SmsKind.REMINDER, OutboundSms.member_id.is_not(None))
        .group_by(OutboundSms.member_id)
    )
    people_stmt = select(
        Member.id, Cooperative.name, Member.member_no, Member.name, Member.phone, Member.opted_out
    ).join(Cooperative, Cooperative.id == Member.cooperative_id)
    if ids is not None:
        last_ids = last_ids.where(OutboundSms.cooperative_id.in_(ids))
        people_stmt = people_stmt.where(Member.cooperative_id.in_(ids))
    reminders = {
        member_id: (created_at, status)
        for member_id, created_at, status in session.execute(
            select(OutboundSms.member_id, OutboundSms.created_at, OutboundSms.status).where(
                OutboundSms.id.in_(last_ids)
            )
        )
        if member_id in late
    }
    people = [row for row in session.execute(people_stmt) if row[0] in late]
    lines = []
    for member_id, coop_name, member_no, name, phone, opted_out in people:
        overdue, outstanding, days = figures[member_id]
        at, status = reminders.get(member_id, (None, None))
        lines.append(
            OverdueLine(
                member_id=member_id,
                cooperative=coop_name,
                member_no=member_no,
                name=name,
                phone=phone,
                overdue=overdue,
                outstanding=outstanding,
                days_late=days,
                opted_out=bool(opted_out),
                last_reminder_at=at,
                last_reminder_status=status,
            )
        )
    lines.sort(key=lambda line: (-line.days_late, -line.overdue, line.cooperative, line.member_no))
    return lines
