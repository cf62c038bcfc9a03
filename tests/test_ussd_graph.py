"""The menu graph: every target exists, every screen is reachable, every rendering fits 160 GSM-7.

The rendering check tours the graph for real, in every language, from a member holding
realistic worst-case data (ussd_app/tour.py: long loan references, millions of F, a pending
declaration, long product names).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from i18n.gsm7 import is_gsm7, septets
from menus.registry import ENTRY, REGISTRY
from menus.screens import Decide
from models import Member, Product
from tests.conftest import DEFAULT_NOW
from tests.holes import holes
from ussd_app.engine import ENGINE, MAIN
from ussd_app.tour import NEW_PIN, PIN, Line, identity_of, sample_member, tour

LANGUAGES = ("fr", "wo", "en")


# --- the static graph ----------------------------------------------------------------------------


def test_every_target_names_a_screen():
    """No option, `then`, `back` or Decide leads to an unknown screen."""
    names = set(REGISTRY.screens)
    assert set(ENTRY.targets) <= names
    for screen in REGISTRY.screens.values():
        assert screen.targets() <= names, screen.name


def test_every_screen_is_reachable_from_the_first_dial():
    """Breadth-first from the first screens over every declared edge (and 00 to the main menu)."""
    seen = set(ENTRY.targets)
    todo = list(seen)
    while todo:
        screen = REGISTRY[todo.pop()]
        nexts = screen.targets() | ({MAIN} if screen.nav and not screen.end else set())
        for name in nexts - seen:
            seen.add(name)
            todo.append(name)
    assert seen == set(REGISTRY.screens)


def test_the_machine_holds_exactly_the_declared_edges():
    """One transitions.Machine, built at import, with the graph the screens declare."""
    declared = {("start", t) for t in ENTRY.targets}
    for screen in REGISTRY.screens.values():
        for target in screen.targets():
            declared.add((screen.name, target))
        if screen.nav and not screen.end:
            declared.add((screen.name, MAIN))
    assert ENGINE.edges() == declared


def test_decisions_only_declare_known_screens_and_end_screens_lead_nowhere():
    """END screens have no way out; a Decide names at least one target."""
    for screen in REGISTRY.screens.values():
        if screen.end:
            assert not screen.options and screen.accept is None and screen.choices is None
        for option in screen.options:
            if isinstance(option.target, Decide):
                assert option.target.targets


# --- (screen, input) → next screen --------------------------------------------------------------

TABLE = [
    ("main", "1", "balance"),
    ("main", "3", "loan_list"),
    ("main", "5", "language"),
    ("main", "6", "pin_current"),
    ("main", "2", "production"),
    ("main", "4", "declare"),
    ("main", "9", "main"),
    ("balance", "0", "main"),
    ("balance", "00", "main"),
    ("balance", "7", "balance"),
    ("loan_list", "1", "loan_detail"),
    ("loan_list", "0", "main"),
    ("loan_list", "5", "loan_list"),
    ("language", "1", "main"),
    ("language", "0", "main"),
    ("language", "00", "main"),
    ("pin_current", PIN, "pin_new"),
    ("pin_current", "98", "pin_current"),
    ("pin_current", "00", "main"),
    ("pin_new", NEW_PIN, "pin_new_confirm"),
    ("pin_new", "1111", "pin_new"),
    ("pin_new", "00", "main"),
    ("resume", "2", "main"),
    # 2 Report production (menus/production.py)
    ("production", "1", "production_qty"),
    ("production", "9", "production"),
    ("production", "0", "main"),
    ("production_qty", "120", "production_confirm"),
    ("production_qty", "98", "production_confirm"),
    ("production_qty", "0", "production"),  # a quantity is never 0: `0` goes back
    ("production_qty", "abc", "production_qty"),
    ("production_qty", "100001", "production_qty"),
    ("production_qty", "00", "main"),
    ("production_confirm", "1", "production_saved"),
    ("production_confirm", "2", "main"),
    ("production_confirm", "3", "production_week"),
    ("production_confirm", "0", "production_qty"),
    ("production_confirm", "5", "production_confirm"),
    ("production_week", "2", "production_confirm"),
    ("production_week", "0", "production_confirm"),
    ("production_saved", "1", "production"),
    ("production_saved", "00", "main"),
]


def _production_ctx(runtime, member) -> dict:
    """A report under way: the member's first product, 120 of it, this week (DEFAULT_NOW's)."""
    with runtime.sessions() as session:
        product_id = session.scalar(
            select(Product.id).where(Product.cooperative_id == member.cooperative_id).order_by(Product.id)
        )
    return {"pp": product_id, "pq": 120, "pw": "2026-W49", "pk": "ussd:table:1", "pr": "P00001D"}


@pytest.fixture
def rich(db, runtime):
    """A member with a PIN, two loans, savings and a pending declaration; products with long names."""
    return sample_member(db, DEFAULT_NOW, runtime.config.PIN_SECRET)


@pytest.mark.parametrize(("screen", "entry", "expected"), TABLE)
def test_one_hop_table(runtime, rich, screen, entry, expected):
    """From `screen`, `entry` leads to `expected`."""
    line = Line(runtime, rich.phone)
    ctx = {"loans": 2} if screen.startswith("loan") else {}
    if screen.startswith("production"):
        ctx = _production_ctx(runtime, rich)
    line.jump(screen, identity_of(rich), ctx)
    reply = line.press(entry)
    assert line.state == expected, reply.text
    assert not reply.end


# --- every rendering in every language ------------------------------------------------------------


def _restore_member(db, member, language: str) -> None:
    db.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(pin_hash=member.pin_hash, wrong_pins=0, locked=False, language=language)
    )
    db.commit()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_renders_within_160_gsm7_characters(runtime, rich, language, caplog):
    """Tour every screen (hints included, see ussd_app/tour.py) and measure each rendering."""
    renderings = tour(runtime, rich, language)
    too_long = [(r.state, septets(r.text), r.text) for r in renderings if septets(r.text) > 160]
    assert not too_long, too_long
    holed = [(r.state, r.text) for r in renderings if holes(r.text)]
    assert not holed, holed
    assert all(is_gsm7(r.text) for r in renderings)
    cut = [r.__dict__.get("screen") for r in caplog.records if r.getMessage() == "ussd.screen_too_long"]
    assert not cut, f"screens cut at 160 characters: {cut}"
    failed = [r.__dict__.get("error") for r in caplog.records if r.getMessage() == "ussd.hop_failed"]
    assert not failed, f"hops answered with the apology: {failed}"
    assert {r.state for r in renderings} == set(REGISTRY.screens)
    assert all(r.msgids for r in renderings), "every rendering is made of catalog entries"


@pytest.mark.parametrize("language", LANGUAGES)
def test_screens_before_the_menu_fit_in_every_language(runtime, db, rich, language, client):
    """unknown, locked, choose/confirm/enter PIN and the resume offer, with their hints."""
    _restore_member(db, rich, language)
    line = Line(runtime, rich.phone)
    texts = [line.dial().text, line.press("1111").text, line.press("12").text, line.press("2222").text]
    texts.append(line.press("3333").text)  # locked
    assert line.state == "locked"
    db.execute(update(Member).where(Member.id == rich.id).values(pin_hash=None, locked=False, wrong_pins=0))
    db.commit()
    texts += [line.dial().text, line.press("1234").text, line.press("2580").text, line.press("2581").text]
    identity = identity_of(rich)
    identity.language = language
    line.jump("resume", identity)
    texts.append(line.press("7").text)
    line.jump("loan_none", identity)
    texts.append(line.press("7").text)
    texts.append(Line(runtime, "+221770009999").dial().text)  # unknown
    for text in texts:
        assert septets(text) <= 160, text
        assert is_gsm7(text), text
