"""Delivery reports: posted by the local server to the app over real HTTP, mapped per DESIGN §8."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from models.enums import SmsStatus
from models.messaging import EarlyDeliveryReport
from sms.gateways.base import RecipientResult
from sms.sender import sweep
from tests.sms_support import fresh, queue


def _sent_row(db, clock, sender):
    row = queue(db, clock)
    sender.send_due()
    return fresh(db, row.id)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("Success", SmsStatus.DELIVERED),
        ("Sent", SmsStatus.SENT),
        ("Submitted", SmsStatus.SENT),
        ("Buffered", SmsStatus.SENT),
        ("Rejected", SmsStatus.FAILED),
        ("Failed", SmsStatus.FAILED),
        ("Expired", SmsStatus.FAILED),
    ],
)
def test_each_reported_status_maps_to_the_outbox_status(
    db, clock, sender, sms_gateway, live_app, reported, expected
):
    """Success → delivered; Sent/Submitted/Buffered → sent; Rejected/Failed/Expired → failed, with reason."""
    row = _sent_row(db, clock, sender)
    answer = sms_gateway.deliver(
        f"{live_app}/sms/delivery", [row.gateway_message_id], reported, failureReason="DeliveryFailure"
    )
    assert answer["answers"] == [200]
    after = fresh(db, row.id)
    assert after.status == expected
    if expected == SmsStatus.FAILED:
        assert after.failure_reason == "DeliveryFailure"
    if expected == SmsStatus.DELIVERED:
        assert after.delivered_at == clock.now()


def test_an_unknown_status_is_logged_and_changes_nothing(db, clock, sender, sms_gateway, live_app, caplog):
    """A status word we do not know leaves the row as it was."""
    row = _sent_row(db, clock, sender)
    sms_gateway.deliver(f"{live_app}/sms/delivery", [row.gateway_message_id], "Teleported")
    assert fresh(db, row.id).status == SmsStatus.SENT
    assert any("unknown status" in r.getMessage() for r in caplog.records)


def test_statuses_only_move_forward_and_duplicates_are_harmless(db, clock, sender, sms_gateway, live_app):
    """Success twice, then a late Submitted and a late Failed: still delivered."""
    row = _sent_row(db, clock, sender)
    url = f"{live_app}/sms/delivery"
    for status in ("Success", "Success", "Submitted", "Failed"):
        assert sms_gateway.deliver(url, [row.gateway_message_id], status)["answers"] == [200]
    after = fresh(db, row.id)
    assert after.status == SmsStatus.DELIVERED and after.failure_reason is None


def test_a_report_before_its_message_id_is_known_is_applied_when_the_id_appears(
    db, clock, client, runtime, sender
):
    """Early report: kept, then applied as soon as the sender records that message id."""
    row = queue(db, clock)
    answer = client.post(
        "/sms/delivery", data={"id": "ATXid_early", "status": "Success", "phoneNumber": row.to}
    )
    assert answer.status_code == 200
    assert db.scalar(select(func.count(EarlyDeliveryReport.id))) == 1
    db.commit()
    [claimed] = sender.claim(clock.now(), Counter())
    sender.record(
        [claimed], results=[RecipientResult(row.to, True, "ATXid_early", "Success", 101, "XOF 15.0000", 1)]
    )
    after = fresh(db, row.id)
    assert after.status == SmsStatus.DELIVERED
    assert db.scalar(select(func.count(EarlyDeliveryReport.id))) == 0
    db.commit()


def test_early_reports_are_dropped_after_an_hour(db, clock, client, runtime):
    """The sweep applies early reports whose id appeared, and forgets those older than an hour."""
    client.post("/sms/delivery", data={"id": "ATXid_never", "status": "Success"})
    clock.advance(minutes=59)
    assert sweep(runtime, clock.now())["early_reports_expired"] == 0
    clock.advance(minutes=2)
    assert sweep(runtime, clock.now())["early_reports_expired"] == 1
    assert db.scalar(select(func.count(EarlyDeliveryReport.id))) == 0


def test_the_sweep_applies_an_early_report_that_raced_the_sender(db, clock, runtime, sender):
    """A report stored just after the sender looked for early reports is applied by the next sweep."""
    row = _sent_row(db, clock, sender)
    # What the race leaves behind: the report was kept as early although its id is now known.
    db.add(
        EarlyDeliveryReport(
            gateway_message_id=row.gateway_message_id, status="Success", received_at=clock.now()
        )
    )
    db.commit()
    assert sweep(runtime, clock.now())["early_reports_applied"] == 1
    assert fresh(db, row.id).status == SmsStatus.DELIVERED
    assert db.scalar(select(func.count(EarlyDeliveryReport.id))) == 0


def test_a_report_without_id_or_status_is_refused(client):
    """Malformed report: 400."""
    assert client.post("/sms/delivery", data={"status": "Success"}).status_code == 400
    assert client.post("/sms/delivery", data={"id": "x"}).status_code == 400


def test_the_webhook_token_is_required_when_set(runtime, db, clock):
    """With WEBHOOK_TOKEN set, no token or a wrong one is 403; the current and the previous value pass."""
    from dataclasses import replace

    from ussd_app import create_app

    runtime.config = replace(runtime.config, WEBHOOK_TOKEN="new-token", WEBHOOK_TOKEN_PREVIOUS="old-token")
    client = create_app(runtime=runtime).test_client()
    form = {"id": "ATXid_1", "status": "Success"}
    assert client.post("/sms/delivery", data=form).status_code == 403
    assert client.post("/sms/delivery?token=wrong", data=form).status_code == 403
    assert client.post("/sms/delivery?token=new-token", data=form).status_code == 200
    assert client.post("/sms/delivery?token=old-token", data=form).status_code == 200
    inbound = {"id": "in-1", "from": "+221770000001", "text": "AIDE"}
    assert client.post("/sms/inbound", data=inbound).status_code == 403
