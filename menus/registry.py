"""The explicit list of menu modules and the registry built from them once, at import, and checked."""

from __future__ import annotations

from i18n.catalog import N_
from menus import balance, declaration, language, loan, main, pin, production
from menus.hop import Hop
from menus.pin import FIRST
from menus.screens import Decide, Option, Registry, Screen

# Each module holds `SCREENS`; a new module is one more line here.
MODULES = (pin, main, balance, loan, language, production, declaration)

ENTRY = FIRST  # the first screen of a session depends on who dials


def _load() -> Registry:
    registry = Registry()
    for module in MODULES:
        registry.add(module.SCREENS)
    resumable = tuple(sorted(s.name for s in registry.screens.values() if s.resumable))
    registry.add([resume_screen(resumable)])
    registry.check()
    return registry


def resume_screen(resumable: tuple[str, ...]) -> Screen:
    """The offer made right after the PIN when this phone left a multi-step task within the session TTL."""

    def continue_task(hop: Hop) -> str:
        """Put the interrupted task's context back and return to its screen (main if it is gone)."""
        state = (hop.resume or {}).get("s")
        if state not in resumable:
            return "main"
        hop.ctx = dict(hop.resume.get("c") or {})
        return state

    return Screen(
        "resume",
        N_("Vous avez une opération non terminée."),
        options=[
            Option("1", N_("Continuer"), Decide(continue_task, "main", *resumable)),
            Option("2", N_("Menu principal"), "main"),
        ],
        back=None,
        nav=False,  # option 2 is the way to the menu; no footer repeating it
    )


REGISTRY = _load()
