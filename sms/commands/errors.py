"""Errors of the command handlers; `sms.commands.handle` turns them into a reply to the sender."""

from __future__ import annotations

from sms.commands.messenger import Text


class CommandError(Exception):
    """Base of the command handlers' errors."""


class Refusal(CommandError):
    """The command is not carried out; `texts` tell the sender why, `reason` names it for logs and tests."""

    def __init__(self, reason: str, *texts: Text):
        super().__init__(reason)
        self.reason = reason
        self.texts = texts
