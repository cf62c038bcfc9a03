"""A treasurer in a hurry: the plausibility guard, OK, double sends, bare OUI/NON/ANNULE, member SOLDE."""

from dataclasses import replace

import pytest
from sqlalchemy import select

from config import load_config
from config.settings import ConfigError
from i18n.gsm7 import fold
from models import Member, Repayment, SavingsEntry
from sms.declarations import declare_repayment
from tests import factories
from tests.commands.conftest import AWA, BINTA, PRESIDENT, STRANGER, TREASURER


def repayments(db) -> list[Repayment]:
    db.expire_all()
    return list(db.scalars(select(Repayment).order_by(Repayment.id)))


def savings(db) -> list[SavingsEntry]:
    db.expire_all()
    return list(db.scalars(select(SavingsEntry).where(SavingsEntry.receipt.is_not(None))))


def last_reply(outbox, to=TREASURER) -> str:
    return outbox(to=to, kind="reply")[-1].text


def declare(runtime, clock, member_id: int, amount: int) -> str:
    with runtime.sessions() as session:
        code = declare_repayment(
            session,
            member=session.get(Member, member_id),
            amount=amount,
            now=clock.now(),
            config=runtime.config,
        ).declaration.code
        session.commit()
    return code


# --- plausibility and OK ---------------------------------------------------------------------------


def test_a_dropped_000_is_held_and_quoted_until_resent_with_ok(coop, sms, db, outbox, clock):
    """`PAY 77 123 45 67 5` is not a 5 F payment: nothing posted, the reply quotes the message plus OK."""
    outcome = sms("PAY 77 123 45 67 5")
    assert (outcome.result, outcome.detail) == ("refused", "implausible")
    assert repayments(db) == []
    assert last_reply(outbox) == fold(
        "NDB: 5 F pour Awa Diop (M0012): montant très bas, rien n'est enregistré. "
        "Si c'est juste, envoyez: PAY 77 123 45 67 5 OK"
    )
    clock.advance(minutes=3)
    assert sms("PAY 77 123 45 67 5 OK").result == "posted"
    assert [r.amount for r in repayments(db)] == [5]


def test_a_small_amount_equal_to_what_remains_needs_no_ok(coop, sms, db, clock):
    """The last 50 F of a loan, and the last 50 F of savings, are plausible as they are."""
    assert sms("PAY m12 109 950").result == "posted"
    clock.advance(minutes=3)
    assert sms("PAY m12 50").result == "posted"
    assert sms("RETRAIT m12 4 950").result == "posted"
    clock.advance(minutes=3)
    assert sms("RETRAIT m12 50").result == "posted"
    assert [e.amount for e in savings(db)] == [-4_950, -50]


def test_a_small_deposit_or_withdrawal_is_held_too(coop, sms, db):
    """DEP and RETRAIT below 100 F are held like PAY; OK records them."""
    assert sms("DEP m13 50").detail == "implausible"
    assert sms("RETRAIT m12 99").detail == "implausible"
    assert savings(db) == []
    assert sms("DEP m13 50 ok").result == "posted"
    assert sms("RETRAIT m12 99 OK").result == "posted"


def test_an_amount_too_large_anyway_gets_that_answer_rather_than_the_guard(coop, sms):
    """Binta has no loan and no savings: 5 F is refused for that, not held for OK."""
    assert sms("PAY m13 5").detail == "no_active_loan"
    assert sms("RETRAIT m13 5").detail == "insufficient_savings"


def test_the_guard_threshold_is_configuration(coop, sms, runtime, monkeypatch):
    """MIN_PLAUSIBLE_AMOUNT (default 100) moves the threshold; it is read and checked from the environment."""
    assert load_config({}).MIN_PLAUSIBLE_AMOUNT == 100
    assert load_config({"MIN_PLAUSIBLE_AMOUNT": "500"}).MIN_PLAUSIBLE_AMOUNT == 500
    with pytest.raises(ConfigError, match="MIN_PLAUSIBLE_AMOUNT"):
        load_config({"MIN_PLAUSIBLE_AMOUNT": "0"})
    monkeypatch.setattr(runtime, "config", replace(runtime.config, MIN_PLAUSIBLE_AMOUNT=1_000))
    assert sms("PAY m12 500").detail == "implausible"


# --- double sends ----------------------------------------------------------------------------------


def test_the_same_message_twice_within_2_minutes_is_one(coop, sms, db, outbox, clock):
    """The second posts nothing and quotes the first's receipt; spacing and case do not matter."""
    first = sms("PAY m12 5000")
    clock.advance(seconds=90)
    second = sms("pay  M12 5000 ")
    assert (second.result, second.detail) == ("duplicate", first.detail)
    assert len(repayments(db)) == 1
    assert last_reply(outbox) == fold(
        "NDB: message reçu deux fois, enregistré une seule fois: "
        f"5 000 F pour Awa Diop (M0012), reçu {first.detail}."
    )
    assert len(outbox(to=AWA, kind="receipt")) == 1


def test_ok_does_not_make_a_double_send_two_payments(coop, sms, db, clock):
    """`PAY … OK` sent twice in a minute is still one payment."""
    first = sms("PAY m12 5000 OK")
    clock.advance(seconds=30)
    assert sms("PAY m12 5000 OK").detail == first.detail
    assert len(repayments(db)) == 1


def test_after_2_minutes_the_resend_guard_answers_and_ok_records(coop, sms, db, clock):
    """Past the double-send window the 30-minute resend guard applies; OK records a second payment."""
    sms("DEP m12 2000")
    clock.advance(minutes=3)
    assert sms("DEP m12 2000").detail == "resend_guard"
    assert sms("DEP m12 2000 OK").result == "posted"
    assert len(savings(db)) == 2


def test_a_double_send_from_another_sender_is_not_one(coop, sms, db):
    """The treasurer and the president recording the same payment are two messages (the resend
    guard is per sender too): both post."""
    assert sms("PAY m12 5000").result == "posted"
    assert sms("PAY m12 5000", PRESIDENT).result == "posted"
    assert len(repayments(db)) == 2


# --- OUI, NON and ANNULE without a code ------------------------------------------------------------


def test_oui_alone_with_nothing_pending_says_so_with_an_example(coop, sms, outbox):
    """No declaration pending: the reply says so and shows `OUI 1234`."""
    assert sms("OUI").result == "replied"
    assert last_reply(outbox) == fold(
        "NDB: aucune déclaration en attente. Pour en confirmer une: OUI et son code, ex: OUI 1234."
    )


def test_oui_alone_names_the_one_pending_declaration(coop, sms, outbox, runtime, clock, db):
    """Exactly one pending: its member, amount and code, and how to answer; nothing is confirmed."""
    code = declare(runtime, clock, coop.awa, 2_000)
    assert sms("oui").result == "replied"
    assert last_reply(outbox) == fold(
        f"NDB: Awa Diop (M0012) déclare 2 000 F. "
        f"Répondez OUI {code} pour confirmer ou NON {code} pour refuser."
    )
    assert repayments(db) == []
    assert sms("NON").result == "replied"


def test_non_alone_lists_several_pending_declarations(coop, sms, outbox, runtime, clock, db):
    """Two pending: both codes with member number and amount."""
    factories.loan(db, db.get(Member, coop.binta), "L-002")
    db.commit()
    first = declare(runtime, clock, coop.awa, 2_000)
    second = declare(runtime, clock, coop.binta, 3_000)
    sms("NON")
    assert last_reply(outbox) == fold(
        f"NDB: 2 déclarations en attente: {first} M0012 2 000 F; {second} M0013 3 000 F. "
        "Répondez OUI ou NON suivi du code."
    )


def test_annule_alone_names_the_last_receipt(coop, sms, outbox, clock):
    """Nothing recorded yet: say so with an example; after a deposit: that receipt and `ANNULE <it>`."""
    sms("ANNULE")
    assert "ANNULE R000015" in last_reply(outbox)
    sms("PAY m12 5000")
    clock.advance(minutes=5)
    receipt = sms("DEP m13 1000").detail
    assert sms("annule").result == "replied"
    assert last_reply(outbox) == fold(
        f"NDB: votre dernier reçu est {receipt} (1 000 F pour Binta Fall (M0013)). "
        f"Pour l'annuler: ANNULE {receipt}"
    )


# --- members ---------------------------------------------------------------------------------------


def test_a_member_solde_gives_her_own_figures(coop, sms, outbox, runtime, clock):
    """Awa: savings, outstanding, next instalment, what is late, her pending declaration."""
    code = declare(runtime, clock, coop.awa, 2_000)
    assert sms("SOLDE", AWA).detail == "own"
    assert last_reply(outbox, AWA) == fold(
        "NDB: Awa Diop (M0012): épargne 5 000 F, reste à payer 110 000 F. "
        "Prochaine échéance: 11 000 F le 01/12. En retard: 11 000 F (30 j). "
        f"Déclaration en attente: 2 000 F (code {code})."
    )


def test_a_member_without_a_loan_gets_no_empty_parts(coop, sms, outbox):
    """Binta (English, no loan): only what applies, in her language."""
    sms("bal", BINTA)
    assert last_reply(outbox, BINTA) == "NDB: Binta Fall (M0013): savings 0 F, left to pay 0 F."


def test_a_stranger_solde_is_told_the_number_is_not_registered(coop, sms, outbox):
    """No member, no figures."""
    assert sms("SOLDE", STRANGER).detail == "not_registered"


def test_member_aide_and_pin_reset_name_the_code_to_dial(coop, sms, outbox):
    """AIDE lists SOLDE/STOP/START and the USSD code; the PIN-reset SMS names the code too."""
    sms("AIDE", AWA)
    help_text = last_reply(outbox, AWA)
    assert "*384*123#" in help_text and "SOLDE" in help_text and "STOP" in help_text
    sms("PIN m12")
    assert "*384*123#" in outbox(to=AWA, kind="notice")[-1].text
