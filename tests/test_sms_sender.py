"""The outbox sender against the local Africa's Talking–compatible server, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.enums import SmsStatus
from sms.sender import BACKOFF, MAX_ATTEMPTS
from tests.gateway_fixtures import SENDER_ID
from tests.sms_support import fresh, queue


def test_a_receipt_is_posted_and_marked_sent_with_the_gateway_id_and_cost(db, clock, sender, sms_gateway):
    """Success: one request, statusCode 101 read, message id and cost kept."""
    row = queue(db, clock)
    report = sender.send_due()
    sent = fresh(db, row.id)
    assert sent.status == SmsStatus.SENT
    assert sent.gateway_message_id.startswith("ATXid_")
    assert sent.cost_raw == "XOF 15.0000" and sent.cost == 15
    assert sent.sent_at == clock.now() and sent.attempts == 1
    [request] = sms_gateway.requests()
    assert request["to"] == "+221770000001" and request["from"] == SENDER_ID
    assert request["username"] == "mbolo" and request["key_ok"] and request["bulkSMSMode"] == "1"
    assert report["sent"] == 1 and report["requests"] == 1


def test_a_recipient_refused_by_the_gateway_fails_at_once_with_its_status(db, clock, sender, sms_gateway):
    """Per-recipient failure (403 InvalidPhoneNumber) is permanent."""
    sms_gateway.fail_numbers({"+221770000002": 403})
    good = queue(db, clock, to="+221770000001", text="a")
    bad = queue(db, clock, to="+221770000002", text="b")
    sender.send_due()
    assert fresh(db, good.id).status == SmsStatus.SENT
    failed = fresh(db, bad.id)
    assert failed.status == SmsStatus.FAILED
    assert failed.failure_reason == "InvalidPhoneNumber (403)"
    assert failed.gateway_message_id is None


def test_invalid_sender_id_with_no_recipients_is_a_permanent_failure(db, clock, sender, sms_gateway):
    """A 201 with no recipients and Message InvalidSenderId fails the row, not retried."""
    sms_gateway.allow_senders(["OTHER"])
    row = queue(db, clock)
    sender.send_due()
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED
    assert failed.failure_reason.startswith("InvalidSenderId")


def test_a_5xx_is_retried_after_a_minute_and_then_succeeds(db, clock, sender, sms_gateway):
    """Transient 503: queued again with the first backoff, sent at the next attempt."""
    sms_gateway.fail("status", status=503)
    row = queue(db, clock)
    sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED and waiting.attempts == 1
    assert waiting.next_attempt_at == clock.now() + BACKOFF[0]
    assert "503" in waiting.failure_reason
    sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.QUEUED, "not due before its backoff"
    clock.advance(minutes=1)
    sender.send_due()
    sent = fresh(db, row.id)
    assert sent.status == SmsStatus.SENT and sent.attempts == 2 and sent.failure_reason is None
    assert len(sms_gateway.messages()) == 1


def test_a_receipt_whose_answer_timed_out_is_unknown_and_never_resent(db, clock, sender, sms_gateway):
    """The gateway took the receipt but answered too late: it may have gone out, so it is not sent again."""
    sms_gateway.fail("timeout", seconds=1.5)
    row = queue(db, clock)
    sender.send_due()
    clock.advance(hours=2)
    sender.send_due()
    settled = fresh(db, row.id)
    assert settled.status == SmsStatus.UNKNOWN
    assert "timeout" in settled.failure_reason and "not resent" in settled.failure_reason
    assert len(sms_gateway.requests()) == 1


def test_a_reminder_whose_answer_timed_out_is_retried(db, clock, sender, sms_gateway):
    """Reminders and broadcasts may be repeated: a read timeout is retried for them."""
    sms_gateway.fail("timeout", seconds=1.5)
    row = queue(db, clock, kind="reminder")
    sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED
    assert "timeout" in waiting.failure_reason


def test_a_429_waits_at_least_its_retry_after(db, clock, sender, sms_gateway):
    """Rate-limited by the gateway: retried no sooner than Retry-After (here 2 minutes > backoff)."""
    sms_gateway.fail("status", status=429, retry_after=120)
    row = queue(db, clock)
    sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED
    assert waiting.next_attempt_at == clock.now() + timedelta(minutes=2)


def test_a_connection_dropped_after_the_request_leaves_a_receipt_unknown(db, clock, sender, sms_gateway):
    """The gateway drops the connection once it has the request: a receipt is not risked twice."""
    sms_gateway.fail("reset_before")
    row = queue(db, clock)
    sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.UNKNOWN


def test_a_refused_connection_is_retried_whatever_the_kind(db, clock, runtime, at_config):
    """Nothing listening on the gateway's port: the request never left, so even a receipt is retried."""
    import socket

    from sms.gateways.africastalking import AfricasTalkingGateway
    from sms.sender import Sender

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gateway = AfricasTalkingGateway(
        username="sandbox",
        api_key=at_config.AT_API_KEY,
        sender_id=None,
        api_url=f"http://127.0.0.1:{closed_port}",
    )
    runtime.config = at_config
    row = queue(db, clock)
    sender = Sender(runtime, gateway, rate=None, threads=1)
    sender.send_due()
    sender.close()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED
    assert "connection error" in waiting.failure_reason


def test_transient_errors_back_off_1_5_15_60_minutes_then_fail(db, clock, sender, sms_gateway):
    """Five attempts in all, then failed with the last reason."""
    sms_gateway.fail("status", status=500, times=MAX_ATTEMPTS)
    row = queue(db, clock)
    for delay in BACKOFF:
        sender.send_due()
        waiting = fresh(db, row.id)
        assert waiting.status == SmsStatus.QUEUED
        assert waiting.next_attempt_at == clock.now() + delay
        clock.advance(seconds=delay.total_seconds())
    sender.send_due()
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and failed.attempts == MAX_ATTEMPTS
    assert "HTTP 500" in failed.failure_reason
    assert len(sms_gateway.requests()) == MAX_ATTEMPTS


def test_a_bad_api_key_is_a_permanent_failure(db, clock, runtime, at_config, sms_gateway):
    """401 text/plain from the gateway: failed at once, never retried."""
    from dataclasses import replace

    from sms.gateways.africastalking import AfricasTalkingGateway
    from sms.sender import Sender

    runtime.config = replace(at_config, AT_API_KEY="wrong-key")
    sender = Sender(runtime, AfricasTalkingGateway.from_config(runtime.config), rate=None)
    row = queue(db, clock)
    sender.send_due()
    sender.close()
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and "401" in failed.failure_reason
    assert sms_gateway.messages() == []


def test_identical_texts_go_in_one_batched_request_personal_texts_one_each(db, clock, sender, sms_gateway):
    """An announcement to 5 members is one request; 3 personal receipts are 3 requests."""
    numbers = [f"+22177000010{i}" for i in range(5)]
    for number in numbers:
        queue(db, clock, to=number, text="Assemblee generale samedi 10h", kind="broadcast")
    for i in range(3):
        queue(db, clock, to=f"+22177000020{i}", text=f"Recu R-{i}")
    report = sender.send_due()
    requests = sms_gateway.requests()
    assert len(requests) == 4 and report["sent"] == 8
    batched = [r for r in requests if "," in r["to"]]
    assert len(batched) == 1 and sorted(batched[0]["to"].split(",")) == numbers
    assert len(sms_gateway.messages()) == 8


def test_the_same_number_twice_in_a_batch_goes_in_separate_requests(db, clock, sender, sms_gateway):
    """A batch never names a number twice (the gateway answers once per number)."""
    queue(db, clock, to="+221770000001", text="Same text", kind="broadcast")
    queue(db, clock, to="+221770000001", text="Same text", kind="broadcast")
    queue(db, clock, to="+221770000002", text="Same text", kind="broadcast")
    sender.send_due()
    assert len(sms_gateway.messages()) == 3
    assert all(r["to"].count("+221770000001") <= 1 for r in sms_gateway.requests())


def test_a_failed_row_is_never_sent_again(db, clock, sender, sms_gateway):
    """Status only moves forward: a failed row stays failed."""
    sms_gateway.fail_numbers({"+221770000001": 406})
    row = queue(db, clock)
    sender.send_due()
    sms_gateway.fail_numbers({})
    clock.advance(hours=2)
    sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.FAILED
    assert len(sms_gateway.requests()) == 1


@pytest.mark.parametrize(
    ("code", "status"), [(405, "InsufficientBalance"), (500, "InternalServerError"), (501, "GatewayError")]
)
def test_an_account_or_gateway_refusal_is_retried_with_backoff(
    db, clock, sender, sms_gateway, code, status, caplog
):
    """405, 500 and 501 for one recipient describe the account or the gateway: queued again, then sent."""
    sms_gateway.fail_numbers({"+221770000002": code})
    row = queue(db, clock, to="+221770000002", text="b")
    sender.send_due()
    retried = fresh(db, row.id)
    assert retried.status == SmsStatus.QUEUED and retried.failure_reason == f"{status} ({code})"
    assert retried.next_attempt_at == clock.now() + BACKOFF[0]
    assert any(r.getMessage() == "sms.gateway_account" for r in caplog.records)
    sms_gateway.fail_numbers({"+221770000002": 101})  # topped up / the gateway is back
    clock.advance(minutes=1)
    sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.SENT


def test_an_account_refusal_fails_after_the_last_attempt(db, clock, sender, sms_gateway):
    """Out of credit for good: after MAX_ATTEMPTS the row fails with the reason."""
    sms_gateway.fail_numbers({"+221770000002": 405})
    row = queue(db, clock, to="+221770000002", text="b")
    for delay in (*BACKOFF, timedelta(0)):
        sender.send_due()
        clock.advance(seconds=delay.total_seconds())
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and failed.attempts == MAX_ATTEMPTS
    assert "InsufficientBalance" in failed.failure_reason


@pytest.mark.parametrize("code", [100, 101, 102])
def test_the_local_gateway_gives_a_real_message_id_for_every_accepted_code(
    db, clock, sender, sms_gateway, code
):
    """Processed, Success and Queued are all acceptances: a real ATXid_, never the string "None"."""
    sms_gateway.fail_numbers({"+221770000001": code})
    row = queue(db, clock)
    sender.send_due()
    sent = fresh(db, row.id)
    assert sent.status == SmsStatus.SENT and sent.gateway_message_id.startswith("ATXid_")


def test_a_demo_cooperatives_sms_never_reach_the_real_gateway(db, clock, sender, sms_gateway, capsys):
    """SMS_GATEWAY=africastalking, yet a demo cooperative's receipt is printed, not posted: marked console."""
    from tests import factories as f

    demo = f.coop(db, "GIE Demo", "DEM", demo=True)
    real = f.coop(db, "GIE Saloum", "SLM")
    db.commit()
    shown = queue(db, clock, to="+221770000001", text="Recu demo", cooperative_id=demo.id)
    posted = queue(db, clock, to="+221770000002", text="Recu vrai", cooperative_id=real.id)
    sender.send_due()
    printed = fresh(db, shown.id)
    assert printed.status == SmsStatus.SENT and printed.gateway_message_id.startswith("console-")
    assert fresh(db, posted.id).gateway_message_id.startswith("ATXid_")
    assert [r["to"] for r in sms_gateway.requests()] == ["+221770000002"]
    assert "Recu demo" in capsys.readouterr().out
