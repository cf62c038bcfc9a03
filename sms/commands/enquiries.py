"""SOLDE and AIDE: what a sender asks to know, answered within the reply limits.

An officer's SOLDE names any member of the cooperative; anyone else's SOLDE gives their own
figures, each part only when it applies (no empty placeholder). AIDE lists what this sender may
text, and for a member the USSD code to dial.
"""

from __future__ import annotations

from i18n.formatting import format_money, format_short_date
from models.declarations import pending_of
from models.enums import MemberStatus
from models.position import member_position
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import Text, label, text
from sms.commands.request import Outcome, Request
from sms.commands.spec import Command


def balance(req: Request, cmd: Command) -> Outcome:
    """Officers: any member's savings, outstanding and days late; anyone else: their own figures."""
    if req.sender is None:
        raise Refusal("not_registered", text(T.NOT_REGISTERED))
    if cmd.member is None:
        return _own_balance(req, cmd)
    if not req.sender.can_record_money or req.sender.status != MemberStatus.ACTIVE:
        if req.member(cmd.member).id == req.sender.id:
            return _own_balance(req, cmd)
        raise Refusal("not_allowed", text(T.NOT_YOUR_BALANCE, coop=req.coop))
    member = req.member(cmd.member)
    position = member_position(req.session, member.id, req.today)
    texts = [
        text(
            T.BALANCE,
            coop=req.coop,
            member=label(member),
            savings=format_money(position.savings),
            outstanding=format_money(position.outstanding),
            days=position.days_late,
        )
    ]
    pending = pending_of(req.session, member.id)
    if pending is not None:
        texts.append(text(T.BALANCE_PENDING, amount=format_money(pending.amount), code=pending.code))
    req.reply(*texts)
    return Outcome(cmd.keyword, "replied")


def _own_balance(req: Request, cmd: Command) -> Outcome:
    """A member's own savings, outstanding, next instalment and overdue, each part only when it applies."""
    member = req.sender
    position = member_position(req.session, member.id, req.today)
    texts = [
        text(
            T.MY_BALANCE,
            coop=req.coop,
            member=label(member),
            savings=format_money(position.savings),
            outstanding=format_money(position.outstanding),
        )
    ]
    if position.next_due is not None:
        texts.append(
            text(
                T.MY_NEXT_DUE,
                amount=format_money(position.next_due.unpaid),
                day=format_short_date(position.next_due.due_on),
            )
        )
    if position.overdue:
        texts.append(text(T.MY_OVERDUE, amount=format_money(position.overdue), days=position.days_late))
    pending = pending_of(req.session, member.id)
    if pending is not None:
        texts.append(text(T.BALANCE_PENDING, amount=format_money(pending.amount), code=pending.code))
    req.reply(*texts)
    return Outcome(cmd.keyword, "replied", "own")


def help_texts(req: Request) -> tuple[Text, ...]:
    """The commands this sender may use."""
    if req.sender is None:
        return (text(T.NOT_REGISTERED),)
    if req.sender.can_record_money and req.sender.status == MemberStatus.ACTIVE:
        return (text(T.HELP_RECORDER),)
    return (text(T.HELP_MEMBER, coop=req.coop, ussd=req.ussd),)


def aide(req: Request, cmd: Command) -> Outcome:
    """List the commands this sender may use."""
    req.reply(*help_texts(req))
    return Outcome(cmd.keyword, "replied")
