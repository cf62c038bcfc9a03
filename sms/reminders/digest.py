"""The officers' weekly arrears digest: every Monday, to each active treasurer and president.

One SMS of at most 2 segments per officer, in the officer's language: the totals first, then the
members to follow up (new in arrears this week, crossing 30/60/90 days late this week, or whose
promise broke this week), then the others by days late, ending with the exact `RETARDS n` that
continues the list (the page of the first member left out, from sms.arrears_list). None for a
cooperative where nobody is late. Kind `digest`: held by quiet hours and cancelled once that
day's quiet hours begin, never suppressed by STOP, counted in the budget but never cancelled for
it. Each (officer, day) is written once (a unique DigestSent row), so repeated ticks add nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from i18n.catalog import N_, gettext
from i18n.formatting import format_money, format_short_date
from i18n.gsm7 import fold, septets
from models.arrears import MILESTONES, MemberArrears, OfficerContact, members_in_arrears, officers
from models.cooperative import Cooperative
from models.enums import CancelReason, SmsKind, SmsStatus
from models.messaging import DigestSent, OutboundSms
from models.promises import Promise, PromiseStatus
from sms import arrears_list
from sms.outbox import mark_outbox_changed
from sms.reminders.messages import language_of, segments
from sms.sending_hours import SendingHours

MONDAY = 0
MAX_SEPTETS = 2 * 153
WEEK = 7

HEADER = N_("Mbolo {coop} {date}: {count} membres en retard, {overdue} au total.")
FOLLOW_UP = N_("A suivre:")
OTHERS = N_("Autres:")


@dataclass(frozen=True)
class Digest:
    """One officer's digest of the day."""

    officer: OfficerContact
    coop_code: str
    language: str
    text: str
    segments: int


def needs_follow_up(member: MemberArrears, broken: set[int]) -> bool:
    """New in arrears this week, crossing 30/60/90 days this week, or a promise broken this week."""
    if member.days_late <= WEEK or member.member_id in broken:
        return True
    return any(member.days_late - WEEK < mark <= member.days_late for mark in MILESTONES)


def render(language: str, coop_code: str, day: date, members: list[MemberArrears], broken: set[int]) -> str:
    """The digest text: totals, follow-ups, others, `RETARDS n` — within 2 segments (GSM-7)."""
    coop = fold(coop_code)
    header = fold(
        gettext(language, HEADER).format(
            coop=coop,
            date=format_short_date(day),
            count=len(members),
            overdue=format_money(sum(m.overdue for m in members)),
        )
    )
    urgent: list[MemberArrears] = []
    others: list[MemberArrears] = []
    for member in members:
        (urgent if needs_follow_up(member, broken) else others).append(member)
    pages = arrears_list.pages(language, coop_code, members)
    page_of = {m.member_id: page.number for page in pages for m in page.members}
    shown: set[int] = set()
    parts = [header]
    used = septets(header)  # folded text: the parts' septets plus one per newline
    for label, group in ((FOLLOW_UP, urgent), (OTHERS, others)):
        if not group:
            continue
        # "Others" only means something after a follow-up list.
        labelled = label == OTHERS and not urgent
        for member in group:
            candidate = [fold(gettext(language, label))] if not labelled else []
            candidate.append(arrears_list.line(language, member))
            size = sum(septets(text) + 1 for text in candidate)
            closing = _closing(language, members, shown | {member.member_id}, page_of)
            if used + size + 1 + septets(closing) > MAX_SEPTETS:
                break
            parts += candidate
            used += size
            labelled = True
            shown.add(member.member_id)
    parts.append(_closing(language, members, shown, page_of))
    return "\n".join(parts)


def _closing(language: str, members: list[MemberArrears], taken: set[int], page_of: dict[int, int]) -> str:
    """`Suite: RETARDS n`, n = the page of the first member (in list order) the digest leaves out."""
    missing = next((m for m in members if m.member_id not in taken), None)
    page = page_of.get(missing.member_id, 1) if missing else 1
    return fold(gettext(language, arrears_list.MORE).format(next=page))


def compose(session: Session, day: date, skip: set[int] | None = None) -> list[Digest]:
    """The digests due on `day` (a Monday), one per active officer of each cooperative with arrears."""
    if day.weekday() != MONDAY:
        return []
    late = members_in_arrears(session, day)
    if not late:
        return []
    by_coop: dict[int, list[MemberArrears]] = defaultdict(list)
    for member in late:
        by_coop[member.cooperative_id].append(member)
    codes = dict(
        session.execute(select(Cooperative.id, Cooperative.code).where(Cooperative.id.in_(by_coop))).all()
    )
    broken = set(
        session.scalars(
            select(Promise.member_id).where(
                Promise.status == PromiseStatus.BROKEN,
                Promise.due_on >= day - timedelta(days=WEEK + 1),
                Promise.due_on < day,
            )
        )
    )
    rendered: dict[tuple[int, str], str] = {}
    digests = []
    for officer in officers(session, sorted(by_coop)):
        if skip and officer.member_id in skip:
            continue
        language = language_of(officer.language)
        key = (officer.cooperative_id, language)
        if key not in rendered:
            rendered[key] = render(
                language, codes[officer.cooperative_id], day, by_coop[officer.cooperative_id], broken
            )
        text = rendered[key]
        digests.append(Digest(officer, codes[officer.cooperative_id], language, text, segments(text)))
    return digests


def write_digests(
    session: Session, day: date, now: datetime, hours: SendingHours, cost_per_segment: int
) -> int:
    """Write the day's digests not yet written (outbox + DigestSent); return how many were written."""
    if day.weekday() != MONDAY:
        return 0
    done = set(session.scalars(select(DigestSent.member_id).where(DigestSent.day == day)))
    digests = compose(session, day, skip=done)
    if not digests:
        return 0
    send_at = hours.reminder_time(day, now)
    status = SmsStatus.QUEUED if send_at else SmsStatus.CANCELLED
    reason = None if send_at else str(CancelReason.EXPIRED)
    when = send_at or now
    table = OutboundSms.__table__
    rows = [
        {
            "to": d.officer.phone,
            "text": d.text,
            "kind": str(SmsKind.DIGEST),
            "language": d.language,
            "status": str(status),
            "failure_reason": reason,
            "cooperative_id": d.officer.cooperative_id,
            "member_id": d.officer.member_id,
            "attempts": 0,
            "send_after": when,
            "next_attempt_at": when,
            "segments": d.segments,
            "cost": d.segments * cost_per_segment if send_at else 0,
            "created_at": now,
            "updated_at": now,
        }
        for d in digests
    ]
    ids = session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).all()
    session.execute(
        DigestSent.__table__.insert(),
        [
            {
                "cooperative_id": d.officer.cooperative_id,
                "member_id": d.officer.member_id,
                "day": day,
                "outbound_sms_id": i,
            }
            for d, i in zip(digests, ids, strict=True)
        ],
    )
    mark_outbox_changed(session)
    return len(digests)
