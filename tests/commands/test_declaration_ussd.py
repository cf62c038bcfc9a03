"""USSD main menu 4, "Declare a repayment", read as conversations; and a PIN reset by SMS then a new PIN."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from i18n.catalog import LANGUAGES
from i18n.formatting import format_money
from i18n.gsm7 import fold, is_gsm7, septets
from menus.hop import Hop
from menus.registry import REGISTRY
from models import Member, RepaymentDeclaration
from models.enums import DeclarationStatus
from models.pin import hash_pin, verify_pin
from tests.commands.conftest import AWA, BINTA, PRESIDENT, TREASURER
from tests.phone import Phone
from tests.ussd_support import Line, identity_of
from ussd_app.engine import ENGINE

PIN = "4827"


@pytest.fixture
def pins(coop, db):
    """Awa and Binta have chosen PIN 4827."""
    for member_id in (coop.awa, coop.binta):
        db.get(Member, member_id).pin_hash = hash_pin(PIN, "test-pin-secret")
    db.commit()


def declarations(db) -> list[RepaymentDeclaration]:
    db.expire_all()
    rows = list(db.scalars(select(RepaymentDeclaration).order_by(RepaymentDeclaration.id)))
    db.commit()  # end the read: on SQLite an open transaction holds the write lock
    return rows


def open_declare(phone: Phone) -> str:
    phone.dial()
    phone.press(PIN)
    return phone.press("4")


def test_declare_amount_confirm_and_get_the_code(coop, pins, client, db, outbox):
    """4 → amount → confirm → END with the code; the treasurer and the president are told."""
    phone = Phone(client, AWA)
    assert open_declare(phone) == fold(
        "Déclarer un paiement. Reste à payer: 110 000 F.\nMontant payé (F) ?\n00 Menu"
    )
    screen = phone.press("5 000")
    assert screen.startswith(fold("Vous déclarez avoir payé 5 000 F au trésorier.\n1 Confirmer\n2 Annuler"))
    done = phone.press("1")
    assert phone.ended
    [declaration] = declarations(db)
    assert (declaration.amount, declaration.status) == (5_000, DeclarationStatus.PENDING)
    assert done == fold(
        f"Déclaration {declaration.code} envoyée au trésorier: 5 000 F. Vous aurez un reçu quand il confirme."
    )
    assert sorted(n.to for n in outbox(kind="notice")) == sorted([TREASURER, PRESIDENT])


def test_replayed_confirmation_declares_once(coop, pins, client, db, outbox):
    """The aggregator repeats the confirming hop: one declaration, one round of notices."""
    phone = Phone(client, AWA)
    open_declare(phone)
    phone.press("5000")
    first = phone.press("1")
    assert phone.replay() == first
    assert len(declarations(db)) == 1
    assert len(outbox(kind="notice")) == 2


def test_too_much_and_junk_are_hinted_on_the_same_screen(coop, pins, client, db):
    """More than what remains, or letters: a one-line hint above the amount question."""
    phone = Phone(client, AWA)
    open_declare(phone)
    assert phone.press("200000").startswith("Au plus 110 000 F.\n")
    assert phone.press("abc").startswith("Tapez le montant en chiffres, par exemple 5000.\n")
    assert phone.press("0").startswith("Tapez le montant")
    assert not phone.ended
    assert declarations(db) == []


def test_no_active_loan_ends_saying_so(coop, pins, client, db):
    """Binta has no loan: option 4 ends at once."""
    phone = Phone(client, BINTA)
    assert open_declare(phone) == "You have no active loan: nothing to declare."
    assert phone.ended


def test_a_second_declaration_replaces_the_first(coop, pins, client, db, outbox):
    """The END screen says which code it replaces; the treasurers are told."""
    phone = Phone(client, AWA)
    open_declare(phone)
    phone.press("5000")
    phone.press("1")
    open_declare(phone)
    phone.press("6000")
    done = phone.press("1")
    first, second = declarations(db)
    assert first.status == DeclarationStatus.REPLACED and second.status == DeclarationStatus.PENDING
    assert done.endswith(fold(f"\nRemplace la déclaration {first.code}."))
    assert f"{first.code} par 6 000 F" in outbox(to=TREASURER, kind="notice")[-1].text


def test_cancel_returns_to_the_menu(coop, pins, client, db):
    """2 Annuler: nothing declared, the main menu with a word saying so."""
    phone = Phone(client, AWA)
    open_declare(phone)
    phone.press("5000")
    assert phone.press("2").startswith(fold("Déclaration de paiement annulée.\nMbolo - Menu"))
    assert declarations(db) == []


@pytest.mark.parametrize(
    ("screen", "ctx", "entry", "expected"),
    [
        ("main", {}, "4", "declare"),
        ("declare", {"dm": 110_000}, "5000", "declare_confirm"),
        ("declare", {"dm": 110_000}, "110000", "declare_confirm"),
        ("declare", {"dm": 110_000}, "110001", "declare"),
        ("declare", {"dm": 110_000}, "98", "declare_confirm"),  # on an amount screen 98 is an amount
        ("declare", {"dm": 110_000}, "00", "main"),
        ("declare_confirm", {"dm": 110_000, "da": 5_000, "dk": "k1"}, "1", "declare_done"),
        ("declare_confirm", {"dm": 110_000, "da": 5_000}, "2", "main"),
        ("declare_confirm", {"dm": 110_000, "da": 5_000}, "0", "declare"),
        ("declare_confirm", {"dm": 110_000, "da": 5_000}, "7", "declare_confirm"),
    ],
)
def test_one_hop_table(coop, runtime, db, screen, ctx, entry, expected):
    """From `screen`, `entry` leads to `expected`."""
    awa = db.get(Member, coop.awa)
    line = Line(runtime, AWA)
    line.jump(screen, identity_of(awa), ctx)
    db.commit()
    line.press(entry)
    assert line.state == expected


def test_main_menu_4_without_a_loan_is_the_end_screen(coop, runtime, db):
    """The same key leads to the END screen for a member with nothing to pay."""
    line = Line(runtime, BINTA)
    line.jump("main", identity_of(db.get(Member, coop.binta)))
    db.commit()
    reply = line.press("4")
    assert reply.end and line.state == "declare_no_loan"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("declare", None),
        ("declare", "Au plus {max}."),
        ("declare", "Tapez le montant en chiffres, par exemple 5000."),
        ("declare_confirm", None),
        ("declare_done", None),
        ("declare_no_loan", None),
    ],
)
def test_screens_fit_160_gsm7_characters_in_every_language(coop, runtime, db, name, hint, language):
    """Millions of F and a replaced code: each screen whole within 160 GSM-7 characters, hint included."""
    from models.clock import FixedClock
    from tests.conftest import DEFAULT_NOW

    awa = db.get(Member, coop.awa)
    awa.language = language
    identity = identity_of(awa)
    db.rollback()
    hop = Hop(
        session_id="s",
        phone=AWA,
        state=name,
        step=0,
        clock=FixedClock(DEFAULT_NOW),
        pin_secret="x",
        sessions=runtime.sessions,
        config=runtime.config,
        identity=identity,
        authenticated=True,
        ctx={"dm": 99_999_999, "da": 99_999_999, "dc": "4821", "dr": "1234"},
    )
    if hint:
        hop.fail(hint, max=format_money(99_999_999))
    text = ENGINE.render(hop).text
    # The engine drops parts of a screen that would not fit: the whole question must still be there.
    head = hop.t(REGISTRY[name].text, **hop.view)
    assert head in text
    if hint:
        assert text.startswith(hop.t(hint, max=format_money(99_999_999)))
    assert is_gsm7(text)
    assert septets(text) <= 160, text


def test_pin_reset_by_sms_then_a_new_pin_by_ussd(coop, pins, client, sms, db):
    """Locked after three wrong PINs; the treasurer sends PIN m12; Awa chooses a new PIN, reaches the menu."""
    phone = Phone(client, AWA)
    phone.dial()
    for wrong in ("1111", "2222", "3333"):
        phone.press(wrong)
    assert phone.ended
    db.expire_all()
    assert db.get(Member, coop.awa).locked
    db.commit()
    assert sms("PIN m12").result == "done"
    first = phone.dial()
    assert first == fold("Bienvenue à Mbolo. Choisissez votre code PIN (4 chiffres):")
    phone.press("5172")
    assert phone.press("5172").startswith("Mbolo - Menu")
    db.expire_all()
    awa = db.get(Member, coop.awa)
    assert (awa.locked, awa.wrong_pins) == (False, 0)
    assert verify_pin("5172", awa.pin_hash, "test-pin-secret")
    db.commit()
