"""The USSD engine: one `transitions.Machine` over the menu registry, built once at import.

Every screen is a state; every target a screen declares (options, `then`, `back`, the targets
of a `Decide`) is a transition `go_<target>`, plus `go_main` (`00`) from every screen that
navigates. The machine holds no model: each hop's `Hop` is moved through it with
`event.trigger(hop)`, so one machine serves every session of the process.

Order inside a hop (transitions runs `after` callbacks after the next state's `on_enter`, so
input is staged in `before`):
  resolve the entry (navigation keys, option, validator, Decide) → `before`: save the value in
  ctx → state changes → `on_enter` of the new screen (stages writes, fills ctx) → render.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from transitions import Machine, MachineError, State

from i18n.catalog import N_
from i18n.gsm7 import septets
from menus.hop import Hop
from menus.registry import ENTRY, REGISTRY
from menus.screens import Decide, Heading, Invalid, Registry, Screen, Target

START = "start"
MAIN = "main"
LIMIT = 160
INVALID_CHOICE = N_("Choix invalide. Tapez un des numéros.")
PAGED_KEYS = N_("Tapez 98 (suite), 0 (retour) ou 00 (menu).")
NO_MORE_PAGE = N_("Pas d'autre page.")
log = logging.getLogger("mbolo.ussd")


class EngineError(RuntimeError):
    """The menus lead somewhere the graph does not allow (a bug, answered with the apology)."""


@dataclass(frozen=True)
class Reply:
    """What the member sees: the screen text and whether the session ends (END) or continues (CON)."""

    text: str
    end: bool


class Engine:
    """The menu graph as a state machine, plus rendering."""

    def __init__(self, registry: Registry, entry: Decide):
        self.registry = registry
        self.entry = entry
        self.machine = self._build()

    # --- the machine ---------------------------------------------------------------------------

    def _build(self) -> Machine:
        states = [State(START)] + [State(name, on_enter=[self._entered]) for name in self.registry.screens]
        machine = Machine(
            model=None,
            states=states,
            initial=START,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for target in self.entry.targets:
            machine.add_transition(f"go_{target}", START, target, before=self._stage)
        for screen in self.registry.screens.values():
            targets = screen.targets()
            if screen.nav and not screen.end and MAIN in self.registry:
                targets.add(MAIN)
            for target in sorted(targets):
                machine.add_transition(f"go_{target}", screen.name, target, before=self._stage)
        return machine

    def edges(self) -> set[tuple[str, str]]:
        """Every (source, destination) the machine allows (the graph test reads this)."""
        found = set()
        for event in self.machine.events.values():
            for source, transitions in event.transitions.items():
                found.update((source, t.dest) for t in transitions)
        return found

    def _stage(self, event) -> None:
        hop: Hop = event.model
        save = event.kwargs.get("save")
        if save is not None:
            key, value = save
            hop.ctx[key] = value
        hop.page = 1

    def _entered(self, event) -> None:
        screen = self.registry[event.state.name]
        if screen.on_enter is not None:
            screen.on_enter(event.model)

    def go(self, hop: Hop, target: str, save: tuple[str, object] | None = None) -> None:
        """Move the hop to `target` through the machine (only along a declared edge)."""
        event = self.machine.events.get(f"go_{target}")
        if event is None:
            raise EngineError(f"no screen {target!r}")
        try:
            event.trigger(hop, save=save)
        except MachineError as exc:
            raise EngineError(f"{hop.state!r} cannot lead to {target!r}") from exc

    def resolve(self, spec: Target, hop: Hop) -> str:
        """A target name; a Decide is asked, and must answer one of its declared targets."""
        if isinstance(spec, Decide):
            target = spec.choose(hop)
            if target not in spec.targets:
                raise EngineError(f"decision {spec.choose.__name__} answered undeclared {target!r}")
            return target
        return spec

    # --- one hop ---------------------------------------------------------------------------------

    def advance(self, hop: Hop) -> None:
        """Apply this hop's input to the current screen: navigate, accept, or set a hint."""
        if hop.state == START:
            self.go(hop, self.resolve(self.entry, hop))
            return
        screen = self.registry[hop.state]
        if screen.end:
            return  # nothing follows END; a stray hop sees it again
        raw = hop.input.strip()
        if screen.nav and hop.authenticated:
            if raw == "00" and MAIN in self.registry:
                self.go(hop, MAIN)
                return
            if raw == "0" and (not screen.is_input or screen.zero_back):
                if hop.page > 1:
                    hop.page -= 1
                    return
                if screen.back is not None:
                    self.go(hop, self.resolve(screen.back, hop))
                    return
            if not screen.is_input and raw == "98" and screen.is_paged:
                hop.page += 1  # the rendering says so when there is no further page
                return
        try:
            target, save = self._accept(screen, hop, raw)
        except Invalid as exc:
            hop.fail(exc.hint, **exc.values)
            return
        self.go(hop, target, save)

    def _accept(self, screen: Screen, hop: Hop, raw: str) -> tuple[str, tuple[str, object] | None]:
        if screen.is_input:
            hop.value = screen.accept(raw)
            save = None
            if screen.save_as:
                # Sealing is a slow hash (scrypt): only for a PIN that is kept (the first entry of
                # a new PIN), never for one that is only checked and dropped (pin_enter).
                save = (screen.save_as, hop.seal(hop.value) if screen.secret else hop.value)
            if screen.then is None:
                raise EngineError(f"input screen {screen.name!r} has no `then`")
            return self.resolve(screen.then, hop), save
        for option in screen.options:
            if option.key == raw and (option.when is None or option.when(hop)):
                hop.value = option.value
                save = (screen.save_as, option.value) if screen.save_as and option.value is not None else None
                return self.resolve(option.target, hop), save
        if screen.choices is not None and raw.isdigit() and screen.then is not None:
            items = screen.choices(hop)
            index = int(raw)
            if 1 <= index <= len(items):
                hop.value = items[index - 1].value
                save = (screen.save_as, hop.value) if screen.save_as else None
                return self.resolve(screen.then, hop), save
        if screen.options or screen.choices is not None:
            raise Invalid(INVALID_CHOICE)
        if screen.is_paged:
            raise Invalid(PAGED_KEYS)
        raise Invalid(N_("Tapez 0 (retour) ou 00 (menu)."))

    # --- rendering -------------------------------------------------------------------------------

    def render(self, hop: Hop) -> Reply:
        """The screen as the member sees it: hint, text, this page's items, navigation; ≤ 160 characters."""
        screen = self.registry[hop.state]
        hop.view = dict(hop.ctx)
        if screen.view is not None:
            hop.view.update(screen.view(hop))
        items = self._items(screen, hop)  # list callables may add to hop.view (a loan's reference)
        head = hop.t(screen.text, **hop.view) if screen.text else ""
        pages = self._pages(head, items, hop, screen)
        if hop.page > len(pages):
            hop.page = len(pages)
            if hop.hint is None:
                hop.fail(NO_MORE_PAGE)
        page_items = pages[hop.page - 1]
        footer = self._footer(screen, hop, more=hop.page < len(pages))
        hint = hop.t(hop.hint, **hop.hint_values) if hop.hint else ""
        body = _fit(hint, head, page_items, footer, menu=bool(screen.options), paged=screen.is_paged)
        if septets(body) > LIMIT:
            # The graph test keeps every screen within the limit; this guards against data it missed.
            log.warning("ussd.screen_too_long", extra={"screen": screen.name, "chars": septets(body)})
            body = body[:LIMIT]
        return Reply(body, screen.end)

    def _items(self, screen: Screen, hop: Hop) -> list[str]:
        if screen.options:
            return [
                f"{o.key} {hop.t(o.label) if o.translate else o.label}"
                for o in screen.options
                if o.when is None or o.when(hop)
            ]
        if screen.choices is not None:
            return [f"{i} {c.label}" for i, c in enumerate(screen.choices(hop), 1)]
        if screen.lines is not None:
            return screen.lines(hop)
        return []

    def _footer(self, screen: Screen, hop: Hop, *, more: bool) -> str:
        if screen.end or not screen.nav or not hop.authenticated:
            return ""
        parts = []
        if screen.is_input:
            parts.append(hop.t(N_("00 Menu")))
        else:
            if more:
                parts.append(hop.t(N_("98 Suite")))
            if screen.back is not None or hop.page > 1:
                parts.append(hop.t(N_("0 Retour")))
            if screen.name != MAIN:
                parts.append(hop.t(N_("00 Menu")))
        return " ".join(parts)

    def _pages(self, head: str, items: list[str], hop: Hop, screen: Screen) -> list[list[str]]:
        """Split items greedily so that head + items + the fullest footer fit on each page.

        A section `Heading` never ends a page and is repeated atop a page continuing its section.
        """
        if not items or not screen.is_paged:
            return [items]
        room = LIMIT - septets(head) - 1 - septets(self._longest_footer(hop)) - 1
        pages: list[list[str]] = [[]]
        used = 0
        section: str | None = None
        for item in items:
            cost = septets(item) + 1
            if pages[-1] and used + cost > room:
                carried = [pages[-1].pop()] if isinstance(pages[-1][-1], Heading) else []
                if not carried and section is not None and not isinstance(item, Heading):
                    carried = [section]
                pages.append(carried)
                used = sum(septets(c) + 1 for c in carried)
            if isinstance(item, Heading):
                section = item
            pages[-1].append(item)
            used += cost
        return pages

    def _longest_footer(self, hop: Hop) -> str:
        parts = [hop.t(N_("98 Suite")), hop.t(N_("0 Retour")), hop.t(N_("00 Menu"))]
        return " ".join(parts)


def _fit(hint: str, head: str, items: list[str], footer: str, *, menu: bool, paged: bool) -> str:
    """Join the parts; with a hint that makes the screen too long, give up what matters least.

    On a menu the title goes first (the options are the screen), then trailing options. A paged
    list keeps its heading (what the lines are): the footer goes first, since the hint says which
    keys to type, then trailing lines. On a single information screen (the balance) the text is
    the screen, so the footer goes.
    """
    parts = {"head": head, "items": list(items), "footer": footer}

    def body() -> str:
        return "\n".join(p for p in [hint, parts["head"], *parts["items"], parts["footer"]] if p)

    if not hint or septets(body()) <= LIMIT:
        return body()
    if paged:
        parts["footer"] = ""
    elif menu:
        parts["head"] = ""
    while septets(body()) > LIMIT and len(parts["items"]) > 1:
        parts["items"].pop()
    if septets(body()) > LIMIT:
        parts["head"] = ""
    if septets(body()) > LIMIT:
        parts["footer"] = ""
    return body()


ENGINE = Engine(REGISTRY, ENTRY)
