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
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cooperative import Member
from models.enums import InboundStatus
from models.ledger_tables import Repayment, SavingsEntry
from models.messaging import InboundSms
from models.phones import mask
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.handlers import help_texts
from sms.commands.messenger import Messenger, text
from sms.commands.parser import Problem, parse
from sms.commands.registry import COMMANDS
from sms.commands.request import Outcome, Request, external_id_of
from sms.commands.spec import Command, Who

__all__ = ["Outcome", "handle"]

log = logging.getLogger("mbolo.commands")


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
    else:
        command = parse(inbound.text, request.today)
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
        sentence = text(T.PROBLEMS[problem.reason], detail=problem.detail)
        return Refusal(
            str(problem.reason),
            text(T.SYNTAX, problem=sentence, syntax=text(spec.syntax), example=spec.example),
        )
    helps = help_texts(request)
    if sender is not None and sender.can_record_money:
        helps = (text(T.NOT_UNDERSTOOD), *helps)
    return Refusal(str(problem.reason), *helps)
