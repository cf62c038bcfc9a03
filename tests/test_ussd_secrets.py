"""After a whole session the PIN is nowhere: not in Redis, not in any table (events included), not in logs."""

from __future__ import annotations

import json
import logging
import re

from sqlalchemy import inspect, text

from config.logs import JsonFormatter
from tests import factories as f
from tests.phone import Phone

FIRST_PIN = "7391"
NEW_PIN = "6058"


def _as_token(pin: str) -> re.Pattern:
    # A token: not glued to other letters or digits (a hash's hex may hold the digits by chance).
    return re.compile(rf"(?<![0-9A-Za-z]){pin}(?![0-9A-Za-z])")


def _redis_dump(client) -> str:
    parts = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1)
        else:
            value = kind
        parts.append(f"{key!r}={value!r}")
    return "\n".join(parts)


def _database_dump(engine) -> str:
    parts = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(f"{table}: {tuple(row)!r}")
    return "\n".join(parts)


def test_the_pin_is_never_stored_or_logged(client, db, runtime, engine, caplog):
    """Choose, confirm, balance, change PIN, end-of-session event with `input`: then scan everything."""
    caplog.set_level(logging.DEBUG)
    coop = f.coop(db)
    member = f.member(db, coop, phone="+221771234567", savings=1_000)
    f.loan(db, member)
    db.commit()
    phone = Phone(client, "+221771234567")
    phone.dial()
    phone.press(FIRST_PIN)
    phone.press(FIRST_PIN)
    phone.press("1")
    phone.replay()
    phone.press("00")
    phone.press("6")
    phone.press(FIRST_PIN)
    phone.press(NEW_PIN)
    assert phone.press(NEW_PIN).startswith("Votre code PIN est chang")
    phone.dial()
    phone.press("1111")  # a wrong PIN: logged masked too
    phone.press(NEW_PIN)
    client.post(
        "/ussd/events",
        data={
            "sessionId": phone.session_id,
            "phoneNumber": "+221771234567",
            "status": "Success",
            "input": f"{NEW_PIN}*1*00",
            "lastAppResponse": "END ...",
        },
    )

    formatter = JsonFormatter()
    logs = "\n".join(formatter.format(r) for r in caplog.records)
    hop_lines = [json.loads(formatter.format(r)) for r in caplog.records if r.getMessage() == "ussd.hop"]
    assert hop_lines, "one structured line per hop"
    assert {line["input"] for line in hop_lines if line["from"] in ("pin_choose", "pin_enter")} == {"****"}
    assert all("phone" in line and "+221771234567" not in line["phone"] for line in hop_lines)

    for where, dump in (
        ("redis", _redis_dump(runtime.redis)),
        ("database", _database_dump(engine)),
        ("logs", logs),
    ):
        for pin in (FIRST_PIN, NEW_PIN, "1111"):
            assert not _as_token(pin).search(dump), f"{pin} found in {where}"
    assert "ussd_event" in _database_dump(engine)  # the scan covered the stored event


def test_a_pin_typed_on_a_menu_is_masked_in_the_log(client, db, caplog):
    """Entries longer than a menu key are masked on menus."""
    from tests.phone import give_pin

    caplog.set_level(logging.INFO)
    member = f.member(db, f.coop(db), phone="+221771234567")
    give_pin(db, member, FIRST_PIN, "test-pin-secret")
    phone = Phone(client, "+221771234567")
    phone.dial()
    phone.press(FIRST_PIN)
    phone.press(FIRST_PIN)  # typed again on the main menu by mistake
    phone.press("1")
    lines = [r.__dict__ for r in caplog.records if r.getMessage() == "ussd.hop"]
    assert [line["input"] for line in lines] == ["", "****", "****", "1"]


def test_a_pin_typed_at_a_free_input_screen_is_logged_by_its_length_only(client, db, caplog):
    """A PIN typed as the declared amount (a free-input screen) shows in the hop line as four stars."""
    from datetime import date

    from tests.phone import give_pin

    caplog.set_level(logging.INFO)
    member = f.member(db, f.coop(db), phone="+221771234567")
    f.loan(db, member, "L-1", first_due_on=date(2026, 12, 1))
    give_pin(db, member, FIRST_PIN, "test-pin-secret")
    db.commit()
    phone = Phone(client, "+221771234567")
    phone.dial()
    phone.press(FIRST_PIN)
    phone.press("4")  # Declare a repayment: the amount screen takes free input
    phone.press(FIRST_PIN)
    lines = [r.__dict__ for r in caplog.records if r.getMessage() == "ussd.hop"]
    assert lines[-1]["input"] == "****"
    logs = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert not _as_token(FIRST_PIN).search(logs)
