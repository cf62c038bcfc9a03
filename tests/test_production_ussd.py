"""Members reporting production by USSD (main menu option 2), read as conversations."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import event, select

from i18n.gsm7 import septets
from menus.production import display_name
from models import OutboundSms, Product, ProductionReport
from models.clock import DAKAR
from models.codes import is_valid
from models.enums import Language
from models.pin import hash_pin
from tests import factories
from tests.phone import Phone

PIN = "4827"
NUMBER = "+221771234567"
# Realistic long names, as cooperatives write them in the products CSV.
LONG_NAMES = [
    ("Savon artisanal au beurre de karité", "piece"),
    ("Poudre de feuilles de moringa séchées", "kg"),
    ("Jus de bissap concentré en bouteille", "litre"),
    ("Couscous de mil enrichi au niébé", "sac"),
    ("Mangues séchées de Casamance", "kg"),
    ("Pâte d'arachide artisanale", "kg"),
    ("Huile de palme rouge non raffinée", "litre"),
    ("Miel de mangrove du Saloum", "litre"),
]


def arrange_member(
    db, coop, *, language: str = Language.FR, phone: str = NUMBER, name: str = "Awa Diop", member_no="M0001"
):
    """A member of `coop` who already chose the PIN."""
    member = factories.member(db, coop, member_no, name=name, phone=phone, language=language)
    member.pin_hash = hash_pin(PIN, "test-pin-secret")
    db.commit()
    return member


@pytest.fixture
def coop(db):
    """A cooperative with three products."""
    c = factories.coop(db)
    for name, unit in (("Arachide", "kg"), ("Lait caillé", "litre"), ("Mil", "kg")):
        factories.product(db, c, name, unit)
    db.commit()
    return c


@pytest.fixture
def awa(db, coop):
    """A French-speaking member with a PIN."""
    return arrange_member(db, coop)


@pytest.fixture
def phone(client, awa):
    """Awa's phone."""
    return Phone(client, "77 123 45 67")


def open_production(phone: Phone) -> str:
    """Dial, enter the PIN, choose 2 Report production."""
    phone.dial()
    phone.press(PIN)
    return phone.press("2")


def reports(db) -> list[ProductionReport]:
    """Every production report, oldest first, freshly read."""
    db.expire_all()
    rows = db.scalars(select(ProductionReport).order_by(ProductionReport.id)).all()
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    return rows


def outbox(db) -> list[OutboundSms]:
    """Every outbox row, freshly read."""
    db.expire_all()
    rows = db.scalars(select(OutboundSms).order_by(OutboundSms.id)).all()
    db.commit()
    return rows


def test_a_full_report(db, awa, phone):
    """Product, quantity, confirmation, saved: a CON screen with the reference, then the menu."""
    assert open_production(phone) == (
        "Déclarer production. Quel produit ?\n1 Arachide\n2 Lait caillé\n3 Mil\n4 Mes déclarations\n"
        "0 Retour 00 Menu"
    )
    assert phone.press("1") == "Arachide: quantité en kg ?\n00 Menu"
    assert phone.press("120") == (
        "Arachide: 120 kg\nCette semaine (30/11-06/12)\n"
        "1 Confirmer\n2 Annuler\n3 Changer de semaine\n0 Retour 00 Menu"
    )
    saved = phone.press("1")
    assert not phone.ended
    [report] = reports(db)
    # The saved screen names the week by its dates.
    assert (
        saved
        == f"Enregistré. Réf {report.reference}\nArachide: 120 kg (30/11-06/12)\n1 Autre produit\n00 Menu"
    )
    assert is_valid(report.reference)
    assert (report.member_id, report.quantity, report.iso_year, report.iso_week) == (awa.id, 120, 2026, 49)
    assert report.source == "ussd" and report.superseded_at is None
    assert phone.press("00").startswith("Mbolo - Menu")
    assert outbox(db) == []  # PRODUCTION_RECEIPT_SMS is off by default


@pytest.mark.parametrize("entry", ["-5", "abc", "12kg", "1.5", "1 200", "100001", "999999999999"])
def test_each_invalid_quantity_re_prompts_with_the_range(db, phone, entry):
    """Negatives, letters, decimals and absurd values show the range and ask again (0 goes back)."""
    open_production(phone)
    phone.press("1")
    screen = phone.press(entry)
    assert screen == "Tapez un nombre entier de 1 à 100 000.\nArachide: quantité en kg ?\n00 Menu"
    assert not phone.ended
    assert phone.press("75").startswith("Arachide: 75 kg\n")
    assert reports(db) == []


def test_0_on_the_quantity_screen_goes_back_to_the_products(db, phone):
    """A quantity is never 0, so `0` there goes back, as on menus; nothing is saved."""
    open_production(phone)
    phone.press("1")
    assert phone.press("0").startswith("Déclarer production. Quel produit ?\n1 Arachide")
    assert phone.press("2") == "Lait caillé: quantité en litre ?\n00 Menu"
    assert reports(db) == []


def test_98_and_0_prefixed_numbers_are_quantities_on_the_quantity_screen(db, phone):
    """`98` is a quantity there, not "next page"."""
    open_production(phone)
    phone.press("3")
    assert phone.press("98").startswith("Mil: 98 kg\nCette semaine")
    phone.press("1")
    assert [r.quantity for r in reports(db)] == [98]


def test_invalid_choices_re_prompt_on_the_list_and_the_confirmation(db, phone):
    """A number outside the list or the options shows a hint and the same screen."""
    open_production(phone)
    assert phone.press("7").startswith("Choix invalide. Tapez un des numéros.\nDéclarer production.")
    phone.press("2")
    phone.press("10")
    assert phone.press("5").startswith("Choix invalide. Tapez un des numéros.\nLait caillé: 10 litre")
    assert not phone.ended and reports(db) == []


def test_cancel_saves_nothing(db, phone):
    """2 Cancel returns to the main menu and records nothing."""
    open_production(phone)
    phone.press("1")
    phone.press("40")
    menu = phone.press("2")
    assert menu.startswith("Déclaration annulée.\nMbolo - Menu\n1 Solde")
    assert reports(db) == []


def test_back_from_the_confirmation_lets_the_quantity_be_typed_again(db, phone):
    """0 on the confirmation goes back to the quantity."""
    open_production(phone)
    phone.press("1")
    phone.press("400")
    assert phone.press("0") == "Arachide: quantité en kg ?\n00 Menu"
    phone.press("40")
    phone.press("1")
    assert [r.quantity for r in reports(db)] == [40]


def test_change_week_reports_for_last_week(db, phone):
    """3 Change week offers this week and last week with their dates."""
    open_production(phone)
    phone.press("1")
    phone.press("60")
    assert phone.press("3") == (
        "Quelle semaine ?\n1 Cette semaine (30/11-06/12)\n2 Semaine passée (23/11-29/11)\n0 Retour 00 Menu"
    )
    assert phone.press("2").startswith("Arachide: 60 kg\nSemaine passée (23/11-29/11)\n1 Confirmer")
    phone.press("1")
    [report] = reports(db)
    assert (report.iso_year, report.iso_week) == (2026, 48)


def test_a_replayed_confirmation_saves_once(db, runtime, phone):
    """The aggregator repeats the confirmation hop: the same screen, one report."""
    open_production(phone)
    phone.press("1")
    phone.press("120")
    first = phone.press("1")
    assert phone.replay() == first
    assert len(reports(db)) == 1


def test_a_confirmation_replayed_after_a_lost_session_write_saves_once(db, runtime, phone):
    """The database committed but Redis kept the old state: the same hop again finds the saved report."""
    open_production(phone)
    phone.press("1")
    phone.press("120")
    keys = [f"ussd:s:{phone.session_id}", f"ussd:r:{NUMBER}"]
    before = {k: runtime.redis.dump(k) for k in keys}
    first = phone.press("1")
    for key, value in before.items():  # as if the pipeline after the commit had failed
        runtime.redis.restore(key, 0, value, replace=True)
    phone.text = phone.text.rsplit("*", 1)[0]
    again = phone.press("1")
    assert again == first
    assert len(reports(db)) == 1


def test_a_resumed_session_confirms_once(db, runtime, client, awa, phone):
    """Dropped on the confirmation: the next dial offers to continue, and confirming records one report,
    even when the first session's confirmation had been saved but its answer lost."""
    open_production(phone)
    phone.press("2")
    phone.press("15")
    # The session drops; the member dials again within three minutes.
    phone.dial()
    assert phone.press(PIN).startswith("Vous avez une opération non terminée.\n1 Continuer\n2 Menu principal")
    assert phone.press("1").startswith("Lait caillé: 15 litre\nCette semaine (30/11-06/12)\n1 Confirmer")
    resume_key = f"ussd:r:{NUMBER}"
    kept = runtime.redis.dump(resume_key)
    saved = phone.press("1")
    assert len(reports(db)) == 1
    # The answer was lost after the commit and the task record survived: a third dial resumes again.
    runtime.redis.restore(resume_key, 0, kept, replace=True)
    phone.dial()
    phone.press(PIN)
    phone.press("1")
    assert phone.press("1") == saved
    assert len(reports(db)) == 1


def test_a_second_report_for_the_same_week_supersedes_the_first(db, phone):
    """Reporting Arachide again this week replaces the first figure; the screen says so."""
    open_production(phone)
    phone.press("1")
    phone.press("120")
    phone.press("1")
    assert phone.press("1").startswith("Déclarer production. Quel produit ?")  # 1 Another product
    phone.press("1")
    # Before confirming, the member sees what the new figure replaces.
    assert phone.press("150") == (
        "Arachide: 150 kg\nCette semaine (30/11-06/12)\nRemplace 120 kg.\n"
        "1 Confirmer\n2 Annuler\n3 Changer de semaine\n0 Retour 00 Menu"
    )
    screen = phone.press("1")
    first, second = reports(db)
    assert first.superseded_at is not None and second.superseded_at is None
    assert (first.quantity, second.quantity) == (120, 150)
    assert screen == (
        f"Enregistré. Réf {second.reference}\nArachide: 150 kg (30/11-06/12)\n"
        f"Remplace votre déclaration {first.reference}.\n1 Autre produit\n00 Menu"
    )


def test_another_product_in_the_same_session(db, phone):
    """1 Another product starts a new report; both stay current."""
    open_production(phone)
    phone.press("1")
    phone.press("120")
    phone.press("1")
    phone.press("1")
    phone.press("3")
    phone.press("35")
    phone.press("1")
    rows = reports(db)
    assert [(r.quantity, r.superseded_at) for r in rows] == [(120, None), (35, None)]
    assert rows[0].product_id != rows[1].product_id
    assert rows[0].idempotency_key != rows[1].idempotency_key


def test_a_cooperative_without_products_says_so(db, client):
    """No product to report: a clear screen, with the way back."""
    empty = factories.coop(db, "GIE Sans Produit", "SPR")
    arrange_member(db, empty, phone="+221771112233")
    phone = Phone(client, "771112233")
    screen = open_production(phone)
    assert screen == (
        "Votre coopérative n'a pas encore de produits à déclarer. Voyez votre trésorier.\n0 Retour 00 Menu"
    )
    assert not phone.ended
    assert phone.press("0").startswith("Mbolo - Menu")


def test_a_long_product_list_is_paged(db, client):
    """98 shows the next page, numbering goes on across pages, 0 goes back a page; each page fits."""
    c = factories.coop(db, "GIE Saloum", "SLM")
    for name, unit in LONG_NAMES:
        factories.product(db, c, name, unit)
    arrange_member(db, c, phone="+221772223344")
    phone = Phone(client, "772223344")
    pages = [open_production(phone)]
    assert pages[0].startswith("Déclarer production. Quel produit ?\n1 Couscous de mil enrichi au niébé\n")
    while "98 Suite" in pages[-1]:
        pages.append(phone.press("98"))
        assert len(pages) < 6
    assert len(pages) > 1
    for page in pages:
        assert septets(page) <= 160, page
    items = [line for page in pages for line in page.splitlines() if re.match(r"[1-8] ", line)]
    assert items == [
        "1 Couscous de mil enrichi au niébé",
        "2 Huile de palme rouge non raffinée",
        "3 Jus de bissap concentré en bouteille",
        "4 Mangues séchées de Casamance",
        "5 Miel de mangrove du Saloum",
        "6 Pate d'arachide artisanale",  # â is not GSM-7
        "7 Poudre de feuilles de moringa séchées",
        "8 Savon artisanal au beurre de karité",
    ]
    assert phone.press("0") == pages[-2]
    assert phone.press("6").startswith("Pate d'arachide artisanale: quantité en kg ?")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            Language.FR,
            "Mbolo: Awa Diop, 1 200 kg de Arachide enregistrés (semaine du 30/11 au 06/12). Réf {ref}",
        ),
        (Language.WO, "Mbolo: Awa Diop, 1 200 kg Arachide bind nañu ko (ayubés 30/11-06/12). Ref {ref}"),
        (Language.EN, "Mbolo: Awa Diop, 1 200 kg of Arachide saved (week 30/11-06/12). Ref {ref}"),
    ],
)
def test_the_optional_receipt_is_sent_in_the_members_language(db, runtime, coop, client, language, expected):
    """PRODUCTION_RECEIPT_SMS on: one receipt through the outbox, even if the confirmation is replayed."""
    runtime.config = replace(runtime.config, PRODUCTION_RECEIPT_SMS=True)
    arrange_member(db, coop, language=language)
    phone = Phone(client, NUMBER)
    open_production(phone)
    phone.press("1")
    phone.press("1200")
    phone.press("1")
    phone.replay()
    [report] = reports(db)
    [sms] = outbox(db)
    assert sms.text == expected.format(ref=report.reference)
    assert (sms.kind, sms.to, sms.language, sms.segments) == ("receipt", NUMBER, language, 1)
    assert sms.member_id == report.member_id


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Poudre de feuilles de moringa séchées", "Poudre de feuilles de moringa séchées"),
        ("Couscous de mil enrichi au niébé de qualité supérieure", "Couscous de mil enrichi au niébé"),
        ("Confiture de mangue et de papaye du Saloum", "Confiture de mangue et de papaye"),
        ("Pâte d'arachide", "Pate d'arachide"),
        ("Farine   de mil", "Farine de mil"),
        ("X" * 60, "X" * 39 + "."),
    ],
)
def test_long_product_names_are_cut_after_a_whole_word(name, shown):
    """Names beyond 40 characters are cut after a word, dangling short words dropped; GSM-7 only."""
    assert display_name(name) == shown


@pytest.mark.parametrize("language", [Language.FR, Language.WO, Language.EN])
def test_every_production_screen_fits_160_characters_with_long_names(db, client, language):
    """The whole flow, with the longest realistic names, hints and the supersede note, in every language."""
    c = factories.coop(db, "GIE Fatick", "FTK")
    for name, unit in LONG_NAMES:
        factories.product(db, c, name + " de qualité supérieure", unit)  # beyond 32: cut on screen
    arrange_member(db, c, language=language, phone="+221773334455")
    phone = Phone(client, "773334455")
    screens = [phone.dial(), phone.press(PIN), phone.press("2"), phone.press("98"), phone.press("1")]
    screens += [phone.press("abc"), phone.press("100000"), phone.press("9"), phone.press("3")]
    screens += [phone.press("7"), phone.press("2"), phone.press("3"), phone.press("1"), phone.press("1")]
    # Another product: the same one again, this week: the saved screen carries the supersede note.
    screens += [phone.press("1"), phone.press("1"), phone.press("99999"), phone.press("1")]
    assert len(reports(db)) == 2 and reports(db)[0].superseded_at is not None
    for screen in screens:
        assert septets(screen) <= 160, (len(screen), screen)


def test_the_report_reads_the_week_in_dakar(db, client, clock, awa, phone):
    """Sunday 23:30 in Dakar is still that week; Monday 00:10 is the next one."""
    clock.set(datetime(2026, 12, 6, 23, 30, tzinfo=DAKAR))
    open_production(phone)
    phone.press("1")
    assert "Cette semaine (30/11-06/12)" in phone.press("5")
    phone.press("2")  # cancel
    clock.set(datetime(2026, 12, 7, 0, 10, tzinfo=DAKAR))
    open_production(phone)
    phone.press("1")
    assert "Cette semaine (07/12-13/12)" in phone.press("5")


@pytest.fixture
def statements(engine):
    """The SQL statements sent to the database (BEGIN/COMMIT left out), per hop."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_read_only_hops_of_the_report_stay_within_three_statements(db, phone, statements):
    """List, quantity, confirmation and week screens: at most 3 SQL statements a hop.

    See docs/design.md, "The USSD session".
    """
    phone.dial()
    phone.press(PIN)
    for entry in ("2", "1", "120", "3", "2", "0", "98"):
        statements.clear()
        phone.press(entry)
        assert len(statements) <= 3, (entry, statements)
    assert reports(db) == []


def test_the_receipt_fits_one_sms_with_long_names(db, runtime, client):
    """The longest realistic member and product names, a 6-digit quantity: still one segment."""
    runtime.config = replace(runtime.config, PRODUCTION_RECEIPT_SMS=True)
    c = factories.coop(db, "GIE Fatick", "FTK")
    factories.product(db, c, "Couscous de mil enrichi au niébé de qualité supérieure", "sac de 50 kg")
    for i, language in enumerate((Language.FR, Language.WO, Language.EN)):
        number = f"+22177444556{i}"
        arrange_member(
            db, c, language=language, phone=number, name="Ndeye Fatou Ndiaye Diop Sarr", member_no=f"M{i}"
        )
        phone = Phone(client, number)
        open_production(phone)
        phone.press("1")
        phone.press("100000")
        phone.press("1")
    texts = outbox(db)
    assert len(texts) == 3
    for sms in texts:
        assert sms.segments == 1 and septets(sms.text) <= 160, sms.text
        assert "100 000 sac de 50 kg" in sms.text
        assert "Couscous de mil enrichi au niébé" in sms.text


def test_my_reports_lists_the_last_4_weeks_newest_first(db, awa, phone, clock):
    """2 → last choice: the member's current reports of this week and the 3 before, not older ones."""
    from datetime import timedelta

    from models.production import Week, save_report

    products = {p.name: p for p in db.scalars(select(Product))}
    for weeks_ago, name, quantity in [
        (0, "Arachide", 98),
        (1, "Mil", 40),
        (3, "Lait caillé", 12),
        (4, "Mil", 7),
    ]:
        save_report(
            db,
            member_id=awa.id,
            product_id=products[name].id,
            quantity=quantity,
            week=Week.of(clock.today() - timedelta(weeks=weeks_ago)),
            now=clock.now(),
            idempotency_key=None,
        )
    db.commit()
    open_production(phone)
    assert phone.press("4") == (
        "Vos déclarations (4 semaines):\n30/11 Arachide 98 kg\n23/11 Mil 40 kg\n09/11 Lait caillé 12 litre\n"
        "0 Retour 00 Menu"
    )
    assert phone.press("0").startswith("Déclarer production. Quel produit ?")
