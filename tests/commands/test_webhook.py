"""End to end through POST /sms/inbound: the gateway's form in, the ledger and the outbox out."""

from sqlalchemy import func, select

from models import InboundSms, OutboundSms, Repayment
from models.enums import InboundStatus
from tests.commands.conftest import AWA, TREASURER


def post(client, text: str, gateway_id: str, sender: str = TREASURER):
    return client.post(
        "/sms/inbound",
        data={"from": sender, "to": "21000", "text": text, "id": gateway_id, "date": "2026-12-01 10:00:00"},
    )


def count(db, model, *where) -> int:
    db.expire_all()
    value = db.scalar(select(func.count()).select_from(model).where(*where))
    db.commit()
    return value


def test_pay_by_sms_and_its_redelivery(coop, client, db):
    """The gateway posts PAY twice with one id: one repayment, two receipts, the row handled."""
    assert post(client, "PAY 77 123 45 67 11 000", "ATXid_e2e").status_code == 200
    assert post(client, "PAY 77 123 45 67 11 000", "ATXid_e2e").status_code == 200
    assert count(db, Repayment) == 1
    assert count(db, OutboundSms, OutboundSms.kind == "receipt") == 2
    assert count(db, InboundSms, InboundSms.status == InboundStatus.HANDLED) == 1
    assert db.scalar(select(Repayment.external_id)) == "ATXid_e2e"


def test_opted_out_member_still_gets_receipts(coop, client, db):
    """STOP (the webhook's own) stops reminders, not receipts: Awa's receipt is still queued."""
    assert post(client, "STOP", "ATXid_stop", sender=AWA).status_code == 200
    assert post(client, "paye m12 5.000f", "ATXid_pay").status_code == 200
    db.expire_all()
    assert [r.kind for r in db.scalars(select(OutboundSms).where(OutboundSms.to == AWA))] == [
        "reply",
        "receipt",
    ]
    db.commit()


def test_bad_message_gets_the_syntax_through_the_webhook(coop, client, db):
    """The contract's example `PAY M0012` is answered with PAY's syntax."""
    assert post(client, "PAY M0012", "ATXid_bad").status_code == 200
    db.expire_all()
    [reply] = db.scalars(select(OutboundSms).where(OutboundSms.to == TREASURER)).all()
    db.commit()
    assert reply.kind == "reply"
    assert (
        reply.text == "Montant manquant. Format: PAY <membre> <montant> [pret] [JJ/MM]. Exemple: PAY M12 5000"
    )
