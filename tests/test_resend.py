"""`sms resend`: copies of failed or unknown SMS are queued; originals keep their status; never twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AuditEvent, OutboundSms
from models.enums import SmsKind, SmsStatus
from sms.outbox import queue_sms


def _row(db, clock, to, kind=SmsKind.RECEIPT, status=SmsStatus.FAILED, reason=None, age=timedelta(hours=3)):
    row = queue_sms(db, to=to, text=f"Recu pour {to}", kind=kind, language="fr", now=clock.now() - age)
    row.status = status
    row.failure_reason = reason
    row.updated_at = clock.now() - age
    db.flush()
    return row


def test_resend_queues_copies_of_rows_failed_for_lack_of_credit(db, clock, runner):
    """--reason picks the rows by folded reason; a second run finds them already resent."""
    broke = _row(db, clock, "+221770000001", reason="InsufficientBalance (405)")
    bad_number = _row(db, clock, "+221770000002", reason="InvalidPhoneNumber (403)")
    reminder = _row(db, clock, "+221770000003", kind=SmsKind.REMINDER, reason="InsufficientBalance (405)")
    purged = _row(db, clock, "+221770000004", reason="InsufficientBalance (405)")
    purged.purged_at = clock.now()
    old = _row(db, clock, "+221770000005", reason="InsufficientBalance (405)", age=timedelta(days=3))
    db.commit()
    ids = {broke.id, bad_number.id, reminder.id, purged.id, old.id}

    args = ["sms", "resend", "--status", "failed", "--since", "2026-12-01", "--reason", "InsufficientBalance"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would resend 1 (receipt 1)" in dry.output and f"{broke.id:>7}" in dry.output
    assert db.scalar(select(OutboundSms).where(OutboundSms.id.not_in(ids))) is None
    db.rollback()

    done = runner.invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "resent 1 (receipt 1)" in done.output
    db.expire_all()
    copy = db.scalar(select(OutboundSms).where(OutboundSms.id.not_in(ids)))
    assert (copy.to, copy.text, copy.kind, copy.status) == (broke.to, broke.text, "receipt", SmsStatus.QUEUED)
    original = db.get(OutboundSms, broke.id)
    assert original.status == SmsStatus.FAILED
    assert original.failure_reason == f"InsufficientBalance (405); resent as #{copy.id}"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "sms.resend"))
    assert event.after["resent"] == {str(broke.id): copy.id}
    db.rollback()

    again = runner.invoke(args=args)
    assert "resent 0" in again.output


def test_unknown_rows_wait_an_hour_for_a_late_delivery_report(db, clock, runner):
    """An unknown row lost 3 hours ago is resent; one lost 10 minutes ago is not yet."""
    settled = _row(db, clock, "+221770000011", kind=SmsKind.REPLY, status=SmsStatus.UNKNOWN)
    fresh = _row(
        db, clock, "+221770000012", kind=SmsKind.REPLY, status=SmsStatus.UNKNOWN, age=timedelta(minutes=10)
    )
    db.commit()
    result = runner.invoke(args=["sms", "resend", "--status", "unknown", "--since", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "resent 1 (reply 1)" in result.output
    db.expire_all()
    assert "resent as #" in db.get(OutboundSms, settled.id).failure_reason
    assert db.get(OutboundSms, fresh.id).failure_reason is None


def test_reminders_cannot_be_resent(runner):
    """Reminders belong to their day (no catch-up): the command refuses the kind."""
    result = runner.invoke(
        args=["sms", "resend", "--status", "failed", "--since", "2026-12-01", "--kind", "reminder"]
    )
    assert result.exit_code != 0
