"""`sms log`, `sms send-pending`, the console gateway, the rate limit and the local server's own answers."""

from __future__ import annotations

import io
import json

import pytest
import requests

from models.enums import SmsStatus
from sms.gateways import REGISTRY, build
from sms.gateways.console import ConsoleGateway
from sms.local_gateway import MESSAGING_PATH
from sms.throttle import Throttle, in_flight
from tests.sms_support import fresh, queue


def test_sms_log_json_has_the_documented_shape_and_filters(runner, db, clock):
    """--json prints objects with id, to (E.164), kind, status, text, segments, failure_reason, created_at."""
    queue(db, clock, to="+221770000001", text="Recu A")
    queue(db, clock, to="+221770000002", text="Annonce", kind="broadcast")
    result = runner.invoke(args=["sms", "log", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["to"] for r in rows] == ["+221770000002", "+221770000001"]
    required = {"id", "to", "kind", "status", "text", "segments", "failure_reason", "created_at"}
    assert required <= set(rows[0])
    assert rows[1]["created_at"] == "2026-12-01T10:00:00+00:00" and rows[1]["segments"] == 1
    by_phone = json.loads(runner.invoke(args=["sms", "log", "--json", "--to", "77 000 00 01"]).output)
    assert [r["text"] for r in by_phone] == ["Recu A"]
    by_kind = json.loads(runner.invoke(args=["sms", "log", "--json", "--kind", "broadcast"]).output)
    assert [r["text"] for r in by_kind] == ["Annonce"]
    assert json.loads(runner.invoke(args=["sms", "log", "--json", "--status", "sent"]).output) == []
    assert (
        json.loads(runner.invoke(args=["sms", "log", "--json", "--limit", "1"]).output)[0]["text"]
        == "Annonce"
    )
    assert "2 SMS shown" in runner.invoke(args=["sms", "log"]).output


def test_send_pending_sends_synchronously_and_prints_one_summary_line(
    runner, runtime, at_config, db, clock, sms_gateway
):
    """`sms send-pending` posts what is due through the configured gateway."""
    runtime.config = at_config
    row_id = queue(db, clock).id
    result = runner.invoke(args=["sms", "send-pending"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("sent 1, failed 0")
    assert fresh(db, row_id).status == SmsStatus.SENT
    assert len(sms_gateway.messages()) == 1


def test_send_pending_now_sends_as_of_that_instant(runner, runtime, at_config, db, clock, sms_gateway):
    """--now (naive = Dakar): a broadcast held by quiet hours goes when --now is past 08:00."""
    runtime.config = at_config
    clock.set(clock.now().replace(hour=21))
    row_id = queue(db, clock, kind="broadcast", text="Annonce").id
    assert "held 1" in runner.invoke(args=["sms", "send-pending"]).output
    assert "sent 1" in runner.invoke(args=["sms", "send-pending", "--now", "2026-12-02T08:05"]).output
    assert fresh(db, row_id).status == SmsStatus.SENT


def test_the_registry_matches_the_configured_gateway_names(config):
    """SMS_GATEWAY values and gateway classes agree; console is the development default."""
    assert set(REGISTRY) == {"africastalking", "console", "orange"}
    assert isinstance(build(config), ConsoleGateway)


def test_the_console_gateway_prints_masked_numbers_and_accepts(db, clock, runtime):
    """Development gateway: prints, accepts every number."""
    out = io.StringIO()
    [result] = ConsoleGateway(out).send(["+221771234567"], "Bonjour")
    assert result.accepted and result.message_id.startswith("console-")
    assert out.getvalue() == "SMS to +221*******67: Bonjour\n"


def test_the_rate_limit_makes_the_second_request_wait_and_marks_only_granted_rows(runtime):
    """1 segment/s: the first segment goes at once; the next is told to wait about a second, unmarked."""
    waits = []

    class Waited(Exception):
        pass

    def record(seconds):
        waits.append(seconds)
        raise Waited

    throttle = Throttle(runtime.redis, "test", rate=1.0, sleep=record)
    throttle.acquire(1, [(1, 1)])
    with pytest.raises(Waited):
        throttle.acquire(1, [(2, 1)])
    assert 0.5 < waits[0] <= 1.0
    assert in_flight(runtime.redis, [(1, 1), (2, 1)]) == [True, False]


def test_without_a_rate_the_throttle_only_marks(runtime):
    """Rate limit off (benchmarks): never waits, still marks rows in flight."""
    throttle = Throttle(runtime.redis, "test", rate=None, sleep=lambda s: pytest.fail("slept"))
    for i in range(50):
        throttle.acquire(10, [(i, 1)])
    assert all(in_flight(runtime.redis, [(i, 1) for i in range(50)]))


def test_the_local_server_answers_like_africas_talking(local_gateway, sms_gateway):
    """201 JSON with Recipients; 401 text/plain for a bad key; InvalidSenderId as a 201 with no recipients."""
    url = local_gateway.url + MESSAGING_PATH
    form = {"username": "mbolo", "to": "+221770000001,+221770000002", "message": "Salut", "from": "MBOLO"}
    ok = requests.post(
        url, data=form, headers={"apiKey": "local-api-key", "Accept": "application/json"}, timeout=5
    )
    assert ok.status_code == 201 and ok.headers["Content-Type"] == "application/json"
    recipients = ok.json()["SMSMessageData"]["Recipients"]
    assert [r["statusCode"] for r in recipients] == [101, 101]
    assert recipients[0]["cost"] == "XOF 15.0000" and recipients[0]["messageParts"] == 1
    assert ok.json()["SMSMessageData"]["Message"] == "Sent to 2/2 Total Cost: XOF 30.0000"
    bad = requests.post(url, data=form, headers={"apiKey": "nope"}, timeout=5)
    assert bad.status_code == 401 and bad.headers["Content-Type"] == "text/plain"
    sms_gateway.allow_senders(["OTHER"])
    invalid = requests.post(url, data=form, headers={"apiKey": "local-api-key"}, timeout=5).json()
    assert invalid == {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
