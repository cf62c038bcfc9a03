"""PAY: a treasurer's repayment by SMS — posted once, to the right member, with receipts to both sides."""

from datetime import date

from sqlalchemy import select

from i18n.gsm7 import fold
from models import AuditEvent, InboundSms, Instalment, Loan, Member, Repayment
from models.enums import InboundStatus, LoanStatus, Role, Source
from models.ledger import write_off
from models.position import member_position
from sms.commands import handle
from tests import factories
from tests.commands.conftest import AWA, OTHER_TREASURER, PRESIDENT, STRANGER, TREASURER
from tests.conftest import DEFAULT_NOW


def repayments(db) -> list[Repayment]:
    db.expire_all()
    rows = list(db.scalars(select(Repayment).order_by(Repayment.id)))
    db.commit()  # end the read: on SQLite an open transaction holds the write lock
    return rows


def outstanding(db, member_id, today=date(2026, 12, 1)) -> int:
    db.expire_all()
    return member_position(db, member_id, today).outstanding


def test_pay_posts_allocates_and_sends_both_receipts(coop, sms, db, outbox):
    """The repayment fills the late instalment first; member and treasurer each get a receipt naming both."""
    outcome = sms("PAY m12 11000")
    assert (outcome.keyword, outcome.result) == ("PAY", "posted")
    [repayment] = repayments(db)
    assert (repayment.amount, repayment.source, repayment.external_id) == (11_000, "sms", "ATXid_0001")
    assert repayment.recorded_by_id == coop.treasurer
    assert repayment.paid_on == date(2026, 12, 1)
    assert outcome.detail == repayment.receipt
    first = db.scalar(select(Instalment).where(Instalment.number == 1))
    assert first.amount_paid == first.amount_due == 11_000
    assert outstanding(db, coop.awa) == 99_000
    receipts = outbox(kind="receipt")
    assert sorted(r.to for r in receipts) == sorted([AWA, TREASURER])
    for row in receipts:
        assert row.text == fold(
            f"NDB: Awa Diop (M0012) a payé 11 000 F le 01/12, reçu par Fatou Sarr (T0001). "
            f"Reçu {repayment.receipt}. Reste à payer: 99 000 F."
        )
        assert row.segments == 1
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "repayment.record"))
    assert audit.actor == f"member:{coop.treasurer}"
    assert audit.target == f"receipt:{repayment.receipt}"


def test_redelivered_message_posts_once(coop, sms, db, runtime, clock, outbox):
    """Handling the same gateway message again (a retry after a crash) posts nothing and sends nothing."""
    sms("PAY m12 5000", gateway_id="ATXid_same")
    with runtime.sessions() as session:
        inbound = session.scalar(select(InboundSms).where(InboundSms.gateway_id == "ATXid_same"))
        inbound.status = InboundStatus.FAILED  # as the sweep finds a row whose handling it must retry
        sender = session.get(Member, coop.treasurer)
        again = handle(session, inbound, sender, clock.now(), runtime)
        session.commit()
    assert again.result == "duplicate"
    assert len(repayments(db)) == 1
    assert len(outbox()) == 2


def test_resend_within_30_minutes_is_not_posted_and_quotes_the_receipt(coop, sms, db, clock, outbox):
    """Same sender, member and amount within 30 minutes: not posted; the reply quotes the receipt and OK."""
    first = sms("PAY m12 5000")
    clock.advance(minutes=12)
    second = sms("PAY 77 123 45 67 5 000")
    assert (second.result, second.detail) == ("refused", "resend_guard")
    assert len(repayments(db)) == 1
    [reply] = outbox(to=TREASURER, kind="reply")
    assert first.detail in reply.text
    assert "12 min" in reply.text
    assert "OK" in reply.text
    assert reply.segments == 1


def test_resend_with_ok_records_a_second_payment(coop, sms, db, clock):
    """Adding OK at the end records the second payment anyway."""
    sms("PAY m12 5000")
    clock.advance(minutes=5)
    assert sms("PAY m12 5000 OK").result == "posted"
    assert [r.amount for r in repayments(db)] == [5_000, 5_000]
    assert outstanding(db, coop.awa) == 100_000


def test_resend_after_30_minutes_or_for_another_amount_is_posted(coop, sms, db, clock):
    """The guard is 30 minutes, per member and amount: a different amount or a later message goes through."""
    sms("PAY m12 5000")
    assert sms("PAY m12 6000").result == "posted"
    clock.advance(minutes=31)
    assert sms("PAY m12 5000").result == "posted"
    assert len(repayments(db)) == 3


def test_another_treasurer_paying_the_same_amount_is_not_guarded(coop, sms, db):
    """The guard is per sender: the president recording the same amount is a second payment."""
    sms("PAY m12 5000")
    assert sms("PAY m12 5000", PRESIDENT).result == "posted"
    assert len(repayments(db)) == 2


def test_reversed_payment_does_not_guard(coop, sms, db):
    """Once the first was cancelled, sending it again is the correction, not a resend."""
    first = sms("PAY m12 5000")
    sms(f"ANNULE {first.detail}")
    assert sms("PAY m12 5000").result == "posted"


def refused(outcome, reason):
    assert (outcome.result, outcome.detail) == ("refused", reason), outcome


def test_treasurer_of_another_cooperative_cannot_pay(coop, sms, db, outbox):
    """M0012 and Awa's phone are unknown in the other cooperative: nothing posted, told so."""
    refused(sms("PAY m12 5000", OTHER_TREASURER), "unknown_member")
    refused(sms("PAY 77 123 45 67 5000", OTHER_TREASURER), "unknown_member")
    assert repayments(db) == []
    replies = outbox(to=OTHER_TREASURER, kind="reply")
    assert replies[0].text == fold("THS: aucun membre M12 dans votre coopérative. Vérifiez le numéro.")
    assert "+221771234567" in replies[1].text


def test_a_member_cannot_record_money(coop, sms, db, outbox):
    """Only treasurers and the president record; a member is told so."""
    refused(sms("PAY m13 5000", AWA), "not_allowed")
    assert repayments(db) == []
    [reply] = outbox(to=AWA)
    assert fold("NDB: PAY est réservé au trésorier et au président.") in reply.text


def test_nobody_records_on_their_own_loan(coop, sms, db):
    """The treasurer's own loan is recorded by the president, not by the treasurer."""
    treasurer = db.get(Member, coop.treasurer)
    factories.loan(db, treasurer, "L-T01")
    db.commit()
    refused(sms("PAY T1 5000"), "own_account")
    assert repayments(db) == []
    assert sms("PAY T0001 5000", PRESIDENT).result == "posted"


def test_unknown_member_zero_and_negative_amounts_are_refused(coop, sms, db, outbox):
    """Unknown member, zero and negative: nothing posted, each reply says what was wrong and the syntax."""
    refused(sms("PAY m99 5000"), "unknown_member")
    refused(sms("PAY m12 0"), "zero_amount")
    refused(sms("PAY m12 -5000"), "negative_amount")
    refused(sms("PAY M0012"), "missing_amount")
    assert repayments(db) == []
    texts = [r.text for r in outbox(to=TREASURER)]
    assert "M99" in texts[0]
    assert texts[1].startswith(fold("Le montant doit être plus grand que 0. Format: PAY <membre> <montant>"))
    assert texts[3] == fold(
        "Montant manquant. Format: PAY <membre> <montant> [prêt] [JJ/MM]. Exemple: PAY M12 5000"
    )


def test_more_than_outstanding_is_refused_with_the_remaining_amount(coop, sms, db, outbox):
    """110 000 F owed: 120 000 F is refused and the reply says 110 000 F remain."""
    refused(sms("PAY m12 120000"), "too_much")
    assert repayments(db) == []
    [reply] = outbox(to=TREASURER)
    assert "reste 110 000 F" in reply.text
    assert sms("PAY m12 110000").result == "posted"
    db.expire_all()
    assert db.scalar(select(Loan.status)) == LoanStatus.REPAID


def test_pay_on_a_written_off_loan_records_a_recovery(coop, sms, db, outbox):
    """Awa's only loan is written off: PAY records a recovery on it, receipts say so, it stays written off."""
    loan = db.scalar(select(Loan).where(Loan.reference == "L-001"))
    write_off(db, loan, now=DEFAULT_NOW, actor="user:coord", reason="left", source=Source.CLI)
    db.commit()
    assert sms("PAY m12 5000").result == "posted"
    [repayment] = repayments(db)
    assert [line.loan_id for line in repayment.lines] == [loan.id]
    db.expire_all()
    assert db.scalar(select(Loan.status)) == LoanStatus.WRITTEN_OFF
    receipts = outbox(kind="receipt")
    assert sorted(r.to for r in receipts) == sorted([AWA, TREASURER])
    for row in receipts:
        assert row.text == fold(
            "NDB: recouvrement sur prêt en pertes: Awa Diop (M0012) a payé 5 000 F le 01/12 à "
            f"Fatou Sarr (T0001). Reçu {repayment.receipt}. Reste 105 000 F."
        )
        assert row.segments == 1
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "repayment.record"))
    assert audit.after["recovery"] is True
    assert sms("PAY m12 2000 l-001", gateway_id="ATXid_ref").result == "posted"


def test_member_without_a_loan(coop, sms, db):
    """Binta has no loan: PAY is refused, saying so."""
    refused(sms("PAY m13 1000"), "no_active_loan")


def test_payment_across_several_loans_oldest_due_first(coop, sms, db):
    """Without a reference the payment fills the oldest due dates across loans; with one, that loan only."""
    awa = db.get(Member, coop.awa)
    # 20 000 F in 4 weekly instalments of 5 000 F, first due 20/11 (before L-001's 01/12).
    factories.loan(
        db,
        awa,
        "L-002",
        principal=20_000,
        interest=0,
        installments=4,
        frequency="weekly",
        disbursed_on=date(2026, 11, 13),
    )
    db.commit()
    sms("PAY m12 20000")
    db.expire_all()
    paid = {
        (ref, number): amount_paid
        for ref, number, amount_paid in db.execute(
            select(Loan.reference, Instalment.number, Instalment.amount_paid).join(Loan)
        )
    }
    # Due dates: L-001 #1 01/11, L-002 #1 20/11, #2 27/11, L-001 #2 01/12 ... 20 000 = 11 000 + 5 000 + 4 000.
    assert paid[("L-001", 1)] == 11_000
    assert paid[("L-002", 1)] == 5_000
    assert paid[("L-002", 2)] == 4_000
    assert paid[("L-001", 2)] == 0
    [repayment] = repayments(db)
    assert sorted(line.amount for line in repayment.lines) == [9_000, 11_000]

    refused(sms("PAY m12 15000 L-002"), "too_much")  # 11 000 F remain on L-002
    assert sms("PAY m12 11000 L-002").result == "posted"
    db.expire_all()
    assert db.scalar(select(Loan.status).where(Loan.reference == "L-002")) == LoanStatus.REPAID
    assert (
        db.scalar(
            select(Instalment.amount_paid)
            .where(Instalment.number == 2)
            .join(Loan)
            .where(Loan.reference == "L-001")
        )
        == 0
    )
    refused(sms("PAY m12 1000 L-002"), "unknown_loan")  # repaid: no longer an active loan


def test_backdated_payment_within_seven_days(coop, sms, db, outbox):
    """JJ/MM sets paid_on up to 7 days back; older is refused with the syntax."""
    assert sms("PAY m12 5000 24/11").result == "posted"
    assert repayments(db)[0].paid_on == date(2026, 11, 24)
    assert "le 24/11" in outbox(to=AWA)[0].text
    refused(sms("PAY m12 5000 23/11"), "old_date")
    assert "23/11" in outbox(to=TREASURER, kind="reply")[-1].text


def test_stranger_gets_one_reply_a_day(coop, sms, outbox):
    """A number that is no member is told once a day that it is not registered."""
    refused(sms("PAY m12 5000", STRANGER), "not_registered")
    assert sms("AIDE", STRANGER).result == "replied"
    [reply] = outbox(to=STRANGER, kind="reply")
    assert reply.text == fold("Mbolo: ce numéro n'est pas enregistré. Contactez votre coopérative.")


def test_president_in_wolof_and_member_in_french_each_read_their_language(coop, sms, db, outbox):
    """Receipts are written in each recipient's language."""
    sms("PAY m12 5000", PRESIDENT)
    receipt = repayments(db)[0].receipt
    [to_member] = outbox(to=AWA)
    [to_president] = outbox(to=PRESIDENT)
    assert to_member.language == "fr" and to_member.text.startswith("NDB: Awa Diop (M0012) a payé 5 000 F")
    assert to_president.language == "wo"
    assert to_president.text == (
        f"NDB: Awa Diop (M0012) fey na 5 000 F ci 01/12, Moussa Ndiaye (P0001) moo ko jot. "
        f"Firnde {receipt}. Li des ci bor bi: 105 000 F."
    )


def test_inactive_treasurer_cannot_record(coop, sms, db):
    """A treasurer marked inactive no longer records money."""
    db.get(Member, coop.treasurer).status = "inactive"
    db.commit()
    refused(sms("PAY m12 5000"), "not_allowed")


def test_role_is_checked_at_each_message(coop, sms, db):
    """A member made treasurer may record from the next message on."""
    db.get(Member, coop.binta).role = Role.TREASURER
    db.commit()
    from tests.commands.conftest import BINTA

    assert sms("PAY m12 5000", BINTA).result == "posted"


def test_a_gateway_id_longer_than_the_ledger_column_still_posts_once(coop, sms, db, runtime, clock):
    """Gateway ids may hold 100 characters, external_id 80: a long id is hashed, and still unique."""
    long_id = "ATXid_" + "x" * 94
    assert sms("PAY m12 5000", gateway_id=long_id).result == "posted"
    [repayment] = repayments(db)
    assert repayment.external_id.startswith("sha256:") and len(repayment.external_id) <= 80
    with runtime.sessions() as session:
        inbound = session.scalar(select(InboundSms).where(InboundSms.gateway_id == long_id))
        inbound.status = InboundStatus.FAILED
        again = handle(session, inbound, session.get(Member, coop.treasurer), clock.now(), runtime)
        session.commit()
    assert again.result == "duplicate"
