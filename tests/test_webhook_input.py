"""Every webhook field is read through one request class: control characters gone, 4 KB cap on every
body (chunked too), the inbound `date` kept, and `/ussd/events` storing only its allowed fields."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.messaging import EarlyDeliveryReport, InboundSms, UssdEvent
from ussd_app.web_request import strip_controls

CONTROLS = "\x00\x01\x07\x1b\x7f\x85\x9f"


def test_strip_controls_keeps_text_tabs_and_line_breaks():
    """NUL, BEL, ESC, DEL and C1 codes go; letters, accents, tab and line breaks stay."""
    assert strip_controls(f"DEP{CONTROLS} M1\t5000\nmerci é") == "DEP M1\t5000\nmerci é"


def test_a_nul_in_every_inbound_field_is_stored_without_it(client, db):
    """A NUL in each field of an incoming SMS: 200 and the row stored clean (PostgreSQL refuses NUL)."""
    form = {
        "from": "+221771234567\x00",
        "to": "21\x0000",
        "text": "AI\x00DE",
        "id": "in-\x00nul",
        "linkId": "l\x00k",
        "networkCode": "608\x0001",
        "date": "2026-12-01 10:00:00\x00",
    }
    assert client.post("/sms/inbound", data=form).status_code == 200
    row = db.scalars(select(InboundSms)).one()
    assert (row.gateway_id, row.from_phone, row.to, row.text) == ("in-nul", "+221771234567", "2100", "AIDE")
    assert (row.link_id, row.network_code) == ("lk", "60801")
    assert row.sent_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_nul_in_every_delivery_report_field_is_not_a_retry_loop(client, db):
    """A NUL in each field of a delivery report: 200, kept as an early report without the NUL."""
    form = {
        "id": "ATX\x00id",
        "status": "Fail\x00ed",
        "phoneNumber": "+22177\x001234567",
        "failureReason": "Absent\x00Subscriber",
        "networkCode": "60\x00801",
        "retryCount": "1\x00",
    }
    assert client.post("/sms/delivery", data=form).status_code == 200
    early = db.scalars(select(EarlyDeliveryReport)).one()
    assert (early.gateway_message_id, early.status, early.failure_reason) == (
        "ATXid",
        "Failed",
        "AbsentSubscriber",
    )
    assert (early.network_code, early.retry_count) == ("60801", 1)


def test_a_nul_in_every_ussd_field_and_event_field(client, db):
    """The USSD hop answers CON/END and the end-of-session notice is stored, both without the NUL."""
    hop = client.post(
        "/ussd",
        data={
            "sessionId": "s\x00n",
            "serviceCode": "*384*123#\x00",
            "phoneNumber": "+221771234567\x00",
            "text": "\x00",
        },
    )
    assert hop.status_code == 200 and hop.get_data(as_text=True)[:4] in ("CON ", "END ")
    event = client.post(
        "/ussd/events", data={"sessionId": "s\x00n", "phoneNumber": "+221771234567", "status": "Suc\x00cess"}
    )
    assert event.status_code == 200
    stored = db.scalars(select(UssdEvent)).one()
    assert (stored.session_id, stored.status) == ("sn", "Success")


@pytest.mark.parametrize("path", ["/ussd", "/ussd/events", "/sms/inbound", "/sms/delivery", "/admin/login"])
def test_a_chunked_body_over_4_kb_is_refused_on_every_route(live_app, db, path):
    """Over real HTTP, no Content-Length, 6 KB sent in chunks: 413 and nothing stored."""
    head = b"id=big&from=%2B221771234567&sessionId=s&phoneNumber=%2B221771234567&text="
    chunks = [head] + [b"A" * 1000] * 6
    host, port = live_app.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(
        "POST",
        path,
        body=iter(chunks),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 413
    assert db.scalars(select(InboundSms)).all() == []


def test_an_unreadable_inbound_date_is_kept_as_none(client, db):
    """An odd `date` never refuses the message: the row is stored, its sent_at empty."""
    form = {"from": "+221771234567", "text": "AIDE", "id": "in-date", "date": "yesterday-ish"}
    assert client.post("/sms/inbound", data=form).status_code == 200
    assert db.scalars(select(InboundSms)).one().sent_at is None


def test_end_of_session_events_keep_only_the_allowed_fields(client, db):
    """`Input`, `userInput`, `lastAppResponse` or anything unknown is never stored: an allow-list."""
    response = client.post(
        "/ussd/events",
        data={
            "sessionId": "ATUid_1",
            "phoneNumber": "+221771234567",
            "status": "Success",
            "Input": "4827",
            "INPUT": "4827",
            "userInput": "4827",
            "lastAppResponse": "END Solde 4827",
            "hopsCount": "3",
            "whatever": "4827",
        },
    )
    assert response.status_code == 200
    payload = db.scalars(select(UssdEvent)).one().payload
    assert set(payload) == {"sessionId", "phoneNumber", "status", "hopsCount"}
    assert "4827" not in str(payload)
