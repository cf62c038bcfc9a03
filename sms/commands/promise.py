"""PROMESSE: an officer records a member's promise to pay an amount by a date (1 to 30 days ahead).

The promise pauses the member's arrears reminders until its date, which gets the promise's own
reminder (models.promises, sms.reminders). One open promise per member: a new one replaces it
and the reply says so. The amount is at most what the member owes; the PAY rules on who may act
apply (own cooperative only, never on oneself). The promise, its audit event, the officer's
reply and the member's SMS are written in one transaction.
"""

from __future__ import annotations

from i18n.formatting import format_money, format_short_date
from models import audit
from models.enums import SmsKind
from models.position import member_position
from models.promises import record_promise
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import label, text
from sms.commands.request import Outcome, Request
from sms.commands.spec import Command


def promise(req: Request, cmd: Command) -> Outcome:
    """Record the promise (replacing an open one); reply to the officer and tell the member."""
    officer = req.sender  # an active treasurer or president: the registry checks `who` first
    member = req.member(cmd.member, lock=True)
    req.not_own(member)
    outstanding = member_position(req.session, member.id, req.today).outstanding
    if outstanding == 0:
        raise Refusal("no_active_loan", text(T.NO_ACTIVE_LOAN, coop=req.coop, member=label(member)))
    if cmd.amount > outstanding:
        raise Refusal(
            "too_much",
            text(
                T.TOO_MUCH,
                coop=req.coop,
                amount=format_money(cmd.amount),
                member=label(member),
                remaining=format_money(outstanding),
            ),
        )
    recorded = record_promise(
        req.session,
        member_id=member.id,
        amount=cmd.amount,
        due_on=cmd.promise_on,
        today=req.today,
        now=req.now,
        recorded_by_id=officer.id,
    )
    replaced = recorded.replaced
    audit.record(
        req.session,
        actor=audit.actor_of(officer),
        action="promise.record",
        target=f"member:{member.id}",
        source=req.source,
        at=req.now,
        member_id=member.id,
        before={"promise": replaced.id, "amount": replaced.amount, "due_on": replaced.due_on.isoformat()}
        if replaced is not None
        else None,
        after={"promise": recorded.promise.id, "amount": cmd.amount, "due_on": cmd.promise_on.isoformat()},
    )
    values = {
        "coop": req.coop,
        "member": label(member),
        "amount": format_money(cmd.amount),
        "day": format_short_date(cmd.promise_on),
    }
    reply = [text(T.PROMISE_RECORDED, **values)]
    if replaced is not None:
        reply.append(
            text(
                T.PROMISE_REPLACES,
                amount=format_money(replaced.amount),
                day=format_short_date(replaced.due_on),
            )
        )
    req.reply(*reply)
    req.out.tell(member, SmsKind.NOTICE, text(T.PROMISE_MEMBER, treasurer=label(officer), **values))
    return Outcome(cmd.keyword, "done", str(recorded.promise.id))
