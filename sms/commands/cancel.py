"""ANNULE: the recorder of a repayment, deposit or withdrawal reverses it within 24 hours.

Older entries, and entries not recorded by SMS, are the coordinator's (`repayments reverse`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from i18n.formatting import format_money
from models import audit, codes
from models.cooperative import Member
from models.enums import SmsKind
from models.errors import Refused
from models.ledger import reverse_repayment, reverse_savings
from models.ledger_tables import Repayment, SavingsEntry
from models.position import member_position
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import label, text
from sms.commands.request import Outcome, Request, both_sides
from sms.commands.spec import Command

CANCEL_WINDOW = timedelta(hours=24)


def cancel(req: Request, cmd: Command) -> Outcome:
    """Reverse a repayment (R…) or a deposit/withdrawal (D…/W…) its recorder made within 24 h."""
    sender = req.sender
    if cmd.code is None:
        return _last_receipt(req, cmd, sender)
    receipt = codes.normalise(cmd.code)
    unknown = Refusal("unknown_receipt", text(T.RECEIPT_UNKNOWN, coop=req.coop, receipt=receipt))
    if not codes.is_valid(receipt):
        raise unknown
    if receipt.startswith("R"):
        row = req.session.scalar(select(Repayment).where(Repayment.receipt == receipt))
        at = row.recorded_at if row is not None else None
    elif receipt[0] in "DW":
        row = req.session.scalar(select(SavingsEntry).where(SavingsEntry.receipt == receipt))
        at = row.created_at if row is not None else None
    else:
        raise unknown
    if row is None:
        raise unknown
    member = req.lock_member(row.member_id)
    if member.cooperative_id != sender.cooperative_id:
        raise unknown
    req.session.refresh(row)
    if _is_reversed(req.session, row):
        raise Refusal("already_reversed", text(T.REVERSE_ALREADY, coop=req.coop, receipt=receipt))
    if row.recorded_by_id is None:
        raise Refusal("coordinator_only", text(T.REVERSE_COORDINATOR, coop=req.coop, receipt=receipt))
    if row.recorded_by_id != sender.id:
        recorder = req.session.get(Member, row.recorded_by_id)
        raise Refusal(
            "not_recorder", text(T.REVERSE_NOT_YOURS, coop=req.coop, who=label(recorder), receipt=receipt)
        )
    if req.now - at > CANCEL_WINDOW:
        raise Refusal("too_old", text(T.REVERSE_TOO_OLD, coop=req.coop, receipt=receipt))
    by = audit.actor_of(sender)
    reason = f"ANNULE by SMS {req.inbound.gateway_id}"
    values = {"coop": req.coop, "receipt": receipt, "member": label(member), "treasurer": label(sender)}
    if isinstance(row, Repayment):
        reverse_repayment(req.session, row, now=req.now, by=by, reason=reason, source=req.source)
        outstanding = member_position(req.session, member.id, req.today).outstanding
        notice = text(
            T.REPAYMENT_REVERSED,
            amount=format_money(row.amount),
            outstanding=format_money(outstanding),
            **values,
        )
    else:
        try:
            _, balance = reverse_savings(
                req.session, row, now=req.now, by=by, reason=reason, source=req.source
            )
        except Refused as exc:
            balance = format_money(exc.details.get("balance", 0))
            raise Refusal(
                "insufficient_savings",
                text(
                    T.REVERSE_INSUFFICIENT,
                    coop=req.coop,
                    receipt=receipt,
                    member=label(member),
                    balance=balance,
                ),
            ) from exc
        notice = text(
            T.SAVINGS_REVERSED, amount=format_money(abs(row.amount)), balance=format_money(balance), **values
        )
    for person in both_sides(member, sender):
        req.out.tell(person, SmsKind.RECEIPT, notice)
    return Outcome(cmd.keyword, "posted", receipt)


def _last_receipt(req: Request, cmd: Command, sender: Member) -> Outcome:
    """ANNULE alone: name the sender's last receipt still open to ANNULE and how to cancel it."""
    since = req.now - CANCEL_WINDOW
    reversal = aliased(SavingsEntry)
    candidates = [
        req.session.execute(
            select(Repayment.receipt, Repayment.amount, Repayment.member_id, Repayment.recorded_at)
            .where(
                Repayment.recorded_by_id == sender.id,
                Repayment.recorded_at >= since,
                Repayment.reversed_at.is_(None),
            )
            .order_by(Repayment.recorded_at.desc(), Repayment.id.desc())
            .limit(1)
        ).first(),
        req.session.execute(
            select(SavingsEntry.receipt, SavingsEntry.amount, SavingsEntry.member_id, SavingsEntry.created_at)
            .where(
                SavingsEntry.recorded_by_id == sender.id,
                SavingsEntry.created_at >= since,
                SavingsEntry.receipt.is_not(None),
                SavingsEntry.reverses_id.is_(None),
                ~select(reversal.id).where(reversal.reverses_id == SavingsEntry.id).exists(),
            )
            .order_by(SavingsEntry.created_at.desc(), SavingsEntry.id.desc())
            .limit(1)
        ).first(),
    ]
    found = [row for row in candidates if row is not None and row[0]]
    if not found:
        req.reply(text(T.NO_RECENT_RECEIPT, coop=req.coop))
        return Outcome(cmd.keyword, "replied")
    receipt, amount, member_id, _ = max(found, key=lambda row: row[3])
    member = req.session.get(Member, member_id)
    req.reply(
        text(
            T.LAST_RECEIPT,
            coop=req.coop,
            receipt=receipt,
            amount=format_money(abs(amount)),
            member=label(member),
        )
    )
    return Outcome(cmd.keyword, "replied", receipt)


def _is_reversed(session: Session, row: Repayment | SavingsEntry) -> bool:
    if isinstance(row, Repayment):
        return row.reversed_at is not None
    return session.scalar(select(SavingsEntry.id).where(SavingsEntry.reverses_id == row.id)) is not None
