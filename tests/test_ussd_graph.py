"""The menu graph: every target exists, every screen is reachable, every rendering fits 160 GSM-7.

The rendering check explores the graph for real, in every language, from a member holding
realistic worst-case data (long loan references, millions of F, a pending declaration, long
product names): from each screen reached it tries every option key, list number, navigation key
and a set of typical entries, and branches by restoring the session record.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from i18n.gsm7 import is_gsm7, septets
from menus.registry import ENTRY, REGISTRY
from menus.screens import Decide
from models import Member, Product, RepaymentDeclaration
from models.enums import DeclarationStatus, Frequency, Source
from models.ledger import post_savings, record_repayment
from models.pin import hash_pin
from tests import factories as f
from tests.conftest import DEFAULT_NOW
from tests.ussd_support import Line, identity_of
from ussd_app.engine import ENGINE, MAIN

PIN = "4827"
NEW_PIN = "5172"
LANGUAGES = ("fr", "wo", "en")
# Entries tried on free-input screens besides the PINs: quantities, amounts, `98` as data, junk.
ENTRIES = ("1", "98", "250", "5000", "125000", "0", "abc", "")


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
    ("production_qty", "0", "production_qty"),
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
def rich(db):
    """A member with a PIN, two loans, savings and a pending declaration; products with long names."""
    coop = f.coop(db, name="Coopérative des femmes transformatrices de Ndiambour", code="CFTN")
    for name, unit in [
        ("Poudre de feuilles de moringa séchées", "kg"),
        ("Jus de bissap concentré en bouteille", "litre"),
        ("Couscous de mil enrichi au niébé", "sac"),
    ]:
        f.product(db, coop, name, unit)
    member = f.member(
        db, coop, name="Ndeye Fatou Ndiaye Sarr Diop", phone="+221771234567", savings=12_345_678
    )
    member.pin_hash = hash_pin(PIN, "test-pin-secret")
    big = f.loan(
        db,
        member,
        reference="CPS-NDB-2026-000123",
        principal=9_500_000,
        interest=950_000,
        installments=12,
        disbursed_on=date(2026, 6, 3),
    )
    f.loan(
        db,
        member,
        reference="CPS-NDB-2026-004567",
        principal=1_200_000,
        interest=120_000,
        installments=52,
        frequency=Frequency.WEEKLY,
        disbursed_on=date(2026, 9, 1),
    )
    for k in range(8):
        record_repayment(
            db,
            member=member,
            amount=123_455 + k,
            paid_on=date(2026, 7, 1 + k),
            now=DEFAULT_NOW,
            source=Source.CLI,
            loan=big,
        )
    post_savings(
        db,
        member=member,
        kind="deposit",
        amount=1_000_000,
        entry_on=date(2026, 11, 2),
        now=DEFAULT_NOW,
        source=Source.CLI,
    )
    db.add(
        RepaymentDeclaration(
            cooperative_id=coop.id,
            member_id=member.id,
            amount=1_250_000,
            code="4521",
            status=DeclarationStatus.PENDING,
            created_at=DEFAULT_NOW,
        )
    )
    db.commit()
    return member


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


def _candidates(name: str) -> list[str]:
    screen = REGISTRY[name]
    keys = [o.key for o in screen.options]
    if screen.choices is not None:
        keys += ["1", "2", "3"]
    if screen.accept is not None:
        keys += [PIN, NEW_PIN, *ENTRIES]
    keys += ["98", "0", "00", "7"]
    return list(dict.fromkeys(keys))


def _restore_member(db, member, language: str) -> None:
    db.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(pin_hash=member.pin_hash, wrong_pins=0, locked=False, language=language)
    )
    db.commit()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_renders_within_160_gsm7_characters(runtime, db, rich, language, caplog):
    """Explore every screen reachable after the PIN (hints included) and measure each rendering."""
    pin_hash = rich.pin_hash
    _restore_member(db, rich, language)
    rich.pin_hash = pin_hash
    line = Line(runtime, rich.phone)
    line.dial()
    first = line.press(PIN)
    assert line.state == MAIN, first.text
    renderings: dict[str, int] = {}
    too_long = []

    def note(state: str, text: str) -> None:
        renderings[state] = max(renderings.get(state, 0), septets(text))
        if septets(text) > 160 or not is_gsm7(text):
            too_long.append((state, septets(text), text))

    note(MAIN, first.text)
    seen = {MAIN}
    queue = [line.snapshot()]
    while queue:
        snap = queue.pop(0)
        line.restore(snap)
        here = line.state
        for entry in _candidates(here):
            line.restore(snap)
            reply = line.press(entry)
            state = line.record().state
            note(state, reply.text)
            _restore_member(db, rich, language)
            if state not in seen and not reply.end:
                seen.add(state)
                queue.append(line.snapshot())
            elif state not in seen:
                seen.add(state)
    # Screens the exploration cannot reach with this member (before the menu, no loan, the resume
    # offer): put a session on them and render them, with a wrong entry's hint.
    identity = identity_of(rich)
    identity.language = language
    for name in sorted(set(REGISTRY.screens) - seen):
        line.jump(name, identity)
        note(name, line.press("7").text)
        seen.add(name)
    assert not too_long, too_long
    cut = [r.__dict__.get("screen") for r in caplog.records if r.getMessage() == "ussd.screen_too_long"]
    assert not cut, f"screens cut at 160 characters: {cut}"
    failed = [r.__dict__.get("error") for r in caplog.records if r.getMessage() == "ussd.hop_failed"]
    assert not failed, f"hops answered with the apology: {failed}"
    assert seen == set(REGISTRY.screens)


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
