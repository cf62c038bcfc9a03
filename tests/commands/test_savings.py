"""DEP and RETRAIT: savings by SMS, with receipts to both sides; a withdrawal never takes savings below 0."""

from datetime import date

from sqlalchemy import select

from i18n.gsm7 import fold
from models import AuditEvent, SavingsEntry
from models.ledger import savings_balance
from tests.commands.conftest import AWA, BINTA, TREASURER


def balance(db, member_id) -> int:
    db.expire_all()
    return savings_balance(db, member_id)


def entries(db) -> list[SavingsEntry]:
    db.expire_all()
    return list(
        db.scalars(select(SavingsEntry).where(SavingsEntry.kind != "opening").order_by(SavingsEntry.id))
    )


def test_deposit_posts_and_receipts_name_both_in_each_language(coop, sms, db, outbox):
    """Binta (English) and the treasurer (French) each read the deposit in their language."""
    outcome = sms("DEP m13 2 500")
    assert outcome.result == "posted"
    [entry] = entries(db)
    assert (entry.kind, entry.amount, entry.external_id, entry.source) == (
        "deposit",
        2_500,
        "ATXid_0001",
        "sms",
    )
    assert entry.receipt.startswith("D") and entry.receipt == outcome.detail
    assert balance(db, coop.binta) == 2_500
    [to_binta] = outbox(to=BINTA)
    [to_treasurer] = outbox(to=TREASURER)
    assert to_binta.kind == to_treasurer.kind == "receipt"
    assert to_binta.text == (
        f"NDB: deposit of 2 500 F for Binta Fall (M0013) on 01/12, received by Fatou Sarr (T0001). "
        f"Receipt {entry.receipt}. Savings: 2 500 F."
    )
    assert to_treasurer.text == fold(
        f"NDB: dépôt de 2 500 F pour Binta Fall (M0013) le 01/12, reçu par Fatou Sarr (T0001). "
        f"Reçu {entry.receipt}. Épargne: 2 500 F."
    )
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "savings.deposit"))
    assert event.after == {"balance": 2_500, "amount": 2_500}


def test_deposit_backdated_resend_and_ok(coop, sms, db, clock):
    """A deposit may be dated up to 7 days back; the 30-minute guard and OK apply as for PAY."""
    sms("EPARGNE m12 1000 28/11")
    assert entries(db)[0].entry_on == date(2026, 11, 28)
    clock.advance(minutes=3)
    assert sms("DEP m12 1000").detail == "resend_guard"
    assert sms("DEP m12 1000 OK").result == "posted"
    assert balance(db, coop.awa) == 7_000


def test_withdrawal_never_below_zero(coop, sms, db, outbox):
    """Awa has 5 000 F: 6 000 F is refused with her balance; 5 000 F empties it; then 1 F is refused."""
    refused = sms("RETRAIT m12 6000")
    assert (refused.result, refused.detail) == ("refused", "insufficient_savings")
    assert "5 000 F" in outbox(to=TREASURER, kind="reply")[-1].text
    assert sms("WITHDRAW m12 5 000").result == "posted"
    assert balance(db, coop.awa) == 0
    [receipt] = outbox(to=AWA)
    assert receipt.text.startswith(
        "NDB: retrait de 5 000 F pour Awa Diop (M0012), remis par Fatou Sarr (T0001)."
    )
    assert receipt.text.endswith("Épargne: 0 F.")
    assert sms("RETRAIT m12 1").detail == "insufficient_savings"
    assert [e.amount for e in entries(db)] == [-5_000]


def test_withdrawal_resend_is_guarded_too(coop, sms, db, clock):
    """A resent withdrawal would hand out cash twice: guarded like PAY and DEP, OK overrides."""
    sms("RETRAIT m12 1000")
    clock.advance(minutes=3)  # within 2 minutes it would be a double send
    assert sms("RETRAIT m12 1000").detail == "resend_guard"
    assert sms("RETRAIT m12 1000 ok").result == "posted"
    assert balance(db, coop.awa) == 3_000


def test_nobody_records_on_their_own_savings(coop, sms, db):
    """The treasurer cannot deposit to or withdraw from their own savings."""
    assert sms("DEP T0001 1000").detail == "own_account"
    assert sms("RETRAIT T1 1000").detail == "own_account"
    assert entries(db) == []


def test_members_and_strangers_cannot_touch_savings(coop, sms, db):
    """A member's or a stranger's DEP is refused."""
    assert sms("DEP m13 1000", AWA).detail == "not_allowed"
    assert sms("DEP m13 1000", "+221765554433").detail == "not_registered"
    assert entries(db) == []
