"""SMS commands: `handle` reads one stored inbound SMS and stages what it asks.

The commands are declared in sms/commands/registry.py (one `CommandSpec` each, STOP and START
included). The SMS webhook stores the InboundSms row and calls
`handle(session, inbound, sender, now, runtime)` for every message, in its own transaction,
which it commits: every money change, its receipts and its audit event commit together, or
not at all. A refused command stages nothing but its reply (the handler runs inside a savepoint
that is rolled back). Redelivery is harmless: a gateway id already used as a repayment's or
savings entry's `external_id` is not handled again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from i18n.formatting import format_money
from models.cooperative import Member
from models.enums import InboundStatus
from models.ledger_tables import Repayment, SavingsEntry
from models.messaging import InboundSms
from models.phones import mask
from sms.commands import texts as T
from sms.commands.enquiries import help_texts
from sms.commands.errors import Refusal
from sms.commands.messenger import Messenger, label, text
from sms.commands.parser import Problem, fold, parse
from sms.commands.registry import COMMANDS
from sms.commands.request import Outcome, Request, external_id_of
from sms.commands.spec import Command, Who

__all__ = ["Outcome", "handle"]

log = logging.getLogger("mbolo.commands")

DOUBLE_SEND_WINDOW = timedelta(minutes=2)


def handle(session: Session, inbound: InboundSms, sender: Member | None, now: datetime, runtime) -> Outcome:
    """Parse and carry out one command; stages the changes, receipts and replies on `session`."""
    config = runtime.config
    request = Request(
        session=session,
        inbound=inbound,
        sender=sender,
        now=now,
        today=now.astimezone(config.tz).date(),
        config=config,
        out=Messenger(session, now, config),
    )
    if inbound.status == InboundStatus.HANDLED or _already_posted(session, external_id_of(inbound)):
        outcome = Outcome(None, "duplicate")
    elif (first := _double_send_of(session, inbound)) is not None:
        outcome = _answer_double_send(request, first)
    else:
        command = parse(inbound.text, request.today, config.MAX_AMOUNT)
        try:
            with session.begin_nested():
                outcome = _carry_out(request, command)
        except Refusal as refusal:
            request.reply(*refusal.texts)
            keyword = command.keyword if command.keyword else None
            outcome = Outcome(keyword, "refused", refusal.reason)
    log.info(
        "command",
        extra={
            "inbound_id": inbound.id,
            "from": mask(inbound.from_phone),
            "keyword": outcome.keyword,
            "outcome": outcome.result,
            "detail": outcome.detail,
        },
    )
    return outcome


def _double_send_of(session: Session, inbound: InboundSms) -> Repayment | SavingsEntry | None:
    """What an identical message from the same sender, received up to 2 minutes earlier, posted.

    Phones resend a message whose delivery report was slow, and hurried people press send twice:
    the two are one, OK or not. Spacing and case do not make two messages different.
    """
    same = " ".join(fold(inbound.text or "").split())
    if not same:
        return None
    earlier = session.scalars(
        select(InboundSms)
        .where(
            InboundSms.from_phone == inbound.from_phone,
            InboundSms.id != inbound.id,
            InboundSms.received_at >= inbound.received_at - DOUBLE_SEND_WINDOW,
            InboundSms.received_at <= inbound.received_at,
        )
        .order_by(InboundSms.received_at.desc(), InboundSms.id.desc())
    ).all()
    for row in earlier:
        if row.id > inbound.id and row.received_at == inbound.received_at:
            continue  # of two arriving in the same instant, the first stored is the first
        if " ".join(fold(row.text or "").split()) != same:
            continue
        external_id = external_id_of(row)
        # A first message already cancelled (ANNULE) makes the second a deliberate correction.
        posted = session.scalar(
            select(Repayment).where(Repayment.external_id == external_id, Repayment.reversed_at.is_(None))
        )
        if posted is None:
            reversal = aliased(SavingsEntry)
            posted = session.scalar(
                select(SavingsEntry).where(
                    SavingsEntry.external_id == external_id,
                    ~select(reversal.id).where(reversal.reverses_id == SavingsEntry.id).exists(),
                )
            )
        if posted is not None:
            return posted
    return None


def _answer_double_send(request: Request, first: Repayment | SavingsEntry) -> Outcome:
    """Post nothing; quote the first message's receipt."""
    member = request.session.get(Member, first.member_id)
    request.reply(
        text(
            T.DOUBLE_SEND,
            coop=request.coop,
            amount=format_money(abs(first.amount)),
            member=label(member),
            receipt=first.receipt or "-",
        )
    )
    return Outcome(None, "duplicate", first.receipt or "")


def _already_posted(session: Session, external_id: str) -> bool:
    """True when this message already moved money (a redelivery after a crash or a retry)."""
    if session.scalar(select(Repayment.id).where(Repayment.external_id == external_id)) is not None:
        return True
    return session.scalar(select(SavingsEntry.id).where(SavingsEntry.external_id == external_id)) is not None


def _carry_out(request: Request, command: Command | Problem) -> Outcome:
    if isinstance(command, Problem):
        raise _problem_refusal(request, command)
    spec = COMMANDS[command.keyword]
    if spec.who == Who.RECORDER:
        request.recorder(command.keyword)
    return spec.handler(request, command)


def _problem_refusal(request: Request, problem: Problem) -> Refusal:
    """What was wrong and the keyword's syntax; the help list when no keyword was recognised."""
    sender = request.sender
    spec = COMMANDS[problem.keyword] if problem.keyword is not None else None
    if spec is not None and spec.shape.takes_arguments:
        # Only those who may use a keyword are taught its syntax.
        if spec.who == Who.RECORDER:
            request.recorder(spec.keyword)
        if problem.detail or problem.reason not in T.PROBLEMS_BARE:
            sentence = text(T.PROBLEMS[problem.reason], detail=problem.detail)
        else:
            sentence = text(T.PROBLEMS_BARE[problem.reason])
        return Refusal(
            str(problem.reason),
            text(T.SYNTAX, problem=sentence, syntax=text(spec.syntax), example=spec.example),
        )
    helps = help_texts(request)
    if sender is not None and sender.can_record_money:
        helps = (text(T.NOT_UNDERSTOOD), *helps)
    return Refusal(str(problem.reason), *helps)
