"""Orange's SMS API against the local Orange server, over real HTTP: token, sends, errors, receipts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from config import ConfigError, load_config
from models.enums import SmsStatus
from sms.gateways.orange import OrangeGateway, expires_in_seconds
from sms.sender import BACKOFF, Sender
from tests.gateway_fixtures import ORANGE_NAME, ORANGE_SENDER, TEST_TIMEOUT
from tests.sms_support import fresh, queue

ROOT = Path(__file__).resolve().parent.parent


# --- configuration ---------------------------------------------------------------------------


def test_orange_configuration_names_each_missing_or_malformed_variable():
    """SMS_GATEWAY=orange without credentials, or a sender address not in tel:+ form: no start."""
    with pytest.raises(ConfigError) as missing:
        load_config({"SMS_GATEWAY": "orange"})
    for name in ("ORANGE_CLIENT_ID", "ORANGE_CLIENT_SECRET", "ORANGE_SENDER_ADDRESS"):
        assert f"{name}: required when SMS_GATEWAY=orange" in str(missing.value)
    with pytest.raises(ConfigError) as malformed:
        load_config(
            {
                "SMS_GATEWAY": "orange",
                "ORANGE_CLIENT_ID": "id",
                "ORANGE_CLIENT_SECRET": "secret",
                "ORANGE_SENDER_ADDRESS": "+2210000",
                "ORANGE_SENDER_NAME": "A name far too long",
                "ORANGE_API_URL": "api.orange.com",
            }
        )
    text = str(malformed.value)
    assert "ORANGE_SENDER_ADDRESS='+2210000': expected the tel:+2210000 form" in text
    assert "ORANGE_SENDER_NAME" in text and "ORANGE_API_URL" in text
    config = load_config(
        {
            "SMS_GATEWAY": "orange",
            "ORANGE_CLIENT_ID": "id",
            "ORANGE_CLIENT_SECRET": "secret",
            "ORANGE_SENDER_ADDRESS": "tel:+2210000",
            "ORANGE_SENDER_NAME": "MBOLO",
        }
    )
    assert config.SMS_GATEWAY == "orange"


@pytest.mark.parametrize(("raw", "seconds"), [(3600, 3600), ("7776000", 7776000), ("3600.0", 3600)])
def test_expires_in_is_read_as_a_number_or_a_string(raw, seconds):
    """Orange writes expires_in as a number or as a string of digits."""
    assert expires_in_seconds(raw) == seconds


@pytest.mark.parametrize("raw", ["soon", None, 0, True])
def test_an_unreadable_expires_in_is_refused(raw):
    """Anything else is not a lifetime."""
    with pytest.raises((ValueError, TypeError)):
        expires_in_seconds(raw)


# --- sending ---------------------------------------------------------------------------------


def test_a_receipt_is_posted_to_orange_and_marked_sent_with_the_id_of_its_resource_url(
    db, clock, orange_sender, orange_api
):
    """One JSON request to …/outbound/{sender}/requests; the id is resourceURL's last segment."""
    row = queue(db, clock)
    report = orange_sender.send_due()
    sent = fresh(db, row.id)
    [message] = orange_api.messages()
    assert sent.status == SmsStatus.SENT and sent.gateway_message_id == message["id"]
    [request] = orange_api.requests()
    assert request["to"] == "+221770000001" and request["message"] == "Recu R-1: 5 000 F"
    assert request["sender"] == ORANGE_SENDER == request["senderAddress"]  # the path, URL-decoded
    assert request["senderName"] == ORANGE_NAME and request["token_ok"]
    assert report["sent"] == 1 and report["requests"] == 1
    assert orange_api.token_requests() == 1


def test_the_token_is_fetched_once_kept_in_redis_and_reused(runtime, orange_gateway, orange_api):
    """Three sends, one token request; Redis keeps the token until a minute before Orange's expiry."""
    orange_api.token(expires_in="7776000")
    for i in range(3):
        [result] = orange_gateway.send([f"+22177000000{i}"], "Bonjour")
        assert result.accepted
    assert orange_api.token_requests() == 1
    ttl = runtime.redis.ttl(orange_gateway.token.key)
    assert 7776000 - 60 - 5 <= ttl <= 7776000 - 60


def test_a_second_client_with_its_own_pool_takes_the_token_from_redis(runtime, orange_config, orange_api):
    """Another adapter (its own connections, same Redis) asks Orange for nothing."""
    first = OrangeGateway.from_config(orange_config, runtime.redis)
    second = OrangeGateway.from_config(orange_config, runtime.redis)
    try:
        assert first.send(["+221770000001"], "a")[0].accepted
        assert second.send(["+221770000002"], "b")[0].accepted
    finally:
        first.close()
        second.close()
    assert orange_api.token_requests() == 1


_PROCESS = textwrap.dedent(
    """
    import sys, time
    from sms.gateways.orange import OrangeGateway
    from sms.runtime import redis_client
    redis_url, api_url, number, start_at = sys.argv[1:5]
    gateway = OrangeGateway(
        redis_client(redis_url), "local-client-id", "local-client-secret", "tel:+2210000",
        sender_name="MBOLO", api_url=api_url,
    )
    time.sleep(max(0.0, float(start_at) - time.time()))  # both processes ask at the same instant
    [result] = gateway.send([number], "Bonjour")
    print("accepted" if result.accepted else f"refused {result.status}")
    """
)


def test_two_processes_starting_together_share_one_token(runtime, redis_url, local_orange, orange_api):
    """Two real processes over the same Redis: one fetches the token (slowly), the other waits for it."""
    import time

    orange_api.fail("timeout", on="token", seconds=0.5)  # the first fetch is slow: the other must wait
    start_at = str(time.time() + 1.5)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, redis_url, local_orange.url, number, start_at],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in ("+221770000001", "+221770000002")
    ]
    outputs = [p.communicate(timeout=30) for p in processes]
    assert [out.strip() for out, _ in outputs] == ["accepted", "accepted"], outputs
    assert orange_api.token_requests() == 1
    assert len(orange_api.messages()) == 2


def test_a_401_fetches_a_new_token_once_and_the_send_succeeds(db, clock, orange_sender, orange_api):
    """The token was revoked (expired early): one 401, one new token, the same SMS posted again and sent."""
    first = queue(db, clock, text="one")
    orange_sender.send_due()
    orange_api.token(revoke=True)
    second = queue(db, clock, text="two")
    orange_sender.send_due()
    assert fresh(db, first.id).status == SmsStatus.SENT
    assert fresh(db, second.id).status == SmsStatus.SENT
    assert orange_api.token_requests() == 2
    assert [r["token_ok"] for r in orange_api.requests()] == [True, False, True]
    assert len(orange_api.messages()) == 2


def test_wrong_client_credentials_fail_the_sms_at_once(db, clock, runtime, orange_config, orange_api):
    """The token endpoint answers 401 invalid_client: permanent, no SMS request is made."""
    runtime.config = replace(orange_config, ORANGE_CLIENT_SECRET="wrong")
    sender = Sender(runtime, OrangeGateway.from_config(runtime.config, runtime.redis), rate=None)
    row = queue(db, clock)
    sender.send_due()
    sender.close()
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and "token: HTTP 401" in failed.failure_reason
    assert "permanent" in failed.failure_reason
    assert orange_api.requests() == []


def test_a_token_endpoint_in_trouble_is_retried_later_even_for_a_receipt(
    db, clock, orange_sender, orange_api
):
    """A 503 on the token: no SMS left, so the receipt waits for its backoff, never `unknown`."""
    orange_api.fail("status", on="token", status=503)
    row = queue(db, clock)
    orange_sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED and "token: HTTP 503" in waiting.failure_reason
    clock.advance(minutes=1)
    orange_sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.SENT


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("SVC0004", "SVC0004: No valid addresses provided in message part address (HTTP 400)"),
        ("SVC0002", "SVC0002: Invalid input value for message part address (HTTP 400)"),
        (
            "POL0001",
            "POL0001: A policy error occurred. For example, rate limit error, authorization error, "
            "quota exceeded (HTTP 403)",
        ),
    ],
)
def test_service_and_policy_exceptions_fail_at_once_with_their_id_and_text(
    db, clock, orange_sender, orange_api, code, reason
):
    """requestError.serviceException / policyException: permanent, `messageId: text` kept as the reason."""
    orange_api.fail_numbers({"+221770000002": code})
    row = queue(db, clock, to="+221770000002")
    orange_sender.send_due()
    clock.advance(hours=2)
    orange_sender.send_due()
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and failed.failure_reason == reason
    assert len(orange_api.requests()) == 1


def test_one_refused_recipient_leaves_the_others_sent(db, clock, orange_sender, orange_gateway, orange_api):
    """An announcement to three members, one number refused: the two others go out, each on its own."""
    orange_api.fail_numbers({"+221770000002": "SVC0004"})
    rows = [
        queue(db, clock, to=f"+22177000000{i}", text="Assemblee samedi", kind="broadcast") for i in (1, 2, 3)
    ]
    report = orange_sender.send_due()
    assert [fresh(db, r.id).status for r in rows] == [SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.SENT]
    assert report["requests"] == 3
    results = orange_gateway.send(["+221770000001", "+221770000002", "+221770000003"], "direct")
    assert [r.accepted for r in results] == [True, False, True]
    assert results[1].message_id is None and results[1].status.startswith("SVC0004")


def test_a_5xx_is_retried_with_the_backoff_then_sent(db, clock, orange_sender, orange_api):
    """503: queued again after a minute, sent at the next attempt."""
    orange_api.fail("status", status=503)
    row = queue(db, clock)
    orange_sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED and waiting.next_attempt_at == clock.now() + BACKOFF[0]
    clock.advance(minutes=1)
    orange_sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.SENT and len(orange_api.messages()) == 1


def test_a_429_waits_at_least_its_retry_after(db, clock, orange_sender, orange_api):
    """Orange's rate limit: retried no sooner than Retry-After."""
    orange_api.fail("status", status=429, retry_after=120)
    row = queue(db, clock)
    orange_sender.send_due()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED
    assert waiting.next_attempt_at == clock.now() + timedelta(minutes=2)


def test_a_read_timeout_leaves_a_receipt_unknown_and_retries_a_reminder(db, clock, orange_sender, orange_api):
    """Orange may have taken it: a receipt is never risked twice; a reminder may be repeated."""
    orange_api.fail("timeout", times=2, seconds=TEST_TIMEOUT[1] + 1.0)
    receipt = queue(db, clock, text="receipt")
    reminder = queue(db, clock, text="reminder", kind="reminder", to="+221770000009")
    orange_sender.send_due()
    clock.advance(hours=2)
    orange_sender.send_due()
    unknown = fresh(db, receipt.id)
    assert unknown.status == SmsStatus.UNKNOWN and "not resent" in unknown.failure_reason
    assert fresh(db, reminder.id).status == SmsStatus.SENT
    assert sum(r["to"] == "+221770000001" for r in orange_api.requests()) == 1


def test_a_connection_dropped_after_the_request_leaves_a_receipt_unknown(
    db, clock, orange_sender, orange_api
):
    """The connection closes with the request read: uncertain, as for Africa's Talking."""
    orange_api.fail("reset_before")
    row = queue(db, clock)
    orange_sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.UNKNOWN


def test_a_refused_connection_is_retried_whatever_the_kind(db, clock, runtime, orange_config, orange_api):
    """Nothing listening: the request never left, so even a receipt is retried."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    orange_api.token()  # the token comes from the real local server; only sends go to the closed port
    gateway = OrangeGateway.from_config(orange_config, runtime.redis)
    gateway.token.get()
    gateway.url = f"http://127.0.0.1:{closed}/smsmessaging/v1/outbound/x/requests"
    runtime.config = orange_config
    sender = Sender(runtime, gateway, rate=None, threads=1)
    row = queue(db, clock)
    sender.send_due()
    sender.close()
    waiting = fresh(db, row.id)
    assert waiting.status == SmsStatus.QUEUED and "connection error" in waiting.failure_reason


# --- delivery receipts -----------------------------------------------------------------------


@pytest.fixture
def subscribed(runtime, runner, orange_config, live_app, orange_api):
    """`sms orange-subscribe` has registered the app's receipt URL (with the webhook token)."""
    runtime.config = replace(orange_config, WEBHOOK_TOKEN="w" * 32)
    result = runner.invoke(args=["sms", "orange-subscribe", f"{live_app}/sms/delivery/orange"])
    assert result.exit_code == 0, result.output
    assert "registered" in result.output and "w" * 32 not in result.output
    return live_app


def test_the_subscribe_command_registers_the_url_with_the_token_and_dry_run_registers_nothing(
    runtime, runner, orange_config, orange_api
):
    """--dry-run shows the URL (token hidden); the real run posts deliveryReceiptSubscription."""
    runtime.config = replace(orange_config, WEBHOOK_TOKEN="s" * 32)
    url = "https://mbolo.example.sn/sms/delivery/orange"
    dry = runner.invoke(args=["sms", "orange-subscribe", url, "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.output and "s" * 32 not in dry.output
    assert orange_api.seen()["subscriptions"] == []
    done = runner.invoke(args=["sms", "orange-subscribe", url])
    assert done.exit_code == 0, done.output
    [subscription] = orange_api.seen()["subscriptions"]
    assert subscription["notifyURL"] == f"{url}?token={'s' * 32}"
    assert subscription["sender"] == ORANGE_SENDER
    bad = runner.invoke(args=["sms", "orange-subscribe", "https://mbolo.example.sn/sms/delivery"])
    assert bad.exit_code != 0 and "/sms/delivery/orange" in bad.output
    plain = runner.invoke(args=["sms", "orange-subscribe", "http://mbolo.example.sn/sms/delivery/orange"])
    assert plain.exit_code != 0 and "https://" in plain.output
    assert len(orange_api.seen()["subscriptions"]) == 1


def test_a_receipt_lives_queued_sent_delivered(db, clock, runner, orange_sender, orange_api, subscribed):
    """DeliveredToTerminal, posted to the subscribed URL, delivers the row (matched by number)."""
    row = queue(db, clock)
    assert fresh(db, row.id).status == SmsStatus.QUEUED
    orange_sender.send_due()
    assert fresh(db, row.id).status == SmsStatus.SENT
    answer = orange_api.deliver("DeliveredToTerminal")
    assert answer["answers"] == [200]
    delivered = fresh(db, row.id)
    assert delivered.status == SmsStatus.DELIVERED and delivered.delivered_at == clock.now()
    assert delivered.delivery_approximate
    [logged] = json.loads(runner.invoke(args=["sms", "log", "--json"]).output)
    assert logged["status"] == "delivered" and logged["delivery_approximate"] is True


def test_a_receipt_lives_queued_sent_failed(db, clock, orange_sender, orange_api, subscribed):
    """DeliveryImpossible fails the row with that reason; a later DeliveredToTerminal changes nothing."""
    row = queue(db, clock)
    orange_sender.send_due()
    orange_api.deliver("DeliveryImpossible")
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and failed.failure_reason == "DeliveryImpossible"
    orange_api.deliver("DeliveredToTerminal")
    assert fresh(db, row.id).status == SmsStatus.FAILED


def test_in_flight_statuses_change_nothing_and_a_receipt_goes_to_the_oldest_sent_row(
    db, clock, orange_sender, orange_api, subscribed
):
    """DeliveredToNetwork / MessageWaiting leave the rows sent; then each final receipt takes the oldest."""
    older = queue(db, clock, text="first")
    orange_sender.send_due()
    clock.advance(minutes=1)
    newer = queue(db, clock, text="second")
    orange_sender.send_due()
    orange_api.deliver("DeliveredToNetwork", addresses=["+221770000001"])
    orange_api.deliver("MessageWaiting", addresses=["+221770000001"])
    assert fresh(db, older.id).status == fresh(db, newer.id).status == SmsStatus.SENT
    orange_api.deliver("DeliveredToTerminal", addresses=["+221770000001"])
    assert fresh(db, older.id).status == SmsStatus.DELIVERED
    assert fresh(db, newer.id).status == SmsStatus.SENT
    orange_api.deliver("DeliveredToTerminal", addresses=["+221770000001"])
    assert fresh(db, newer.id).status == SmsStatus.DELIVERED


def test_a_receipt_before_the_send_is_committed_is_kept_and_applied_after(db, clock, client, orange_sender):
    """No `sent` row yet: the receipt is kept, then applied when the sender records the send."""
    body = {
        "deliveryInfoNotification": {
            "callbackData": "",
            "deliveryInfo": {"address": "tel:+221770000001", "deliveryStatus": "DeliveredToTerminal"},
        }
    }
    assert client.post("/sms/delivery/orange", json=body).status_code == 200
    row = queue(db, clock)
    orange_sender.send_due()
    delivered = fresh(db, row.id)
    assert delivered.status == SmsStatus.DELIVERED and delivered.delivery_approximate


def test_the_sweep_applies_a_kept_receipt_once_its_row_is_sent(db, clock, runtime, client):
    """A receipt kept while its row was still being sent is applied by the next sweep."""
    from sqlalchemy import update

    from models.messaging import OutboundSms
    from sms.sender import sweep

    body = {
        "deliveryInfoNotification": {
            "deliveryInfo": {"address": "tel:+221770000001", "deliveryStatus": "DeliveryImpossible"}
        }
    }
    row = queue(db, clock)
    assert client.post("/sms/delivery/orange", json=body).status_code == 200
    db.execute(
        update(OutboundSms).where(OutboundSms.id == row.id).values(status=SmsStatus.SENT, sent_at=clock.now())
    )
    db.commit()
    assert sweep(runtime, clock.now())["early_reports_applied"] == 1
    failed = fresh(db, row.id)
    assert failed.status == SmsStatus.FAILED and failed.failure_reason == "DeliveryImpossible"
    assert failed.delivery_approximate


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"deliveryInfoNotification": {"deliveryInfo": {"address": "tel:+221770000001"}}},
        {"deliveryInfoNotification": {"deliveryInfo": {"address": "nobody", "deliveryStatus": "X"}}},
    ],
)
def test_a_malformed_receipt_is_refused_and_changes_nothing(db, clock, client, body):
    """400, and the outbox is untouched."""
    row = queue(db, clock)
    assert client.post("/sms/delivery/orange", json=body).status_code == 400
    assert fresh(db, row.id).status == SmsStatus.QUEUED


def test_the_orange_receipt_route_checks_the_webhook_token(runtime, client):
    """Same token as every webhook."""
    runtime.config = replace(runtime.config, WEBHOOK_TOKEN="k" * 32)
    assert client.post("/sms/delivery/orange", json={}).status_code == 403


# --- balance ---------------------------------------------------------------------------------


def test_the_balance_is_the_units_left_in_senegal_and_feeds_the_gauge(
    runtime, clock, orange_config, orange_gateway, orange_api
):
    """The contracts call's SEN bundles, in SMS units; sending takes units; CIV's bundle is not counted."""
    from sms.credit import check_balance
    from tests.test_metrics import local

    runtime.config = orange_config
    orange_api.set_contracts(
        [
            {"country": "SEN", "availableUnits": 1200},
            {"country": "SEN", "availableUnits": 300, "status": "EXPIRED"},
            {"country": "CIV", "availableUnits": 999},
        ]
    )
    assert check_balance(runtime, clock.now()) == "SMS 1200"
    assert local("mbolo_gateway_balance", currency="SMS") == 1200
    orange_gateway.send(["+221770000001"], "x" * 200)  # two segments
    clock.advance(minutes=10)
    assert check_balance(runtime, clock.now()) == "SMS 1198"
    assert local("mbolo_gateway_balance_checked_timestamp_seconds") == clock.now().timestamp()


def test_the_older_contracts_shape_is_read_too():
    """partnerContracts.contracts[].serviceContracts[] (as older clients show it)."""
    from sms.credit import units_left

    answer = {
        "partnerContracts": {
            "contracts": [
                {
                    "serviceContracts": [
                        {"country": "SEN", "availableUnits": 75},
                        {"country": "MLI", "availableUnits": 5},
                    ]
                }
            ]
        }
    }
    assert units_left(answer, "SEN") == 75
    with pytest.raises(ValueError):
        units_left({"unexpected": 1}, "SEN")
