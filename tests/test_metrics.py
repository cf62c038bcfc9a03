"""/metrics in one process: database-derived gauges, counters, failure reasons and the balance feed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from models import InboundSms
from models.database import make_engine, make_session_factory
from models.enums import InboundStatus, SmsKind, SmsStatus
from sms import telemetry
from sms.outbox import queue_sms
from sms.telemetry import DatabaseCollector, failure_reason_label, parse_balance
from tests import factories


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus text, or None when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match[1] != name:
            continue
        got = ",".join(sorted(p for p in (match[2] or "").split(",") if p))
        if got == want:
            return float(match[3])
    return None


def local(name: str, **labels) -> float:
    """The current value of a metric in this process's registry (0 when never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("InsufficientCredit", "InsufficientCredit"),
        ("insufficient credit", "InsufficientCredit"),
        ("InsufficientBalance (405)", "InsufficientBalance"),
        ("InvalidPhoneNumber (403)", "InvalidPhoneNumber"),
        ("InvalidSenderId (402) (permanent)", "InvalidSenderId"),
        ("HTTP 401: The supplied authentication is invalid (permanent)", "http_4xx"),
        ("HTTP 503 (gave up after 5 attempts)", "http_5xx"),
        ("timeout: ReadTimeout", "timeout"),
        ("connection error: ConnectionError", "connection"),
        ("InsufficientBalance", "InsufficientBalance"),
        ("UserInBlackList", "UserInBlacklist"),
        ("NotNetworkSubcriber", "NotNetworkSubscriber"),
        ("InvalidSenderId", "InvalidSenderId"),
        ("timeout", "timeout"),
        ("ReadTimeout", "timeout"),
        ("ConnectionError", "connection"),
        ("429", "http_429"),
        ("http_503", "http_5xx"),
        ("HTTP 404", "http_4xx"),
        ("lease expired", "lease_expired"),
        ("something new", "other"),
        (None, "other"),
    ],
)
def test_failure_reasons_fold_to_a_closed_set(raw, label):
    """Gateway reasons and transport errors map to a bounded label set (InsufficientCredit first)."""
    assert failure_reason_label(raw) == label
    assert telemetry.SEND_FAILURE_REASONS[0] == "InsufficientCredit"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("XOF 12500.0000", ("XOF", 12500.0)),
        ("KES 1,785.50", ("KES", 1785.5)),
        ("xof -3.5", ("XOF", -3.5)),
        ("", None),
        ("lots", None),
    ],
)
def test_gateway_balance_is_parsed(raw, parsed):
    """The Application data balance string becomes a currency and an amount."""
    assert parse_balance(raw) == parsed


def test_metrics_reports_outbox_and_inbound_from_the_database(client, db, clock):
    """Depth per kind and status, oldest due age, and unhandled inbound rows are read at scrape time."""
    now = clock.now()
    coop = factories.coop(db)
    m = factories.member(db, coop)
    queue_sms(db, to=m.phone, text="a", kind=SmsKind.RECEIPT, language="fr", now=now - timedelta(minutes=10))
    queue_sms(db, to=m.phone, text="b", kind=SmsKind.RECEIPT, language="fr", now=now - timedelta(minutes=2))
    # Held by quiet hours until tomorrow: counted in the depth, not in the age.
    queue_sms(
        db,
        to=m.phone,
        text="c",
        kind=SmsKind.REMINDER,
        language="fr",
        now=now - timedelta(hours=1),
        send_after=now + timedelta(hours=20),
    )
    lost = queue_sms(
        db, to=m.phone, text="d", kind=SmsKind.REPLY, language="fr", now=now - timedelta(hours=3)
    )
    lost.status = SmsStatus.UNKNOWN
    db.add(
        InboundSms(
            gateway_id="g1",
            from_phone=m.phone,
            text="PAY x",
            received_at=now - timedelta(minutes=30),
            status=InboundStatus.FAILED,
            attempts=2,
        )
    )
    db.commit()

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert sample(text, "mbolo_database_up") == 1
    assert sample(text, "mbolo_outbox_depth", kind="receipt", status="queued") == 2
    assert sample(text, "mbolo_outbox_depth", kind="reminder", status="queued") == 1
    assert sample(text, "mbolo_outbox_depth", kind="reply", status="unknown") == 1
    assert sample(text, "mbolo_outbox_depth", kind="broadcast", status="sending") == 0
    assert sample(text, "mbolo_outbox_oldest_age_seconds", kind="receipt") == 600
    assert sample(text, "mbolo_outbox_oldest_age_seconds", kind="reminder") == 0
    assert sample(text, "mbolo_inbound_unhandled", status="failed") == 1
    assert sample(text, "mbolo_inbound_unhandled", status="received") == 0
    assert sample(text, "mbolo_inbound_unhandled_oldest_age_seconds", status="failed") == 1800
    assert sample(text, "mbolo_sms_send_failures_total", reason="InsufficientCredit") is not None


def test_requests_are_counted_by_endpoint_and_status(client):
    """Every answered request adds one to its endpoint and status; unknown paths are `unmatched`."""
    before = local("mbolo_http_requests_total", endpoint="health.healthz", status="200")
    missing = local("mbolo_http_requests_total", endpoint="unmatched", status="404")
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/path?token=x").status_code == 404
    assert local("mbolo_http_requests_total", endpoint="health.healthz", status="200") == before + 1
    assert local("mbolo_http_requests_total", endpoint="unmatched", status="404") == missing + 1


def test_a_ussd_hop_is_counted_by_screen_and_outcome(client):
    """One hop from an unknown phone adds one hop and one latency observation."""
    pytest.importorskip("ussd_app.ussd_webhook")
    hops = sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "mbolo_ussd_hops"
        for s in m.samples
        if s.name == "mbolo_ussd_hops_total"
    )
    latency = local("mbolo_ussd_hop_seconds_count")
    response = client.post(
        "/ussd",
        data={
            "sessionId": "s-metrics",
            "serviceCode": "*384*123#",
            "phoneNumber": "+221770000099",
            "text": "",
        },
    )
    assert response.status_code == 200
    after = sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "mbolo_ussd_hops"
        for s in m.samples
        if s.name == "mbolo_ussd_hops_total"
    )
    assert after == hops + 1
    assert local("mbolo_ussd_hop_seconds_count") == latency + 1


def test_send_failures_reminders_balance_and_dlr_lag_are_recorded(client, clock):
    """The one-line helpers feed the counters and gauges that the alert rules read."""
    credit = local("mbolo_sms_send_failures_total", reason="InsufficientCredit")
    lag = local("mbolo_sms_dlr_lag_seconds_count")
    telemetry.count_send_failure("InsufficientCredit")
    telemetry.mark_reminder_planning(clock.now())
    assert telemetry.record_gateway_balance("XOF 4200.00", clock.now())
    assert not telemetry.record_gateway_balance("garbage", clock.now())
    telemetry.observe_dlr_lag(clock.now() - timedelta(seconds=42), clock.now())
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "mbolo_sms_send_failures_total", reason="InsufficientCredit") == credit + 1
    assert sample(text, "mbolo_reminder_planning_last_success_timestamp_seconds") == clock.now().timestamp()
    assert sample(text, "mbolo_gateway_balance", currency="XOF") == 4200.0
    assert sample(text, "mbolo_sms_dlr_lag_seconds_count") == lag + 1


def test_database_down_still_answers_with_database_up_zero(tmp_path, clock):
    """A scrape while the database is unreachable yields mbolo_database_up 0 instead of failing."""
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/none.db")
    families = list(DatabaseCollector(make_session_factory(engine), clock).collect())
    assert [(f.name, f.samples[0].value) for f in families] == [("mbolo_database_up", 0)]
    engine.dispose()


def test_the_sender_counts_sends_and_failures_by_reason(db, clock, sender, sms_gateway):
    """A sent receipt and a refusal for lack of balance each add one to their series."""
    from tests.sms_support import queue

    sent = local("mbolo_sms_sent_total", kind="receipt")
    broke = local("mbolo_sms_send_failures_total", reason="InsufficientBalance")
    sms_gateway.fail_numbers({"+221770000002": 405})
    queue(db, clock, to="+221770000001", text="a")
    queue(db, clock, to="+221770000002", text="b")
    sender.send_due()
    assert local("mbolo_sms_sent_total", kind="receipt") == sent + 1
    assert local("mbolo_sms_send_failures_total", reason="InsufficientBalance") == broke + 1


def test_a_failed_delivery_report_counts_its_reason_and_the_lag(db, clock, sender, client):
    """A `Failed` report with InsufficientCredit 90 s after sending: one failure, one lag observation."""
    from tests.sms_support import fresh, queue

    credit = local("mbolo_sms_send_failures_total", reason="InsufficientCredit")
    lag = local("mbolo_sms_dlr_lag_seconds_count")
    lag_sum = local("mbolo_sms_dlr_lag_seconds_sum")
    failed = local("mbolo_sms_delivery_reports_total", status="failed")
    row = queue(db, clock)
    sender.send_due()
    message_id = fresh(db, row.id).gateway_message_id
    clock.advance(seconds=90)
    answer = client.post(
        "/sms/delivery", data={"id": message_id, "status": "Failed", "failureReason": "InsufficientCredit"}
    )
    assert answer.status_code == 200
    assert local("mbolo_sms_send_failures_total", reason="InsufficientCredit") == credit + 1
    assert local("mbolo_sms_delivery_reports_total", status="failed") == failed + 1
    assert local("mbolo_sms_dlr_lag_seconds_count") == lag + 1
    assert local("mbolo_sms_dlr_lag_seconds_sum") == lag_sum + 90


@pytest.fixture
def application_api():
    """A local stand-in for Africa's Talking's GET /version1/user (Application data)."""
    import json
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    state = {"status": 200, "balance": "XOF 4321.5000", "seen": []}

    @Request.application
    def api(request):
        state["seen"].append((request.path, request.args.get("username"), request.headers.get("apiKey")))
        if state["status"] != 200:
            return Response("The supplied authentication is invalid", status=state["status"])
        body = {"UserData": {"balance": state["balance"]}}
        return Response(json.dumps(body), mimetype="application/json")

    server = make_server("127.0.0.1", 0, api, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()


def test_the_tick_reads_the_gateway_balance_through_the_application_data_call(
    runtime, clock, application_api
):
    """check_balance calls /version1/user with the username and key, and feeds the balance gauge."""
    from dataclasses import replace

    from sms.credit import check_balance

    runtime.config = replace(
        runtime.config,
        SMS_GATEWAY="africastalking",
        AT_USERNAME="mbolo",
        AT_API_KEY="key-123",
        AT_API_URL=application_api["url"],
    )
    assert check_balance(runtime, clock.now()) == "XOF 4321.5000"
    assert application_api["seen"] == [("/version1/user", "mbolo", "key-123")]
    assert local("mbolo_gateway_balance", currency="XOF") == 4321.5
    assert local("mbolo_gateway_balance_checked_timestamp_seconds") == clock.now().timestamp()

    application_api["status"] = 401
    clock.advance(minutes=10)
    assert check_balance(runtime, clock.now()).startswith("unavailable")
    assert local("mbolo_gateway_balance", currency="XOF") == 4321.5  # the last good value stays
    assert local("mbolo_gateway_balance_checked_timestamp_seconds") == (clock.now().timestamp() - 600)


def test_the_console_gateway_has_no_balance(runtime, clock):
    """With SMS_GATEWAY=console the task does nothing."""
    from sms.credit import check_balance

    assert check_balance(runtime, clock.now()) == "no balance call for this gateway"


def test_alert_rules_read_only_metrics_that_metrics_exports(client):
    """Every mbolo_* series named in deploy/alerts.yml is one /metrics exposes; each rule is complete."""
    from pathlib import Path

    import yaml

    rules = yaml.safe_load((Path(__file__).resolve().parent.parent / "deploy" / "alerts.yml").read_text())
    text = client.get("/metrics").get_data(as_text=True)
    exported = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        suffixes = {"histogram": ["_bucket", "_sum", "_count"]}.get(kind, [""])  # counters: TYPE names _total
        exported.update(name + s for s in suffixes)
    seen = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"]
            for name in re.findall(r"\bmbolo_[a-z_]+", rule["expr"]):
                assert name in exported, f"{rule['alert']}: {name} is not exported"
                seen += 1
    assert seen >= 15
