"""STOP and START: anyone may stop reminders and announcements, and start them again.

Receipts and notices still go out: they answer money the member moved or that was moved for them.
A number that is not a member's gets the confirmation too (within the stranger reply limit).
"""

from __future__ import annotations

from models.opt_out import set_opt_out
from sms.commands import texts as T
from sms.commands.messenger import text
from sms.commands.request import Outcome, Request
from sms.commands.spec import Command


def stop(req: Request, cmd: Command) -> Outcome:
    """Opt the sender out of reminders and announcements; confirm it."""
    return _set(req, cmd, opted_out=True)


def start(req: Request, cmd: Command) -> Outcome:
    """Opt the sender back in; confirm it."""
    return _set(req, cmd, opted_out=False)


def _set(req: Request, cmd: Command, *, opted_out: bool) -> Outcome:
    if req.sender is not None:
        set_opt_out(req.session, req.sender, opted_out, req.now, req.source)
    req.reply(text(T.STOP_CONFIRMED if opted_out else T.START_CONFIRMED))
    return Outcome(cmd.keyword, "done")
