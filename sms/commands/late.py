"""RETARDS: the officers' arrears list by SMS, one page at a time, or one member's late instalments.

`RETARDS` / `RETARDS n` answer page n of the list the weekly digest also uses (sms.arrears_list),
computed when asked from the sender's cooperative only. `RETARDS M0012` answers one member:
late instalments (loan, due date, unpaid), the last arrears reminder sent and the last promise,
within 2 SMS segments (the instalments that do not fit are counted, not listed).
"""

from __future__ import annotations

from sqlalchemy import func, select

from i18n.formatting import format_money, format_short_date
from i18n.gsm7 import segments
from models.arrears import members_in_arrears
from models.cooperative import Member
from models.enums import LoanStatus
from models.ledger_tables import Instalment, Loan
from models.messaging import ReminderSent
from models.promises import PromiseStatus, last_promise, paid_on_promise
from sms import arrears_list
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import Text, label, render, text
from sms.commands.request import Outcome, Request
from sms.commands.spec import Command

MAX_SEGMENTS = 2
PROMISE_STATUS = {
    PromiseStatus.OPEN: T.PROMISE_OPEN,
    PromiseStatus.KEPT: T.PROMISE_KEPT,
    PromiseStatus.BROKEN: T.PROMISE_BROKEN,
    PromiseStatus.REPLACED: T.PROMISE_REPLACED,
}


def late(req: Request, cmd: Command) -> Outcome:
    """A page of the cooperative's arrears list, or one member's late instalments, reminder and promise.

    Only active treasurers and the president get here (the registry checks `who` first).
    """
    sender = req.sender
    if cmd.member is not None:
        member = req.member(cmd.member)
        req.reply(*member_detail(req, member, sender.language))
        return Outcome(cmd.keyword, "replied", member.member_no)
    members = members_in_arrears(req.session, req.today, [sender.cooperative_id])
    pages = arrears_list.pages(sender.language, req.coop, members)
    if cmd.page > len(pages):
        raise Refusal("no_such_page", text(T.LATE_NO_PAGE, coop=req.coop, page=cmd.page, pages=len(pages)))
    req.out.reply_rendered(req.inbound.from_phone, sender, pages[cmd.page - 1].text)
    return Outcome(cmd.keyword, "replied", f"page {cmd.page}/{len(pages)}")


def member_detail(req: Request, member: Member, language: str) -> tuple[Text, ...]:
    """One member's arrears: total and days, late instalments, last arrears reminder, last promise."""
    session, today = req.session, req.today
    late_rows = session.execute(
        select(Loan.reference, Instalment.due_on, Instalment.amount_due - Instalment.amount_paid)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            Loan.member_id == member.id,
            Loan.status == LoanStatus.ACTIVE,
            Instalment.amount_paid < Instalment.amount_due,
            Instalment.due_on < today,
        )
        .order_by(Instalment.due_on, Loan.reference, Instalment.number)
    ).all()
    tail = _tail(req, member)
    if not late_rows:
        return (text(T.LATE_MEMBER_NONE, coop=req.coop, member=label(member)), *tail)
    overdue = sum(int(r[2]) for r in late_rows)
    head = text(
        T.LATE_MEMBER,
        coop=req.coop,
        member=label(member),
        overdue=format_money(overdue),
        days=(today - late_rows[0][1]).days,
    )
    items = [f"{ref} {format_short_date(due)} {format_money(int(unpaid))}" for ref, due, unpaid in late_rows]
    # As many instalments as fit in two segments with the rest; the others are counted.
    for shown in range(len(items), 0, -1):
        listed = ", ".join(items[:shown])
        more = len(items) - shown
        body = (
            head,
            text(T.LATE_ITEMS, items=listed),
            *([text(T.LATE_MORE, more=more)] if more else []),
            *tail,
        )
        if segments(render(language, *body)) <= MAX_SEGMENTS:
            return body
    return (head, text(T.LATE_MORE, more=len(items)), *tail)


def _tail(req: Request, member: Member) -> tuple[Text, ...]:
    """The last arrears reminder and the last promise, as sentences."""
    last_sent = req.session.scalar(
        select(func.max(ReminderSent.day))
        .join(Instalment, Instalment.id == ReminderSent.instalment_id)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(Loan.member_id == member.id, ReminderSent.rule.like("A%"))
    )
    tail = [
        text(T.LATE_LAST_REMINDER, day=format_short_date(last_sent))
        if last_sent
        else text(T.LATE_NO_REMINDER)
    ]
    promise = last_promise(req.session, member.id)
    if promise is not None:
        paid = promise.paid if promise.paid is not None else paid_on_promise(req.session, promise)
        tail.append(
            text(
                T.LATE_PROMISE,
                amount=format_money(promise.amount),
                day=format_short_date(promise.due_on),
                status=text(PROMISE_STATUS[PromiseStatus(promise.status)]),
                paid=format_money(paid),
            )
        )
    return tuple(tail)
