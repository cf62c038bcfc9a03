"""ANNULE, PIN, SOLDE and AIDE, and the texts every command sends."""

import pytest
from sqlalchemy import select

from i18n.catalog import LANGUAGES, catalog, placeholders, translate
from i18n.gsm7 import fold, is_gsm7, segments
from i18n.samples import longest_values
from models import AuditEvent, Member, Repayment, SavingsEntry
from models.enums import Role
from models.ledger import savings_balance
from models.pin import hash_pin
from models.position import member_position
from sms.commands import texts as T
from sms.commands.registry import COMMANDS
from tests import factories
from tests.commands.conftest import AWA, BINTA, OTHER_TREASURER, PRESIDENT, STRANGER, TREASURER


def outstanding(db, member_id) -> int:
    db.expire_all()
    return member_position(db, member_id, db.get(Member, member_id).created_at.date()).outstanding


# --- ANNULE ---------------------------------------------------------------------------------------


def test_cancel_within_24_hours_reverses_and_tells_both(coop, sms, db, clock, outbox):
    """The recorder cancels a payment 23 h later: reversed, instalments recomputed, both sides told."""
    receipt = sms("PAY m12 11000").detail
    clock.advance(hours=23)
    outcome = sms(f"ANNULE {receipt.lower()}")
    assert (outcome.result, outcome.detail) == ("posted", receipt)
    db.expire_all()
    repayment = db.scalar(select(Repayment))
    assert repayment.reversed_at is not None and repayment.reversed_by == f"member:{coop.treasurer}"
    assert outstanding(db, coop.awa) == 110_000
    expected = fold(
        f"NDB: le paiement {receipt} de 11 000 F pour Awa Diop (M0012) est annulé par Fatou Sarr (T0001). "
        f"Reste à payer: 110 000 F."
    )
    assert outbox(to=AWA)[-1].text == expected
    assert outbox(to=TREASURER)[-1].text == expected
    assert outbox(to=AWA)[-1].kind == "receipt"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "repayment.reverse")) is not None
    assert sms(f"ANNULE {receipt}").detail == "already_reversed"


def test_cancel_after_24_hours_points_to_the_coordinator(coop, sms, db, clock, outbox):
    """Older than 24 h: refused, the reply says the coordinator does it."""
    receipt = sms("PAY m12 5000").detail
    clock.advance(hours=24, minutes=1)
    assert sms(f"ANNULE {receipt}").detail == "too_old"
    assert "coordinateur" in outbox(to=TREASURER, kind="reply")[-1].text
    db.expire_all()
    assert db.scalar(select(Repayment)).reversed_at is None


def test_only_the_recorder_cancels(coop, sms, db, outbox):
    """The president cannot cancel the treasurer's payment; another cooperative does not even see it."""
    receipt = sms("PAY m12 5000").detail
    assert sms(f"ANNULE {receipt}", PRESIDENT).detail == "not_recorder"
    assert "Fatou Sarr (T0001)" in outbox(to=PRESIDENT, kind="reply")[-1].text
    assert sms(f"ANNULE {receipt}", OTHER_TREASURER).detail == "unknown_receipt"
    assert sms(f"ANNULE {receipt}", AWA).detail == "not_allowed"
    db.expire_all()
    assert db.scalar(select(Repayment)).reversed_at is None


def test_cancel_unknown_or_mistyped_receipt(coop, sms):
    """A receipt that does not exist, or whose check character is wrong, is unknown."""
    receipt = sms("PAY m12 5000").detail
    typo = receipt[:-1] + ("0" if receipt[-1] != "0" else "1")
    assert sms(f"ANNULE {typo}").detail == "unknown_receipt"
    assert sms("ANNULE R99999Z").detail == "unknown_receipt"
    assert sms("ANNULE X000015").detail == "unknown_receipt"


def test_cancel_deposits_and_withdrawals(coop, sms, db, outbox):
    """D… and W… receipts are cancelled by reversal entries; a deposit already spent cannot be."""
    deposit = sms("DEP m13 3000").detail
    withdrawal = sms("RETRAIT m12 2000").detail
    assert sms(f"ANNULE {withdrawal}").result == "posted"
    db.expire_all()
    assert savings_balance(db, coop.awa) == 5_000
    assert outbox(to=AWA)[-1].text.endswith(fold("Épargne: 5 000 F."))
    assert outbox(to=BINTA)[0].language == "en"
    sms("RETRAIT m13 1000")
    refused = sms(f"ANNULE {deposit}")
    assert refused.detail == "insufficient_savings"
    assert "2 000 F" in outbox(to=TREASURER, kind="reply")[-1].text
    sms("DEP m13 1000")
    assert sms(f"ANNULE {deposit}").result == "posted"
    db.expire_all()
    assert savings_balance(db, coop.binta) == 0
    assert db.scalar(
        select(SavingsEntry).where(SavingsEntry.kind == "reversal", SavingsEntry.amount == -3000)
    )


def test_imported_repayment_is_for_the_coordinator(coop, sms, db):
    """A repayment no SMS recorded (an import) is cancelled by the coordinator's CLI only."""
    from datetime import date, datetime

    from models.clock import DAKAR
    from models.ledger import record_repayment

    awa = db.get(Member, coop.awa)
    receipt = record_repayment(
        db,
        member=awa,
        amount=1000,
        paid_on=date(2026, 12, 1),
        now=datetime(2026, 12, 1, 9, tzinfo=DAKAR),
        source="import",
    ).repayment.receipt
    db.commit()
    assert sms(f"ANNULE {receipt}").detail == "coordinator_only"


# --- PIN ------------------------------------------------------------------------------------------


def test_pin_reset_clears_pin_count_and_lock_and_tells_the_member(coop, sms, db, outbox):
    """PIN m12: PIN cleared, count 0, unlocked; Awa is told in French; an audit event is written."""
    awa = db.get(Member, coop.awa)
    awa.pin_hash, awa.wrong_pins, awa.locked = hash_pin("4827", "test-pin-secret"), 3, True
    db.commit()
    assert sms("PIN m12").result == "done"
    db.expire_all()
    awa = db.get(Member, coop.awa)
    assert (awa.pin_hash, awa.wrong_pins, awa.locked) == (None, 0, False)
    [notice] = outbox(to=AWA)
    assert notice.kind == "notice"
    assert notice.text == fold(
        "NDB: votre code PIN a été effacé par Fatou Sarr (T0001). "
        "Composez *384*123# pour choisir un nouveau PIN."
    )
    assert "Awa Diop (M0012)" in outbox(to=TREASURER)[0].text
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "pin.reset"))
    assert (event.actor, event.member_id, event.source) == (f"member:{coop.treasurer}", coop.awa, "sms")


def test_pin_reset_refusals(coop, sms, db):
    """Not one's own PIN, not another cooperative's member, not by a member."""
    assert sms("PIN T0001").detail == "own_pin"
    assert sms("PIN m12", OTHER_TREASURER).detail == "unknown_member"
    assert sms("PIN m13", AWA).detail == "not_allowed"
    assert sms("PIN T0001", PRESIDENT).result == "done"


# --- SOLDE and AIDE -------------------------------------------------------------------------------


def test_balance_shows_savings_outstanding_days_late_and_a_pending_declaration(
    coop, sms, db, outbox, runtime, clock
):
    """SOLDE: 5 000 F savings, 110 000 F to pay, 30 days late (due 01/11), the pending declaration."""
    from sms.declarations import declare_repayment

    with runtime.sessions() as session:
        code = declare_repayment(
            session,
            member=session.get(Member, coop.awa),
            amount=2_000,
            now=clock.now(),
            config=runtime.config,
        ).declaration.code
        session.commit()
    assert sms("SOLDE 77 123 45 67").result == "replied"
    assert outbox(to=TREASURER, kind="reply")[-1].text == fold(
        f"NDB: Awa Diop (M0012): épargne 5 000 F, reste à payer 110 000 F, retard 30 j. "
        f"Déclaration en attente: 2 000 F (code {code})."
    )
    sms("BAL m13", PRESIDENT)
    assert outbox(to=PRESIDENT, kind="reply")[-1].text == (
        "NDB: Binta Fall (M0013): dencukaay 0 F, li des ci bor bi 0 F, yéex na 0 fan."
    )
    assert sms("SOLDE m12", AWA).detail == "own"  # naming oneself is one's own SOLDE
    assert sms("SOLDE m13", AWA).detail == "not_allowed"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        (TREASURER, T.HELP_RECORDER),
        (AWA, T.HELP_MEMBER),
        (STRANGER, T.NOT_REGISTERED),
    ],
)
def test_aide_lists_what_this_sender_may_use(coop, sms, outbox, phone, expected):
    """Treasurers get the command list; members the USSD and STOP/START; strangers that they are unknown."""
    assert sms("aide", phone).result == "replied"
    [reply] = outbox(to=phone)
    assert reply.text == translate("fr", expected, coop="NDB", ussd="*384*123#")


def test_unknown_words_get_the_help_list(coop, sms, outbox):
    """A treasurer's unknown word is answered "not understood" plus the commands."""
    assert sms("Bonjour, Awa a paye").result == "refused"
    [reply] = outbox(to=TREASURER)
    assert reply.text.startswith("Message non compris. Commandes: PAY|DEP|RETRAIT")
    sms("   ", AWA)
    assert outbox(to=AWA)[0].text == translate("fr", T.HELP_MEMBER, coop="NDB", ussd="*384*123#")


def test_member_made_treasurer_gets_the_syntax(coop, sms, db, outbox):
    """A syntax reply teaches the keyword only to those who may use it."""
    sms("PAY m12", AWA)
    assert "Format" not in outbox(to=AWA)[0].text
    db.get(Member, coop.awa).role = Role.PRESIDENT
    factories.member(db, db.get(Member, coop.awa).cooperative, "M0050", "Ndeye Sow", "+221775550050")
    sms("PAY m50", AWA)
    assert "Format: PAY" in outbox(to=AWA)[1].text


def test_an_officer_is_answered_every_time(coop, sms, outbox, clock):
    """Six bad messages in an hour from a treasurer: six replies (officers are never paused at 5)."""
    for _ in range(6):
        sms("PAY")
        clock.advance(minutes=1)
    assert len(outbox(to=TREASURER, kind="reply")) == 6
    assert outbox(to=TREASURER, kind="pause") == []
    for amount in range(1000, 1007):
        sms(f"PAY m12 {amount}")
    assert len(outbox(to=TREASURER, kind="receipt")) == 7


# --- the texts ------------------------------------------------------------------------------------

ALL_TEXTS = sorted(
    {v for k, v in vars(T).items() if k.isupper() and isinstance(v, str)}
    | set(T.PROBLEMS.values())
    | set(T.PROBLEMS_BARE.values())
    | {spec.syntax for spec in COMMANDS if spec.shape.takes_arguments}
)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("msgid", ALL_TEXTS)
def test_every_text_is_translated_keeps_its_placeholders_and_fits_one_segment(language, msgid):
    """en and wo are filled, placeholders kept, GSM-7 after folding, one segment with long names."""
    if language != "fr":
        translated = catalog(language).get(msgid)
        assert translated, f"{language} lacks {msgid!r}"
        assert placeholders(translated) == placeholders(msgid)
    rendered = translate(language, msgid, **longest_values(msgid))
    assert is_gsm7(rendered)
    assert segments(rendered) == 1, rendered


def test_wolof_entries_are_marked_for_review():
    """Every Wolof commands entry says `needs review`, or `reviewed` once a native speaker has read it."""
    from babel.messages.pofile import read_po

    from i18n.catalog import LOCALES

    with (LOCALES / "wo" / "LC_MESSAGES" / "commands.po").open("rb") as fh:
        entries = [m for m in read_po(fh) if m.id]
    assert entries
    assert all({"needs review", "reviewed"} & set(m.user_comments) for m in entries)


@pytest.mark.parametrize(
    "hostile",
    [
        "PAY {coop} 5000",
        "PAY m12 {amount}",
        "PAY m12'; DROP TABLE repayment;--",
        "PAY " + "9" * 300,
        "OUI {code}",
        "ANNULE %s%s%s%n",
        "PAY m12 5000 " + "🙂" * 200,
    ],
)
def test_hostile_messages_get_a_plain_reply_and_change_nothing(coop, sms, db, outbox, hostile):
    """Braces, quotes, format strings and floods are answered as text; nothing is posted."""
    outcome = sms(hostile)
    assert outcome.result == "refused"
    [reply] = outbox(to=TREASURER)
    assert is_gsm7(reply.text) and reply.segments <= 2
    db.expire_all()
    assert db.scalar(select(Repayment)) is None


def test_the_tick_runs_the_declaration_lifecycle(coop, runtime, clock, db):
    """The registry line resolves and the task expires a 72-hour-old declaration in its own transaction."""
    from sms.declarations import declare_repayment
    from sms.tick import TASKS, run_tick

    with runtime.sessions() as session:
        declare_repayment(
            session,
            member=session.get(Member, coop.awa),
            amount=1_000,
            now=clock.now(),
            config=runtime.config,
        )
        session.commit()
    clock.advance(hours=73)
    results = run_tick(runtime, clock.now(), tasks={"declaration_lifecycle": TASKS["declaration_lifecycle"]})
    assert results == {"declaration_lifecycle": {"expired": 1, "reminded": 0}}
