"""The last look before sending: paid reminders, opt-out, quiet hours and the daily budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from models.clock import DAKAR
from models.enums import CancelReason, SmsStatus
from models.ledger_tables import Instalment
from models.messaging import ReminderSent
from sms.presend import sending_window
from tests import factories as f
from tests.sms_support import fresh, queue


def _dakar(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=DAKAR)


def _reminder(db, clock, member, instalments):
    row = queue(
        db,
        clock,
        to=member.phone,
        text="Rappel: 11 000 F le 01/12",
        kind="reminder",
        member_id=member.id,
        cooperative_id=member.cooperative_id,
    )
    for inst in instalments:
        db.add(ReminderSent(instalment_id=inst.id, rule="D0", day=clock.today(), outbound_sms_id=row.id))
    db.commit()
    return row


def test_a_reminder_whose_instalments_were_all_paid_is_cancelled(db, clock, sender, sms_gateway):
    """Paid since planning: cancelled (paid); a reminder with one instalment still unpaid goes."""
    coop = f.coop(db)
    paid_member = f.member(db, coop, "M1")
    owing_member = f.member(db, coop, "M2")
    loan_a = f.loan(db, paid_member, "L-A")
    loan_b = f.loan(db, owing_member, "L-B")
    db.commit()
    a = db.scalars(
        select(Instalment).where(Instalment.loan_id == loan_a.id).order_by(Instalment.number)
    ).all()[:2]
    b = db.scalars(
        select(Instalment).where(Instalment.loan_id == loan_b.id).order_by(Instalment.number)
    ).all()[:2]
    for inst in (*a, b[0]):
        inst.amount_paid = inst.amount_due
    db.commit()
    paid = _reminder(db, clock, paid_member, a)
    owing = _reminder(db, clock, owing_member, b)
    sender.send_due()
    cancelled = fresh(db, paid.id)
    assert cancelled.status == SmsStatus.CANCELLED and cancelled.failure_reason == CancelReason.PAID
    assert fresh(db, owing.id).status == SmsStatus.SENT
    assert [m["to"] for m in sms_gateway.messages()] == [owing_member.phone]


def test_an_opted_out_member_gets_no_reminder_or_broadcast_but_still_gets_receipts(
    db, clock, sender, sms_gateway
):
    """STOP holds reminders and broadcasts only."""
    member = f.member(db, f.coop(db), opted_out=True)
    db.commit()
    ids = {
        kind: queue(db, clock, to=member.phone, text=f"{kind} text", kind=kind, member_id=member.id).id
        for kind in ("reminder", "broadcast", "receipt", "notice")
    }
    # A broadcast row without member_id is matched on the phone.
    by_phone = queue(db, clock, to=member.phone, text="annonce", kind="broadcast").id
    sender.send_due()
    for kind in ("reminder", "broadcast"):
        row = fresh(db, ids[kind])
        assert (row.status, row.failure_reason) == (SmsStatus.CANCELLED, CancelReason.OPTED_OUT)
    assert fresh(db, by_phone).failure_reason == CancelReason.OPTED_OUT
    assert fresh(db, ids["receipt"]).status == SmsStatus.SENT
    assert fresh(db, ids["notice"]).status == SmsStatus.SENT


def test_windows_follow_quiet_hours_20_to_8(config):
    """A reminder's window is its own day; a broadcast's is the first window at or after it."""
    assert sending_window("reminder", _dakar(1, 9), config) == (_dakar(1, 9), _dakar(1, 20))
    assert sending_window("reminder", _dakar(1, 6), config) == (_dakar(1, 8), _dakar(1, 20))
    opens, closes = sending_window("reminder", _dakar(1, 21), config)
    assert opens >= closes, "planned after quiet hours began: already closed, never carried over"
    assert sending_window("broadcast", _dakar(1, 21), config) == (_dakar(2, 8), _dakar(2, 20))
    assert sending_window("broadcast", _dakar(1, 2), config) == (_dakar(1, 8), _dakar(1, 20))


def test_quiet_hours_hold_a_broadcast_until_8_and_it_goes_then(db, clock, sender, sms_gateway):
    """Written at 21:00: held (still queued) until 08:00 the next day, then sent; a receipt goes at once."""
    clock.set(datetime(2026, 12, 1, 21, 0))
    broadcast = queue(db, clock, to="+221770000005", text="Reunion demain", kind="broadcast")
    receipt = queue(db, clock, to="+221770000006", text="Recu R-9")
    sender.send_due()
    held = fresh(db, broadcast.id)
    assert held.status == SmsStatus.QUEUED and held.next_attempt_at == _dakar(2, 8)
    assert fresh(db, receipt.id).status == SmsStatus.SENT
    clock.set(datetime(2026, 12, 2, 8, 0))
    sender.send_due()
    assert fresh(db, broadcast.id).status == SmsStatus.SENT


def test_a_reminder_still_unsent_when_quiet_hours_begin_is_cancelled_not_carried_over(
    db, clock, sender, sms_gateway
):
    """Planned for 09:00, the workers were down all day: at 20:30 it is cancelled (expired)."""
    row = queue(db, clock, to="+221770000007", text="Rappel", kind="reminder", send_after=_dakar(1, 9))
    clock.set(datetime(2026, 12, 1, 20, 30))
    sender.send_due()
    expired = fresh(db, row.id)
    assert (expired.status, expired.failure_reason) == (SmsStatus.CANCELLED, CancelReason.EXPIRED)
    assert sms_gateway.messages() == []


def test_the_daily_budget_cancels_reminders_and_broadcasts_beyond_it_but_not_receipts(
    db, clock, sender, runtime, sms_gateway
):
    """Budget 45 F a day at 15 F a segment: three go, the fourth is cancelled (budget); receipts always go."""
    runtime.config = replace(runtime.config, SMS_DAILY_BUDGET=45)
    coop = f.coop(db)
    other = f.coop(db, "GIE Other", "OTH")
    db.commit()
    receipt = queue(db, clock, to="+221770000010", text="Recu", cooperative_id=coop.id)
    bulk = [
        queue(db, clock, to=f"+22177000002{i}", text=f"Annonce {i}", kind="broadcast", cooperative_id=coop.id)
        for i in range(3)
    ]
    elsewhere = queue(
        db, clock, to="+221770000030", text="Annonce", kind="broadcast", cooperative_id=other.id
    )
    sender.send_due()
    assert fresh(db, receipt.id).status == SmsStatus.SENT
    statuses = [fresh(db, r.id).status for r in bulk]
    assert statuses == [SmsStatus.SENT, SmsStatus.SENT, SmsStatus.CANCELLED]
    assert fresh(db, bulk[2].id).failure_reason == CancelReason.BUDGET
    assert fresh(db, elsewhere.id).status == SmsStatus.SENT, "each cooperative has its own budget"
    # A receipt over the budget still goes; the next day the budget starts again.
    late = queue(db, clock, to="+221770000011", text="Recu 2", cooperative_id=coop.id)
    sender.send_due()
    assert fresh(db, late.id).status == SmsStatus.SENT
    clock.set(datetime(2026, 12, 2, 9, 0))
    tomorrow = queue(
        db, clock, to="+221770000012", text="Annonce demain", kind="broadcast", cooperative_id=coop.id
    )
    sender.send_due()
    assert fresh(db, tomorrow.id).status == SmsStatus.SENT
