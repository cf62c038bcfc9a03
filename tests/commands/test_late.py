"""RETARDS: officers page through their cooperative's arrears list or read one member; nobody else."""

from __future__ import annotations

from datetime import date, timedelta

from i18n.gsm7 import fold, segments
from models import Member
from models.arrears import members_in_arrears
from models.promises import record_promise
from sms import arrears_list
from tests import factories
from tests.commands.conftest import AWA, OTHER_TREASURER, PRESIDENT, STRANGER, TREASURER

TODAY = date(2026, 12, 1)


def _crowd(db, coop, count=30):
    """`count` more late members in NDB, 1 to `count` days late (Awa, 30 days, stays first)."""
    ndb = db.get(Member, coop.awa).cooperative
    for k in range(count):
        m = factories.member(db, ndb, f"M{100 + k:04d}", f"Membre Numero{k}", f"+22176{k:07d}")
        factories.loan(
            db,
            m,
            f"L-C{k}",
            5_000,
            0,
            1,
            first_due_on=TODAY - timedelta(days=1 + k),
            disbursed_on=TODAY - timedelta(days=40 + k),
        )
    db.commit()


def test_pages_are_the_shared_list_and_a_page_past_the_end_says_how_many(coop, sms, db, outbox):
    """RETARDS = page 1, RETARDS 2 = page 2, each one SMS; RETARDS 9 says how many pages there are."""
    _crowd(db, coop)
    members = members_in_arrears(db, TODAY, [coop.coop_id])
    expected = arrears_list.pages("fr", "NDB", members)
    db.commit()
    assert len(expected) >= 3
    assert sms("RETARDS").result == "replied"
    assert sms("retards 2", gateway_id="ATXid_p2").result == "replied"
    first, second = outbox(to=TREASURER)
    assert (first.text, second.text) == (expected[0].text, expected[1].text)
    assert first.segments == second.segments == 1
    assert "M0012 A.Diop 11 000F 30j" in first.text  # the most days late first
    assert sms("RETARDS 9", gateway_id="ATXid_p9").detail == "no_such_page"
    assert outbox(to=TREASURER)[-1].text == fold(
        f"NDB: pas de page 9: la liste des retards a {len(expected)} page(s). Envoyez RETARDS 1."
    )


def test_the_president_reads_it_in_wolof_and_members_and_strangers_are_refused(coop, sms, db, outbox):
    """The president (wo) gets the Wolof page; a member: officers only; a stranger: not registered."""
    assert sms("YEEX", PRESIDENT).result == "replied"
    [page] = outbox(to=PRESIDENT)
    assert page.language == "wo" and "M0012" in page.text
    assert sms("RETARDS", AWA).detail == "not_allowed"
    assert "RETARDS est réservé au trésorier et au président" in outbox(to=AWA)[0].text
    assert sms("RETARDS", STRANGER).detail == "not_registered"
    assert "M0012" not in outbox(to=STRANGER)[0].text


def test_another_cooperative_sees_nothing_of_this_one(coop, sms, outbox):
    """THS's treasurer: NDB's late member is not on their list; asking for them: 'not in your cooperative'."""
    sms("RETARDS", OTHER_TREASURER)
    assert "M0012" not in outbox(to=OTHER_TREASURER)[0].text
    assert "aucun membre en retard" in outbox(to=OTHER_TREASURER)[0].text
    assert sms("RETARDS M0012", OTHER_TREASURER).detail == "unknown_member"
    assert "aucun membre M0012 dans votre coopérative" in outbox(to=OTHER_TREASURER)[1].text


def test_one_member_gives_late_instalments_last_reminder_and_promise(coop, sms, db, outbox):
    """RETARDS M0012: loan, due date and unpaid of each late instalment, no reminder yet, the open promise."""
    record_promise(
        db,
        member_id=coop.awa,
        amount=5_000,
        due_on=date(2026, 12, 10),
        today=TODAY,
        now=factories.DEFAULT_NOW,
        recorded_by_id=coop.treasurer,
    )
    db.commit()
    assert sms("RETARDS m12").result == "replied"
    [reply] = outbox(to=TREASURER)
    assert reply.text == fold(
        "NDB: Awa Diop (M0012): 11 000 F en retard, 30 j. Échéances: L-001 01/11 11 000 F. "
        "Aucun rappel de retard envoyé. Promesse: 5 000 F pour le 10/12, en cours, payé 0 F."
    )
    assert reply.segments <= 2


def test_a_long_list_of_instalments_stays_within_two_segments(coop, sms, db, outbox):
    """Forty late weekly instalments: as many as fit are listed, the rest counted."""
    awa = db.get(Member, coop.awa)
    factories.loan(
        db, awa, "L-WEEKLY-0001", 40_000, 0, 40, frequency="weekly", disbursed_on=TODAY - timedelta(weeks=42)
    )
    db.commit()
    sms("RETARDS M12")
    [reply] = outbox(to=TREASURER)
    assert segments(reply.text) <= 2
    assert fold("autre(s) échéance(s).") in reply.text


def test_bad_argument_gets_what_was_wrong_and_the_syntax(coop, sms, outbox):
    """RETARDS x: the member is not recognised; the reply gives the syntax and an example."""
    assert sms("RETARDS x").result == "refused"
    [reply] = outbox(to=TREASURER)
    assert reply.text == fold("Membre X non reconnu. Format: RETARDS [page | membre]. Exemple: RETARDS 2")
