"""Engine rules on a small task added for the test: resume, `98` as data, idempotent writes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from i18n.catalog import N_
from menus.hop import Hop
from menus.registry import ENTRY, REGISTRY, resume_screen
from menus.screens import Decide, Option, Registry, Screen, whole_number
from menus.writes import add_once
from models import RepaymentDeclaration
from models.enums import DeclarationStatus
from tests import factories as f
from tests.phone import Phone, give_pin
from ussd_app.engine import Engine
from ussd_app.ussd_session import RESUME_KEY

PIN = "4827"


def save_task(hop: Hop) -> None:
    """A write action: one declaration per (sessionId, step), whatever the replays."""
    row, _created = add_once(
        hop,
        RepaymentDeclaration,
        lambda: RepaymentDeclaration(
            cooperative_id=hop.identity.cooperative_id,
            member_id=hop.member_id,
            amount=hop.ctx["qty"],
            code="0042",
            status=DeclarationStatus.PENDING,
            created_at=hop.now,
        ),
    )
    hop.ctx["ref"] = row.code


def _test_engine() -> Engine:
    registry = Registry()
    for screen in REGISTRY.screens.values():
        if screen.name == "main":
            screen = replace(screen, options=[*screen.options, Option("7", N_("Solde"), "task_qty")])
        if screen.name != "resume":
            registry.add([screen])
    registry.add(
        [
            Screen(
                "task_qty",
                "Quantite ?",
                accept=whole_number(1, 100_000),
                save_as="qty",
                then="task_confirm",
                resumable=True,
            ),
            Screen(
                "task_confirm",
                "{qty} ?",
                options=[
                    Option("1", "OK", Decide(lambda hop: "task_done", "task_done")),
                    Option("2", "X", "main"),
                ],
                back="task_qty",
                resumable=True,
            ),
            Screen("task_done", "Ref {ref}", on_enter=save_task, end=True),
        ]
    )
    registry.add([resume_screen(("task_confirm", "task_qty"))])
    registry.check()
    return Engine(registry, ENTRY)


TEST_ENGINE = _test_engine()


@pytest.fixture
def phone(app, client, db):
    app.extensions["mbolo.ussd_engine"] = TEST_ENGINE
    coop = f.coop(db)
    member = f.member(db, coop, phone="+221771234567")
    give_pin(db, member, PIN, "test-pin-secret")
    return Phone(client, "+221771234567")


def test_98_is_a_quantity_on_a_free_input_screen(phone):
    """On a free-input screen 98 is data and 0 is refused by the validator, not taken as back."""
    phone.dial()
    phone.press(PIN)
    assert phone.press("7").startswith("Quantite ?")
    assert phone.press("0").startswith("Nombre entre 1 et 100000.")
    assert phone.press("98") == "98 ?\n1 OK\n2 X\n0 Retour 00 Menu"
    assert phone.press("0").startswith("Quantite ?")  # on a menu, 0 is back


def test_an_interrupted_task_is_offered_after_the_pin_and_continues(runtime, phone):
    """Dropped on the confirmation: next dial, after the PIN, 1 continues with the same quantity."""
    phone.dial()
    phone.press(PIN)
    phone.press("7")
    phone.press("250")
    assert runtime.redis.ttl(RESUME_KEY + "+221771234567") <= 180
    phone.dial()  # the session dropped; the member dials again
    assert phone.press(PIN) == "Vous avez une opération non terminée.\n1 Continuer\n2 Menu principal"
    assert phone.press("1") == "250 ?\n1 OK\n2 X\n0 Retour 00 Menu"
    assert phone.press("1") == "Ref 0042"
    assert phone.ended
    phone.dial()
    assert phone.press(PIN).startswith("Mbolo - Menu")  # a finished task is not offered again


def test_the_resume_offer_can_be_declined(runtime, phone):
    """2 goes to the main menu and forgets the task."""
    phone.dial()
    phone.press(PIN)
    phone.press("7")
    phone.dial()
    phone.press(PIN)
    assert phone.press("2").startswith("Mbolo - Menu")
    assert runtime.redis.get(RESUME_KEY + "+221771234567") is None
    phone.dial()
    assert phone.press(PIN).startswith("Mbolo - Menu")


def test_menus_and_information_screens_are_never_resumed(phone):
    """Dropped on the balance: the next dial goes straight to the menu."""
    phone.dial()
    phone.press(PIN)
    phone.press("1")
    phone.dial()
    assert phone.press(PIN).startswith("Mbolo - Menu")


def test_a_write_replayed_after_a_lost_session_record_is_not_done_twice(runtime, phone, db):
    """The Redis write failed after the commit: the hop comes again, the unique key finds the first row."""
    phone.dial()
    phone.press(PIN)
    phone.press("7")
    phone.press("300")
    from tests.ussd_support import SESSION_KEY

    before = runtime.redis.get(SESSION_KEY + phone.session_id)
    assert phone.press("1") == "Ref 0042"
    runtime.redis.set(SESSION_KEY + phone.session_id, before)  # as if the pipeline had not run
    phone.text = phone.text.rsplit("*", 1)[0]
    phone.ended = False
    assert phone.press("1") == "Ref 0042"
    assert db.scalar(select(func.count()).select_from(RepaymentDeclaration)) == 1
