"""The screen model: one `Screen` per USSD screen, declared as data.

A screen is a menu (fixed `options` or a paged list of `choices`), an information screen (paged
`lines`), a free-input screen (`accept` a validator) or an `end` screen. Targets are screen names;
where the next screen depends on data (a PIN check, the number of loans) the target is a
`Decide(function, targets)`: the function returns one of the declared targets, so the graph stays
checkable. Texts are msgids marked with `N_()` and translated when rendered, in the member's
language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from i18n.catalog import N_

if TYPE_CHECKING:
    from menus.hop import Hop


class Invalid(Exception):
    """An entry a screen does not accept; `hint` is the msgid of the one-line hint shown above it."""

    def __init__(self, hint: str, **values):
        super().__init__(hint)
        self.hint = hint
        self.values = values


@dataclass(frozen=True)
class Decide:
    """A data-dependent target: `choose(hop)` returns one of `targets` (and may stage writes, set a hint)."""

    choose: Callable[[Hop], str]
    targets: tuple[str, ...]

    def __init__(self, choose: Callable[[Hop], str], *targets: str):
        object.__setattr__(self, "choose", choose)
        object.__setattr__(self, "targets", tuple(targets))


Target = str | Decide


@dataclass(frozen=True)
class Option:
    """One line of a menu: the key typed, its label msgid, where it leads and the value it saves."""

    key: str
    label: str
    target: Target
    value: Any = None
    translate: bool = True  # False for labels that are names (Wolof, English, a product)
    when: Callable[[Hop], bool] | None = None  # shown and accepted only when true


class Heading(str):
    """A section heading among a paged list's lines: repeated atop a page that continues its
    section, never left as the last line of a page."""

    __slots__ = ()


@dataclass(frozen=True)
class Choice:
    """One item of a data-driven list (a loan, a product); numbered 1..n across pages."""

    label: str  # already readable: a name or a reference, not translated
    value: Any


@dataclass(frozen=True)
class Screen:
    """One USSD screen; see the module docstring for its four kinds."""

    name: str
    text: str  # msgid, formatted with hop.view (ctx + what `view` returned)
    options: Sequence[Option] = ()
    choices: Callable[[Hop], list[Choice]] | None = None  # a numbered, paged list
    lines: Callable[[Hop], list[str]] | None = None  # information lines, paged
    accept: Callable[[str], Any] | None = None  # validator: raw input → value, or raise Invalid
    save_as: str | None = None  # ctx key the accepted value / chosen option value goes to
    then: Target | None = None  # after an accepted entry or a choice
    back: Target | None = "main"  # `0` on page 1 (None: `0` is not offered)
    on_enter: Callable[[Hop], None] | None = None  # runs once on arrival: stage writes, fill ctx
    view: Callable[[Hop], dict] | None = None  # runs at every rendering: read what the text shows
    end: bool = False  # END: the session closes on this screen
    secret: bool = False  # input is a PIN: sealed with an HMAC before saving, masked in logs
    # Part of a multi-step task a dropped session may resume (docs/design.md, "The USSD session").
    resumable: bool = False
    nav: bool = True  # `00` (and on menus `0`/`98`) navigate; False before the PIN is entered
    # A free-input screen whose entries are never 0 (a quantity) lets `0` go back, as menus do.
    zero_back: bool = False

    @property
    def is_input(self) -> bool:
        """Free-input screen: only `00` navigates, `98` and `0` are data."""
        return self.accept is not None

    @property
    def is_paged(self) -> bool:
        """A list whose items are split over pages (`98` next, `0` previous)."""
        return self.choices is not None or self.lines is not None

    def targets(self) -> set[str]:
        """Every screen this one may lead to (the graph test and the machine read this)."""
        found: set[str] = set()
        specs: list[Target | None] = [o.target for o in self.options] + [self.then, self.back]
        for spec in specs:
            if isinstance(spec, Decide):
                found.update(spec.targets)
            elif spec:
                found.add(spec)
        return found


# --- validators for free-input screens -----------------------------------------------------------


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """Accept a whole number from low to high; spaces and dots between digit groups are allowed."""

    def accept(raw: str) -> int:
        text = raw.strip().replace(" ", "").replace(".", "")
        if not (text.isascii() and text.isdigit()) or len(text) > 15:
            raise Invalid(N_("Tapez un nombre entier."))
        value = int(text)
        if not low <= value <= high:
            raise Invalid(N_("Nombre entre {low} et {high}."), low=low, high=high)
        return value

    return accept


PIN_PATTERN = re.compile(r"\d{4}")


def pin_format(raw: str) -> str:
    """Accept exactly four digits (whether the PIN is right is checked by the screen's Decide)."""
    if not PIN_PATTERN.fullmatch(raw.strip()):
        raise Invalid(N_("Le code PIN a 4 chiffres."))
    return raw.strip()


@dataclass
class Registry:
    """All screens by name; built once at import from the menu modules and checked."""

    screens: dict[str, Screen] = field(default_factory=dict)

    def add(self, screens: Sequence[Screen]) -> None:
        """Add a module's screens; a name declared twice is a bug caught at import."""
        for screen in screens:
            if screen.name in self.screens:
                raise ValueError(f"screen {screen.name!r} declared twice")
            self.screens[screen.name] = screen

    def check(self) -> None:
        """Every target names a screen; resumable screens are free-input or menus, never END."""
        for screen in self.screens.values():
            unknown = screen.targets() - set(self.screens)
            if unknown:
                raise ValueError(f"screen {screen.name!r} leads to unknown {sorted(unknown)}")
            if screen.resumable and screen.end:
                raise ValueError(f"screen {screen.name!r}: an END screen cannot be resumed")

    def __getitem__(self, name: str) -> Screen:
        return self.screens[name]

    def __contains__(self, name: str) -> bool:
        return name in self.screens
