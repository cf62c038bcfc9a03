"""Delivery reports: posted by the local server to the app over real HTTP, mapped per the rules.

See docs/design.md, "Sending".
"""

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


def _lost_in_flight(db, clock, sender, to: str, text: str) -> int:
    """A row claimed and posted by a worker that died before recording the gateway's answer."""
    row_id = queue(db, clock, to=to, text=text).id
    [claimed] = [c for c in sender.claim(clock.now(), Counter()) if c.id == row_id]
    sender.throttle.acquire(1, [(claimed.id, claimed.attempt)])  # the in-flight marker, as before the call
    return row_id


def test_a_row_left_unknown_adopts_the_one_report_to_its_number(db, clock, client, sender):
    """The worker died after the call; the report came meanwhile: the row takes its id and is delivered."""
    row_id = _lost_in_flight(db, clock, sender, "+221770000001", "Recu R-1")
    form = {"id": "ATXid_lost", "status": "Success", "phoneNumber": "+221770000001"}
    assert client.post("/sms/delivery", data=form).status_code == 200
    clock.advance(minutes=6)
    report = sender.send_due()
    assert report["unknown"] == 1 and report["adopted"] == 1
    row = fresh(db, row_id)
    assert row.status == SmsStatus.DELIVERED and row.gateway_message_id == "ATXid_lost"


def test_a_late_report_is_adopted_by_a_row_already_unknown(db, clock, client, sender):
    """The report arrives after the lease expired: adopted on arrival."""
    row_id = _lost_in_flight(db, clock, sender, "+221770000001", "Recu R-1")
    clock.advance(minutes=6)
    sender.send_due()
    assert fresh(db, row_id).status == SmsStatus.UNKNOWN
    form = {
        "id": "ATXid_late",
        "status": "Failed",
        "phoneNumber": "+221770000001",
        "failureReason": "AbsentSubscriber",
    }
    client.post("/sms/delivery", data=form)
    row = fresh(db, row_id)
    assert (row.status, row.failure_reason) == (SmsStatus.FAILED, "AbsentSubscriber")


def test_no_adoption_when_two_unknown_rows_share_the_number(db, clock, client, sender):
    """Ambiguous: both rows stay unknown for an operator to look at."""
    first = _lost_in_flight(db, clock, sender, "+221770000001", "Recu R-1")
    second = _lost_in_flight(db, clock, sender, "+221770000001", "Recu R-2")
    client.post(
        "/sms/delivery", data={"id": "ATXid_one", "status": "Success", "phoneNumber": "+221770000001"}
    )
    clock.advance(minutes=6)
    assert sender.send_due()["adopted"] == 0
    assert fresh(db, first).status == fresh(db, second).status == SmsStatus.UNKNOWN
