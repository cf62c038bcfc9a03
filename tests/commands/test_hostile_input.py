"""The hostile-input corpus: every webhook and every SMS command fed control characters, 6 KB fields,
chunk-sized bodies, unicode forms (NFD, full-width, RTL marks, emoji) and absurd amounts.

Whatever comes in: never a 5xx, and nothing written but the inbound row and at most one reply
(a body over 4 KB: nothing at all). Runs on both backends like every test.
"""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import func, literal, select, union_all

from models.base import Base
from sms.commands.registry import COMMANDS
from tests.commands.conftest import STRANGER, TREASURER

ABSURD_AMOUNTS = [
    "9" * 40,
    "-5000",
    "1e9",
    "5E+12",
    "0x1F4",
    "NaN",
    "inf",
    "9 000 000 000 000 000 000",
    "10 000 001",
    "٩" * 15,
    "５" * 15,
    "1" + "0" * 30 + " F",
]


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _shapes(keyword: str) -> list[str]:
    """Hostile messages for one keyword: none of them is a command that may write anything."""
    shapes = [f"{keyword} M0012 {amount}" for amount in ABSURD_AMOUNTS]
    shapes += [
        f"{keyword}\x00 M0012\x1b 9\x07{'9' * 30}",
        f"{keyword} M0012 " + "A" * 6000,  # a 6 KB field: 413
        f"{keyword} M0012 " + "é" * 1500 + " -1",  # under 4 KB on the wire, 1 500 characters
        _full_width(f"{keyword} M0012 99999999999999"),
        f"\u200f{keyword} \u200eM0012 -5000\u200f",
        f"{keyword} M0012 💸💸 1e9 🙂",
        unicodedata.normalize("NFD", f"{keyword} M0012 Niébé 5e3"),
        f"{keyword}\r\n\t M0012 \u202e0005-",
    ]
    return shapes


_COUNT_ALL = union_all(
    *(
        select(literal(t.name).label("name"), func.count().label("n")).select_from(t)
        for t in Base.metadata.sorted_tables
    )
)


def _counts(db) -> dict[str, int]:
    """Rows in every table, in one statement (the corpus takes hundreds of snapshots)."""
    counts = {name: n for name, n in db.execute(_COUNT_ALL)}
    db.commit()  # end the read: on SQLite an open transaction holds the write lock
    return counts


def _check_writes(before: dict, after: dict, status: int, *, stored: str, replies: str | None) -> None:
    """Nothing changed but `stored` (+1, or +0 when refused) and `replies` (at most +1)."""
    changed = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    allowed = {stored: (0, 1)} if status == 200 else {}
    if replies:
        allowed[replies] = (0, 1)
    for name, delta in changed.items():
        assert name in allowed and delta in allowed[name], (name, delta)


@pytest.mark.parametrize("alias", sorted(COMMANDS.by_alias))
def test_every_command_survives_the_corpus(client, coop, db, alias):
    """POST /sms/inbound with each hostile form of the command: no 5xx; the row and one reply at most."""
    sender = STRANGER if COMMANDS.by_alias[alias].keyword in ("STOP", "START") else TREASURER
    shapes = _shapes(alias)
    if alias != COMMANDS.by_alias[alias].keyword:
        shapes = shapes[::4]  # a synonym reads like its keyword: a sample of the corpus is enough
    for n, text in enumerate(shapes):
        before = _counts(db)
        form = {"from": sender, "to": "21000", "text": text, "id": f"hostile-{alias}-{n}", "date": "\x00"}
        response = client.post("/sms/inbound", data=form)
        assert response.status_code in (200, 400, 413), (text[:60], response.status_code)
        _check_writes(before, _counts(db), response.status_code, stored="inbound_sms", replies="outbound_sms")


HOSTILE_VALUES = [
    "\x00",
    "a\x00b\x1b[31m\x7f\x85",
    "A" * 6000,
    "é" * 1500,
    unicodedata.normalize("NFD", "Niébé"),
    "＋２２１７７１２３４５６７",
    "\u200f+221 77 123 45 67\u200e",
    "💸" * 300,
    "9" * 40,
    "-5000",
    "1e9",
    "%00%ff",
    "' OR 1=1 --",
]
USSD_FIELDS = ["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"]


@pytest.mark.parametrize("field", USSD_FIELDS)
def test_every_ussd_field_survives_the_corpus(client, coop, db, field):
    """A hop with one hostile field: 200 with CON/END (or 413), and nothing written."""
    for value in HOSTILE_VALUES:
        _ussd_hop(client, db, field, value)


def _ussd_hop(client, db, field: str, value: str) -> None:
    form = {
        "sessionId": "hostile-1",
        "serviceCode": "*384*123#",
        "phoneNumber": "+221765554433",  # nobody's: a hop writes nothing
        "networkCode": "60801",
        "text": "1*2",
        field: value,
    }
    before = _counts(db)
    response = client.post("/ussd", data=form)
    assert response.status_code in (200, 413)
    if response.status_code == 200:
        assert response.get_data(as_text=True).startswith(("CON ", "END "))
    assert _counts(db) == before


@pytest.mark.parametrize("field", ["sessionId", "phoneNumber", "status", "input", "durationInMillis", "x"])
def test_every_event_field_survives_the_corpus(client, db, field):
    """/ussd/events with one hostile field: 200 (or 413); at most the one event row."""
    for value in HOSTILE_VALUES:
        before = _counts(db)
        form = {"sessionId": "ev-1", "phoneNumber": "+221771234567", "status": "Success", field: value}
        response = client.post("/ussd/events", data=form)
        assert response.status_code in (200, 413)
        _check_writes(before, _counts(db), response.status_code, stored="ussd_event", replies=None)


@pytest.mark.parametrize(
    "field", ["id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount", "extra"]
)
def test_every_delivery_report_field_survives_the_corpus(client, db, field):
    """/sms/delivery with one hostile field: 200, 400 or 413; at most one kept early report."""
    for value in HOSTILE_VALUES:
        before = _counts(db)
        form = {"id": "ATXid_hostile", "status": "Failed", "phoneNumber": "+221771234567", field: value}
        response = client.post("/sms/delivery", data=form)
        assert response.status_code in (200, 400, 413)
        _check_writes(before, _counts(db), response.status_code, stored="early_delivery_report", replies=None)


@pytest.mark.parametrize("field", ["from", "to", "id", "linkId", "networkCode", "date"])
def test_every_inbound_field_survives_the_corpus(client, coop, db, field):
    """/sms/inbound with one hostile field around a harmless AIDE: no 5xx, the row and one reply at most."""
    for n, value in enumerate(HOSTILE_VALUES):
        before = _counts(db)
        form = {"from": STRANGER, "to": "21000", "text": "AIDE", "id": f"in-{field}-{n}", field: value}
        response = client.post("/sms/inbound", data=form)
        assert response.status_code in (200, 400, 413)
        _check_writes(before, _counts(db), response.status_code, stored="inbound_sms", replies="outbound_sms")
