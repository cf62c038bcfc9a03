"""What an SMS command is: its `CommandSpec`, the `Shape` of its arguments, and what a text reads as.

`Registry` collects the specs and refuses, when it is built (at import), a keyword or alias given
twice, an alias that is not plain upper-case letters, a spec without syntax, example or handler.
The list itself is sms/commands/registry.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True)
class Shape:
    """What may follow a keyword: a member, an amount, a loan reference, a date, `OK`, a code."""

    member: bool = False
    member_optional: bool = False  # SOLDE alone: the sender's own figures
    amount: bool = False
    loan_ref: bool = False
    paid_on: bool = False
    force: bool = False
    code: str | None = None  # "declaration" (4 digits) or "receipt"
    page: bool = False  # nothing or a bare 1–2 digit page number instead of the member (RETARDS)
    promise_on: bool = False  # a required JJ/MM 1 to 30 days ahead (PROMESSE)

    @property
    def takes_arguments(self) -> bool:
        """False for AIDE, STOP, START: whatever follows them is chatter, never a syntax error."""
        return self.member or self.code is not None


@dataclass(frozen=True)
class MemberRef:
    """Who a command is about: a member number (matched by `models.member_key`) or an E.164 phone."""

    member_no: str | None = None
    phone: str | None = None

    def __str__(self) -> str:
        return self.member_no or self.phone or ""


@dataclass(frozen=True)
class Command:
    """A well-formed command; fields its keyword does not take stay None/False."""

    keyword: str
    member: MemberRef | None = None
    amount: int | None = None
    loan_ref: str | None = None
    paid_on: date | None = None
    force: bool = False
    code: str | None = None
    page: int | None = None
    promise_on: date | None = None


class Who(StrEnum):
    """Who may use a command; the dispatcher refuses the others before the handler runs."""

    ANYONE = "anyone"  # registered or not
    RECORDER = "recorder"  # an active treasurer or president


@dataclass(frozen=True)
class CommandSpec:
    """One SMS command: canonical keyword, aliases by language, arguments, syntax line, example, handler.

    `syntax` is a French msgid (translated in the reader's language) given with `example` when a
    text has this keyword but wrong arguments. `handler(request, command)` stages what the command
    does and returns an `Outcome` (sms/commands/handlers.py).
    """

    keyword: str
    handler: Callable
    syntax: str
    example: str
    shape: Shape = Shape()
    fr: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    wo: tuple[str, ...] = ()
    who: Who = Who.RECORDER

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every word that reads as this command, the keyword first."""
        return (self.keyword, *self.fr, *self.en, *self.wo)


class RegistryError(ValueError):
    """The command specs contradict each other or lack something every command needs."""


# The parser matches aliases against folded text (upper case, no accents) and splits `OUI1234` at
# the first digit, so an alias is ASCII capitals only.
_ALIAS = re.compile(r"[A-Z]+", re.ASCII)


class Registry:
    """The commands, checked when built; looked up by keyword or by any alias."""

    def __init__(self, specs: Iterable[CommandSpec]):
        self.specs = tuple(specs)
        self.by_keyword: dict[str, CommandSpec] = {}
        self.by_alias: dict[str, CommandSpec] = {}
        for spec in self.specs:
            _check(spec)
            if spec.keyword in self.by_keyword:
                raise RegistryError(f"{spec.keyword}: declared twice")
            self.by_keyword[spec.keyword] = spec
            for alias in spec.aliases:
                if alias in self.by_alias:
                    raise RegistryError(
                        f"{spec.keyword}: alias {alias} already reads as {self.by_alias[alias].keyword}"
                    )
                self.by_alias[alias] = spec

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs)

    def __getitem__(self, keyword: str) -> CommandSpec:
        return self.by_keyword[keyword]


def _check(spec: CommandSpec) -> None:
    for alias in spec.aliases:
        if not _ALIAS.fullmatch(alias):
            raise RegistryError(f"{spec.keyword}: alias {alias!r} is not ASCII capitals only")
    if not spec.syntax or not spec.syntax.strip():
        raise RegistryError(f"{spec.keyword}: no syntax line")
    if not spec.example or spec.example.split()[0] not in spec.aliases:
        raise RegistryError(f"{spec.keyword}: no example starting with the keyword")
    if not callable(spec.handler):
        raise RegistryError(f"{spec.keyword}: no handler")
