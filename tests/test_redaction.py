"""Security settings: the webhook token is masked in every log, two tokens work during a rotation,
request bodies are never logged."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from config.logs import JsonFormatter
from config.redaction import SecretFilter, mask_secrets


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("POST /ussd?token=abc123 HTTP/1.1", "POST /ussd?*** HTTP/1.1"),
        ("/sms/inbound?x=1&token=abc&y=2", "/sms/inbound?***"),
        ('"GET /x?TOKEN=Ab%2F9 HTTP/1.1" 200', '"GET /x?*** HTTP/1.1" 200'),
        ('"POST /ussd?tok%65n=s3cret HTTP/1.1" 200', '"POST /ussd?*** HTTP/1.1" 200'),
        ("https://h.example/sms/delivery?a=1&t%6Fken=zz", "https://h.example/sms/delivery?***"),
        ("Produit ? 1 Mil", "Produit ? 1 Mil"),
        ("access_token=zz;next", "access_token=***;next"),
        ("token=", "token=***"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_tokens_are_masked_wherever_they_appear(raw, masked):
    """A path's whole query string becomes `?***`; `token=VALUE` elsewhere `token=***`; other text stays."""
    assert mask_secrets(raw) == masked


def test_the_logging_filter_masks_rendered_messages():
    """SecretFilter renders %-style arguments first, so a token passed as an argument is masked too."""
    record = logging.makeLogRecord({"msg": '"%s" %s', "args": ("POST /ussd?token=s3cret HTTP/1.1", 200)})
    assert SecretFilter().filter(record)
    assert record.getMessage() == '"POST /ussd?*** HTTP/1.1" 200'


def test_the_json_log_line_masks_a_url_in_an_extra_field():
    """A URL logged as an `extra=` field by any module loses its token in the JSON line."""
    record = logging.makeLogRecord({"msg": "callback", "url": "https://x/sms/delivery?token=s3cret&a=1"})
    line = JsonFormatter().format(record)
    assert "s3cret" not in line and "/sms/delivery?***" in line


@pytest.fixture
def rotating_client(runtime):
    """The app with a new token and the previous one still accepted (a rotation in progress)."""
    from ussd_app import create_app

    runtime.config = replace(
        runtime.config, WEBHOOK_TOKEN="new-token-1", WEBHOOK_TOKEN_PREVIOUS="old-token-0"
    )
    return create_app(runtime=runtime).test_client()


@pytest.mark.parametrize("path", ["/ussd", "/ussd/events", "/sms/inbound", "/sms/delivery"])
def test_both_tokens_are_accepted_during_a_rotation(rotating_client, path):
    """Current and previous token pass on every webhook; any other value, or none, gets 403."""
    pytest.importorskip("ussd_app.ussd_webhook")
    pytest.importorskip("ussd_app.sms_webhooks")
    form = {
        "sessionId": "s1",
        "serviceCode": "*384*123#",
        "phoneNumber": "+221770000001",
        "text": "",
        "from": "+221770000001",
        "to": "12345",
        "id": f"id-{path}",
        "status": "Success",
        "date": "2026-12-01 10:00:00",
    }
    for token in ("new-token-1", "old-token-0"):
        form["id"] = f"id-{path}-{token}"
        assert rotating_client.post(f"{path}?token={token}", data=form).status_code != 403, token
    assert rotating_client.post(f"{path}?token=guess", data=form).status_code == 403
    assert rotating_client.post(path, data=form).status_code == 403


def test_hops_and_inbound_sms_never_log_the_body_or_the_token(rotating_client, caplog):
    """A USSD hop and an incoming SMS leave JSON lines without the token or a field of the body."""
    pytest.importorskip("ussd_app.ussd_webhook")
    pytest.importorskip("ussd_app.sms_webhooks")
    caplog.set_level(logging.DEBUG)
    marker = "BODYMARK5521"
    hop = rotating_client.post(
        "/ussd?token=new-token-1",
        data={
            "sessionId": "s-log",
            "serviceCode": "*384*123#",
            "phoneNumber": "+221770000042",
            "text": "",
            "networkCode": "60801",
            "note": marker,
        },
    )
    assert hop.status_code == 200
    sms = rotating_client.post(
        "/sms/inbound?token=old-token-0",
        data={"from": "+221770000042", "to": "12345", "text": f"AIDE {marker}", "id": "in-log-1"},
    )
    assert sms.status_code == 200
    assert caplog.records, "the hop and the SMS each log a line"
    lines = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in ("new-token-1", "old-token-0", marker):
        assert secret not in lines, secret


def test_the_development_server_access_log_masks_the_query(app):
    """`flask run` logs through the `werkzeug` logger: its request line loses the whole query."""
    record = logging.makeLogRecord(
        {
            "name": "werkzeug",
            "msg": '%s - - [%s] "%s" %s -',
            "args": ("127.0.0.1", "now", "POST /ussd?tok%65n=s3 HTTP/1.1", 200),
        }
    )
    for log_filter in logging.getLogger("werkzeug").filters:
        log_filter.filter(record)
    assert "s3" not in record.getMessage() and "/ussd?***" in record.getMessage()
