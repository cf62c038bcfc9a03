"""A cooperative's members, one page at a time, with each one's money and state.

Set-based: one statement for the page of members, then one grouped statement per figure for
those members only (savings, active loans' arrears, last production report) — never a query per
member. Outstanding, overdue and days late follow `models.position` (the grouped
`active_loan_arrears`), so they are the figures the member reads on USSD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.activity import ProductionReport
from models.cooperative import Member
from models.ledger_tables import SavingsEntry
from models.paging import Page
from models.position import active_loan_arrears

PAGE_SIZE = 50


@dataclass
class MemberLine:
    """One member of the list."""

    id: int
    member_no: str
    name: str
    phone: str | None
    status: str
    pin: str  # "set", "none" or "locked"
    opted_out: bool
    savings: int = 0
    outstanding: int = 0
    overdue: int = 0
    days_late: int = 0
    last_report_at: datetime | None = None


def pin_state(pin_hash: str | None, locked: bool) -> str:
    """What the coordinator needs to know of a PIN: set, not chosen yet, or locked."""
    if locked:
        return "locked"
    return "set" if pin_hash else "none"


def cooperative_members(
    session: Session, cooperative_id: int, today: date, page: str | int | None = 1, size: int = PAGE_SIZE
) -> tuple[list[MemberLine], Page]:
    """One page of the cooperative's members by member number, with their figures."""
    total = session.scalar(
        select(func.count()).select_from(Member).where(Member.cooperative_id == cooperative_id)
    )
    chosen = Page.of(page, size, total or 0)
    rows = session.execute(
        select(
            Member.id,
            Member.member_no,
            Member.name,
            Member.phone,
            Member.status,
            Member.pin_hash.is_not(None),
            Member.locked,
            Member.opted_out,
        )
        .where(Member.cooperative_id == cooperative_id)
        .order_by(func.length(Member.member_key), Member.member_key, Member.id)
        .offset(chosen.offset)
        .limit(size)
    )
    lines = {
        row[0]: MemberLine(
            id=row[0],
            member_no=row[1],
            name=row[2],
            phone=row[3],
            status=row[4],
            pin=pin_state("x" if row[5] else None, bool(row[6])),
            opted_out=bool(row[7]),
        )
        for row in rows
    }
    ids = list(lines)
    if not ids:
        return [], chosen
    for member_id, amount in session.execute(
        select(SavingsEntry.member_id, func.sum(SavingsEntry.amount))
        .where(SavingsEntry.member_id.in_(ids))
        .group_by(SavingsEntry.member_id)
    ):
        lines[member_id].savings = int(amount or 0)
    for row in active_loan_arrears(session, today, [cooperative_id], member_ids=ids):
        line = lines[row.member_id]
        line.outstanding += row.arrears.outstanding
        line.overdue += row.arrears.overdue
        line.days_late = max(line.days_late, row.arrears.days_late)
    for member_id, last in session.execute(
        select(ProductionReport.member_id, func.max(ProductionReport.reported_at))
        .where(ProductionReport.member_id.in_(ids))
        .group_by(ProductionReport.member_id)
    ):
        lines[member_id].last_report_at = last
    return list(lines.values()), chosen
