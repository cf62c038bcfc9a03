"""Members using the phone: PIN, balance, loans, language, change PIN, replays — read as conversations."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from i18n.gsm7 import fold
from models import Member, OutboundSms, RepaymentDeclaration
from models.enums import DeclarationStatus, Frequency, Role, Source
from models.ledger import record_repayment
from models.pin import check_pin, reset_pin
from tests import factories as f
from tests.conftest import DEFAULT_NOW
from tests.phone import Phone, give_pin

PIN = "4827"


@pytest.fixture
def coop(db):
    return f.coop(db)


@pytest.fixture
def awa(db, coop):
    """A member with savings and one monthly loan, no PIN yet."""
    member = f.member(db, coop, name="Awa Diop", phone="+221771234567", savings=12_500)
    db.commit()
    return member


@pytest.fixture
def phone(client):
    return Phone(client, "77 123 45 67")


def fresh(db, member) -> Member:
    """The member as stored now (the read transaction is closed: SQLite writers must not wait on it)."""
    db.expire_all()
    found = db.get(Member, member.id)
    db.commit()
    return found


def test_first_dial_chooses_a_pin_and_the_balance_shows_the_right_figures(db, awa, phone):
    """Savings, outstanding (late part), next instalment and the pending declaration, not deducted."""
    f.loan(db, awa, principal=100_000, interest=10_000, installments=10, disbursed_on=date(2026, 10, 1))
    record_repayment(
        db, member=awa, amount=3_000, paid_on=date(2026, 11, 5), now=DEFAULT_NOW, source=Source.CLI
    )
    db.add(
        RepaymentDeclaration(
            cooperative_id=awa.cooperative_id,
            member_id=awa.id,
            amount=5_000,
            code="4521",
            status=DeclarationStatus.PENDING,
            created_at=DEFAULT_NOW,
        )
    )
    db.commit()

    assert "Choisissez votre code PIN" in phone.dial()
    assert "Tapez encore le meme code PIN" in phone.press(PIN)
    menu = phone.press(PIN)
    assert menu.startswith("Mbolo - Menu\n1 Solde\n2 ")
    assert "6 Changer PIN" in menu
    assert phone.press("1") == (
        "Épargne: 12 500 F\n"
        "Reste du: 107 000 F\n"
        "Dont en retard: 8 000 F\n"
        "Prochaine échéance: 11 000 F le 01/12/2026\n"
        "En attente: 5 000 F\n"
        "0 Retour 00 Menu"
    )
    assert not phone.ended
    assert phone.press("0").startswith("Mbolo - Menu")
    assert fresh(db, awa).pin_hash is not None


def test_a_member_without_loan_sees_zero_and_no_instalment(db, awa, phone):
    """No loan: outstanding 0 F and no next-instalment line."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert phone.press("1") == "Épargne: 12 500 F\nReste du: 0 F\n0 Retour 00 Menu"


@pytest.mark.parametrize("pin", ["1111", "0000", "9999", "1234"])
def test_easy_pins_are_refused_and_the_choice_is_asked_again(awa, phone, pin):
    """Four identical digits and 1234 are refused with a hint; the session goes on."""
    phone.dial()
    screen = phone.press(pin)
    assert screen.startswith("Code trop facile")
    assert "Choisissez votre code PIN" in screen
    assert not phone.ended
    assert "Tapez encore" in phone.press("1235")


@pytest.mark.parametrize("entry", ["123", "12345", "12a4", "98", "00", "0"])
def test_a_pin_must_be_four_digits_and_navigation_keys_are_data_there(awa, phone, entry):
    """Before the PIN, 00/0/98 do not navigate: they are (bad) PINs."""
    phone.dial()
    screen = phone.press(entry)
    assert screen.startswith("Le code PIN a 4 chiffres.")
    assert "Choisissez votre code PIN" in screen


def test_a_mismatched_confirmation_restarts_at_choose(db, awa, phone):
    """Two different PINs: back to choosing, then a matching pair opens the menu."""
    phone.dial()
    phone.press("2580")
    screen = phone.press("2581")
    assert screen.startswith("Les deux codes diffèrent. Recommencez.")
    assert "Choisissez votre code PIN" in screen
    assert fresh(db, awa).pin_hash is None
    phone.press("3690")
    assert phone.press("3690").startswith("Mbolo - Menu")


def test_three_wrong_pins_lock_the_member_also_on_the_next_dial(db, awa, phone):
    """Tries left are shown; the third wrong PIN ends the session locked; the next dial says locked."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    assert phone.press("1111").startswith("Code PIN faux. Essais restants: 2.")
    assert phone.press("2222").startswith("Code PIN faux. Essais restants: 1.")
    screen = phone.press("3333")
    assert phone.ended
    assert screen.startswith("Compte bloqué")
    assert "trésorier" in screen
    assert fresh(db, awa).locked
    assert phone.dial().startswith("Compte bloqué")
    assert phone.ended


def test_wrong_pins_count_across_sessions_and_a_right_one_resets(db, awa, phone):
    """Two wrong, hang up, right one: reset; two wrong later, one more in a new session: locked."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press("1111")
    phone.press("2222")
    assert fresh(db, awa).wrong_pins == 2
    phone.dial()
    assert phone.press(PIN).startswith("Mbolo - Menu")
    assert fresh(db, awa).wrong_pins == 0
    phone.dial()
    phone.press("1111")
    phone.press("2222")
    phone.dial()
    assert phone.press("3333").startswith("Compte bloqué")


def test_a_treasurers_reset_lets_the_member_choose_a_new_pin(db, awa, phone):
    """Locked until reset; after it the next dial asks for a new PIN."""
    give_pin(db, awa, PIN, "test-pin-secret")
    for _ in range(3):
        phone.dial()
        phone.press("1111")
    assert fresh(db, awa).locked
    member = fresh(db, awa)
    reset_pin(db, member, actor="member:99", source=Source.SMS, now=DEFAULT_NOW)
    db.commit()
    assert "Choisissez votre code PIN" in phone.dial()


def test_change_pin_ends_with_a_confirmation_and_the_new_pin_works(db, awa, phone):
    """6: current → new → confirm → END; the old PIN no longer opens the menu."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert phone.press("6").startswith("Changer de PIN. Code PIN actuel:")
    assert phone.press(PIN).startswith("Nouveau code PIN")
    assert phone.press("1234").startswith("Code trop facile")
    phone.press("5172")
    assert phone.press("5173").startswith("Les deux codes diffèrent")
    phone.press("5172")
    assert phone.press("5172") == "Votre code PIN est changé. Merci."
    assert phone.ended
    phone.dial()
    assert phone.press(PIN).startswith("Code PIN faux")
    assert phone.press("5172").startswith("Mbolo - Menu")


def test_wrong_current_pin_in_change_pin_counts_towards_the_lock(db, awa, phone):
    """Two wrong at login, then a wrong current PIN in Change PIN: locked."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press("1111")
    phone.press("2222")
    phone.press(PIN)
    phone.press("6")
    assert phone.press("7777").startswith("Code PIN faux. Essais restants: 2.")
    assert phone.press("7778").startswith("Code PIN faux. Essais restants: 1.")
    assert phone.press("7779").startswith("Compte bloqué")
    assert phone.ended
    assert fresh(db, awa).locked


def test_a_replayed_hop_gets_the_same_screen_and_nothing_is_done_twice(db, awa, phone):
    """The aggregator resends a hop: same reply; a wrong PIN is counted once."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    first = phone.press("1111")
    assert phone.replay() == first
    assert fresh(db, awa).wrong_pins == 1
    menu = phone.press(PIN)
    assert phone.replay() == menu
    balance = phone.press("1")
    assert phone.replay() == balance
    assert phone.press("0") == menu


def test_the_language_is_switched_persisted_and_used_at_the_next_dial(db, awa, phone):
    """5 → 2 (Wolof): the main menu comes back in Wolof; the next dial greets in Wolof."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert phone.press("5") == "Choisissez votre langue:\n1 Francais\n2 Wolof\n3 English\n0 Retour 00 Menu"
    menu = phone.press("2")
    # The confirmation is in the language just chosen, above the menu in it.
    assert menu.startswith("Làkk wi bindu na.\nMbolo - Tannal\n1 Sa xaalis")
    assert fresh(db, awa).language == "wo"
    assert phone.dial() == "Mbolo. Bindal sa kod PIN:"
    phone.press(PIN)
    phone.press("5")
    assert phone.press("3").startswith("Language saved.\nMbolo - Menu\n1 Balance")
    assert phone.press("1").startswith("Savings: 12 500 F")


def test_unknown_phone_ends_at_once(phone):
    """Not registered: END, contact your cooperative."""
    assert phone.dial() == "Ce numéro n'est pas inscrit à Mbolo. Contactez votre coopérative."
    assert phone.ended


def test_inactive_member_keeps_balance_language_and_pin_only(db, coop, client):
    """Deactivated: the menu offers 1, 5 and 6; 3 is refused with a hint."""
    member = f.member(db, coop, phone="+221770000011", status="inactive")
    give_pin(db, member, PIN, "test-pin-secret")
    phone = Phone(client, "+221770000011")
    phone.dial()
    assert phone.press(PIN) == "Mbolo - Menu\n1 Solde\n5 Langue\n6 Changer PIN"
    assert phone.press("3").startswith("Choix invalide")


def test_my_loan_with_one_loan_goes_straight_to_its_detail(db, awa, phone):
    """One loan: no list; what is left and what of it is late first, then instalments due with
    their unpaid amount, late ones marked; 0 back to the menu."""
    give_pin(db, awa, PIN, "test-pin-secret")
    f.loan(db, awa, reference="L-7", principal=20_000, interest=0, installments=2)
    record_repayment(db, member=awa, amount=4_000, paid_on=date(2026, 11, 3), now=DEFAULT_NOW, source="cli")
    db.commit()
    phone.dial()
    phone.press(PIN)
    assert phone.press("3") == (
        "Pret L-7\nReste 16 000 F, dont 6 000 F en retard.\nA payer:\n01/11/2026 6 000 F retard\n"
        "01/12/2026 10 000 F\n98 Suite 0 Retour 00 Menu"
    )
    # The next section's heading starts the next page rather than ending this one.
    assert phone.press("98") == (
        "Pret L-7\nReste 16 000 F, dont 6 000 F en retard.\nDerniers paiements:\n03/11/2026 4 000 F\n"
        "0 Retour 00 Menu"
    )
    phone.press("0")
    assert phone.press("0").startswith("Mbolo - Menu")


def test_my_loan_without_loan_says_so(awa, phone, db):
    """No active loan: a clear line, 0 back."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert phone.press("3") == "Vous n'avez pas de pret en cours.\n0 Retour 00 Menu"


def test_several_loans_list_first_and_back_returns_to_the_list(db, awa, phone):
    """Two loans: the list, then a loan's detail; 0 goes back to the list, 00 to the menu."""
    give_pin(db, awa, PIN, "test-pin-secret")
    loan_a = f.loan(db, awa, reference="L-A", principal=50_000, interest=5_000)
    f.loan(db, awa, reference="L-B", principal=20_000, interest=0, disbursed_on=date(2026, 11, 1))
    record_repayment(
        db, member=awa, amount=5_000, paid_on=date(2026, 11, 3), now=DEFAULT_NOW, source="cli", loan=loan_a
    )
    db.commit()
    phone.dial()
    phone.press(PIN)
    # What is left of each loan, not what was lent (55 000 F for L-A).
    assert phone.press("3") == "Vos prets en cours:\n1 L-A 50 000 F\n2 L-B 20 000 F\n0 Retour 00 Menu"
    assert phone.press("3").startswith("Choix invalide")
    assert phone.press("2").startswith(
        "Pret L-B\nReste 20 000 F, rien en retard.\nA payer:\n01/12/2026 2 000 F"
    )
    assert phone.press("0").startswith("Vos prets en cours:")
    phone.press("1")
    assert phone.press("00").startswith("Mbolo - Menu")


def test_paging_forward_and_back_through_a_long_history(db, awa, phone):
    """A year of weekly payments: 98 pages forward, 0 pages back, 0 on page 1 leaves, no page past the end."""
    give_pin(db, awa, PIN, "test-pin-secret")
    loan = f.loan(
        db,
        awa,
        reference="L-W",
        principal=104_000,
        interest=0,
        installments=52,
        frequency=Frequency.WEEKLY,
        disbursed_on=date(2025, 11, 1),
    )
    for week in range(40):
        record_repayment(
            db,
            member=awa,
            amount=1_000 + week,
            paid_on=date(2025, 11, 8 + 0)
            if week == 0
            else date.fromordinal(date(2025, 11, 8).toordinal() + 7 * week),
            now=DEFAULT_NOW,
            source="cli",
            loan=loan,
        )
    db.commit()
    phone.dial()
    phone.press(PIN)
    pages = [phone.press("3")]
    while "98 Suite" in pages[-1]:
        pages.append(phone.press("98"))
    assert len(pages) >= 5
    assert all(len(p) <= 160 for p in pages)
    assert pages[0].startswith("Pret L-W\nReste 63 220 F, dont 63 220 F en retard.\nA payer:")
    assert "Derniers paiements:" in "".join(pages)
    # Every page carries the loan and the section its lines belong to; no page ends on a heading.
    headings = ("A payer:", "Derniers paiements:")
    for page in pages:
        lines = page.split("\n")
        assert lines[:2] == ["Pret L-W", "Reste 63 220 F, dont 63 220 F en retard."]
        assert lines[2] in headings, page
        assert lines[-2] not in headings, page
    # A wrong key re-shows the page with its heading (the hint says which keys to type).
    again = phone.press("7")
    assert again.split("\n")[:3] == [
        "Tapez 98 (suite), 0 (retour) ou 00 (menu).",
        "Pret L-W",
        "Reste 63 220 F, dont 63 220 F en retard.",
    ]
    # newest payment first, oldest last
    body = "\n".join(pages)
    assert body.index("1 039 F") < body.index("1 000 F")
    last = phone.press("98")
    assert last.startswith("Pas d'autre page.")
    assert not phone.ended
    for page in reversed(pages[:-1]):
        assert phone.press("0") == page
    assert phone.press("0").startswith("Mbolo - Menu")


WRONG_ENTRIES = [
    # (path after the PIN, wrong entry, screen expected after the hint)
    ([], "7", "Mbolo - Menu"),
    ([], "", "Mbolo - Menu"),
    ([], "0", "Mbolo - Menu"),
    ([], "98", "Mbolo - Menu"),
    ([], "1*2", "Mbolo - Menu"),
    (["1"], "5", "Reste du"),
    (["1"], "98", "Reste du"),
    (["3"], "9", "Vos prets en cours:"),
    (["3"], "abc", "Vos prets en cours:"),
    (["3", "1"], "4", "A payer:"),
    (["5"], "4", "Choisissez votre langue:"),
    (["5"], "98", "Choisissez votre langue:"),
    (["6"], "12", "Changer de PIN. Code PIN actuel:"),
    (["6", PIN], "0000", "Nouveau code PIN"),
    (["6", PIN], "98", "Nouveau code PIN"),
]


@pytest.mark.parametrize(("path", "entry", "screen"), WRONG_ENTRIES)
def test_every_wrong_entry_re_prompts_the_same_screen(db, awa, phone, path, entry, screen):
    """A one-line hint above the same screen; the session goes on."""
    give_pin(db, awa, PIN, "test-pin-secret")
    f.loan(db, awa, reference="L-A", principal=50_000, interest=5_000)
    f.loan(db, awa, reference="L-B", principal=20_000, interest=0, disbursed_on=date(2026, 11, 1))
    db.commit()
    phone.dial()
    phone.press(PIN)
    for step in path:
        phone.press(step)
    text = phone.press(entry)
    hint = text.partition("\n")[0]
    assert hint.endswith("."), text
    assert screen in text
    assert not phone.ended
    assert len(text) <= 160


def test_00_returns_to_the_main_menu_from_a_free_input_screen(db, awa, phone):
    """On the current-PIN screen only 00 navigates."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert phone.press("6").endswith("00 Menu")
    assert phone.press("00").startswith("Mbolo - Menu")


def test_options_2_and_4_are_reachable_from_the_menu(db, awa, phone):
    """The menu's 2 and 4 open their screens (coming soon or the real ones), never an error."""
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press(PIN)
    assert not phone.ended
    two = phone.press("2")
    assert "indisponible" not in two
    phone.press("00")
    four = phone.press("4")
    assert "indisponible" not in four


def _notices(db) -> list[OutboundSms]:
    db.expire_all()
    rows = list(db.scalars(select(OutboundSms).where(OutboundSms.kind == "notice").order_by(OutboundSms.id)))
    db.commit()
    return rows


def test_the_lock_alerts_the_treasurers_once_naming_the_member_and_the_reset_command(db, coop, awa, phone):
    """Third wrong PIN: each active treasurer gets one SMS with the member and `PIN M0001`; never again."""
    f.member(db, coop, "T0001", "Fatou Sarr", "+221770000001", role=Role.TREASURER)
    f.member(db, coop, "T0002", "Ngone Faye", "+221770000003", role=Role.TREASURER, language="wo")
    f.member(db, coop, "P0001", "Moussa Ndiaye", "+221770000002", role=Role.PRESIDENT)
    f.member(db, f.coop(db, "GIE Thies", "THS"), "T0001", "Ousmane Ba", "+221770000009", role=Role.TREASURER)
    give_pin(db, awa, PIN, "test-pin-secret")
    phone.dial()
    phone.press("1111")
    phone.press("2222")
    assert _notices(db) == []
    phone.press("3333")
    alerts = _notices(db)
    assert sorted(a.to for a in alerts) == ["+221770000001", "+221770000003"]
    [fr] = [a for a in alerts if a.language == "fr"]
    assert fr.text == fold(
        "NDB: Awa Diop (M0001) a fait 3 PIN faux et est bloqué. Pour effacer son PIN, envoyez PIN M0001."
    )
    assert all(a.segments == 1 and "PIN M0001" in a.text for a in alerts)
    assert phone.dial().startswith("Compte bloqué")
    locked_again = check_pin(db, awa.id, "4444", secret="test-pin-secret", now=DEFAULT_NOW)
    assert locked_again.locked and not locked_again.just_locked
    db.commit()
    assert len(_notices(db)) == 2


def test_the_lock_alerts_the_president_when_there_is_no_treasurer(db, coop, awa, phone):
    """No active treasurer: the president is told instead."""
    f.member(db, coop, "T0001", "Fatou Sarr", "+221770000001", role=Role.TREASURER, status="inactive")
    f.member(db, coop, "P0001", "Moussa Ndiaye", "+221770000002", role=Role.PRESIDENT)
    give_pin(db, awa, PIN, "test-pin-secret")
    for wrong in ("1111", "2222", "3333"):
        phone.dial()
        phone.press(wrong)
    assert [a.to for a in _notices(db)] == ["+221770000002"]
