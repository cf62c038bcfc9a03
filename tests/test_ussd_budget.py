"""Per-hop budgets: ≤ 2 Redis round trips on every hop, ≤ 3 SQL statements on read-only hops.

See docs/design.md, "The USSD session".

Round trips are counted where redis-py writes to the socket (`send_packed_command`: one call per
command, one per pipeline); statements with SQLAlchemy's `before_cursor_execute` event (BEGIN
IMMEDIATE included on SQLite).
"""

from __future__ import annotations

from datetime import date

import pytest
from redis.connection import AbstractConnection
from sqlalchemy import event

from models.enums import Frequency
from models.ledger import record_repayment
from tests import factories as f
from tests.phone import Phone, give_pin
from ussd_app.ussd_session import SESSION_KEY

PIN = "4827"


@pytest.fixture
def counters(engine, monkeypatch):
    """Counts of Redis round trips and SQL statements since the last reset."""
    counts = {"redis": 0, "sql": 0, "statements": []}
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counts["redis"] += 1
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    def on_sql(conn, cursor, statement, parameters, context, executemany):
        counts["sql"] += 1
        counts["statements"].append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", on_sql)
    yield counts
    event.remove(engine, "before_cursor_execute", on_sql)


@pytest.fixture
def phone(client, db):
    coop = f.coop(db)
    member = f.member(db, coop, phone="+221771234567", savings=10_000)
    give_pin(db, member, PIN, "test-pin-secret")
    f.loan(db, member, reference="L-1")
    weekly = f.loan(
        db, member, reference="L-2", principal=52_000, interest=0, installments=52, frequency=Frequency.WEEKLY
    )
    for k in range(10):
        record_repayment(
            db,
            member=member,
            amount=500,
            paid_on=date(2026, 10, 1 + k),
            now=f.DEFAULT_NOW,
            source="cli",
            loan=weekly,
        )
    db.commit()
    return Phone(client, "+221771234567")


def _hop(counters, press) -> tuple[int, int]:
    counters["redis"] = counters["sql"] = 0
    counters["statements"].clear()
    press()
    return counters["redis"], counters["sql"]


READ_ONLY = ["1", "0", "3", "2", "98", "98", "0", "0", "1", "00", "5", "0", "7", "3", "00"]


def test_read_only_hops_stay_within_two_round_trips_and_three_statements(phone, counters):
    """Menu, balance, loan list, loan detail, pages, back, language menu, wrong entries."""
    redis_trips, _ = _hop(counters, phone.dial)
    assert redis_trips <= 2
    redis_trips, _ = _hop(counters, lambda: phone.press(PIN))
    assert redis_trips <= 2
    seen = []
    for entry in READ_ONLY:
        redis_trips, statements = _hop(counters, lambda e=entry: phone.press(e))
        seen.append((entry, redis_trips, statements, list(counters["statements"])))
        assert redis_trips <= 2, seen[-1]
        assert statements <= 3, seen[-1]
        assert not phone.ended
    assert any(s > 0 for _, _, s, _ in seen)  # the counter sees the balance's queries


def test_a_replayed_hop_costs_one_round_trip_and_no_sql(phone, counters):
    """The stored reply is answered from the single MGET."""
    phone.dial()
    phone.press(PIN)
    phone.press("1")
    assert _hop(counters, phone.replay) == (1, 0)


def test_the_main_menu_needs_no_sql(phone, counters):
    """Who dials is cached in the session record: the menu is rendered without the database."""
    phone.dial()
    phone.press(PIN)
    phone.press("1")
    assert _hop(counters, lambda: phone.press("0"))[1] == 0


def test_a_live_session_record_stays_under_512_bytes(runtime, phone):
    """State, ctx, identity, length + HMAC of the text and the last reply (up to 160 characters)."""
    phone.dial()
    phone.press(PIN)
    sizes = []
    for entry in ["3", "2", "98", "98", "0", "00", "1", "00", "5"]:
        phone.press(entry)
        sizes.append(len(runtime.redis.get(SESSION_KEY + phone.session_id)))
    assert max(sizes) <= 512, sizes


def test_a_hop_that_queues_sms_enqueues_the_send_job_inside_its_one_pipeline(phone, counters, db, runtime):
    """Declaring a repayment notifies the treasurer: the RQ enqueue rides in the hop's pipeline."""
    from rq.utils import get_version

    from models.enums import Role
    from models.messaging import OutboundSms
    from sms.jobs import queue

    coop = f.coop(db, name="GIE Autre", code="AUT")
    treasurer_coop = db.get(type(coop), 1)
    f.member(db, treasurer_coop, member_no="T1", name="Fatou Sall", role=Role.TREASURER)
    db.commit()
    phone.dial()
    phone.press(PIN)
    phone.press("4")
    phone.press("5000")
    get_version(runtime.redis)  # RQ asks the server's version once per client, then caches it
    before = queue(runtime.redis).count
    redis_trips, _ = _hop(counters, lambda: phone.press("1"))
    assert phone.ended
    assert redis_trips <= 2
    assert db.query(OutboundSms).count() >= 1
    assert queue(runtime.redis).count == before + 1


@pytest.fixture
def wire(engine, tmp_path):
    """PostgreSQL's protocol as libpq traces it, for the connections the pool hands out meanwhile."""
    if engine.dialect.name != "postgresql":
        pytest.skip("counts PostgreSQL protocol round trips")
    from psycopg import pq

    path = tmp_path / "libpq.trace"
    out = path.open("w+b")

    def on_checkout(dbapi_connection, _record, _proxy):
        dbapi_connection.pgconn.trace(out.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def on_checkin(dbapi_connection, _record):
        if not dbapi_connection.closed:
            dbapi_connection.pgconn.untrace()

    def read() -> list[str]:
        """The messages since the last read: `F` from the client, `B` from the server."""
        out.flush()
        text = path.read_text(errors="replace")
        lines = text.splitlines()[read.seen :]
        read.seen += len(lines)
        return lines

    read.seen = 0
    event.listen(engine.pool, "checkout", on_checkout)
    event.listen(engine.pool, "checkin", on_checkin)
    engine.pool.dispose()  # idle connections are traced from their next checkout
    yield read
    event.remove(engine.pool, "checkout", on_checkout)
    event.remove(engine.pool, "checkin", on_checkin)
    out.close()


def _round_trips(lines: list[str]) -> int:
    """Each exchange with the server ends with its ReadyForQuery."""
    return sum(1 for line in lines if line.startswith("B") and "ReadyForQuery" in line)


def _commands(lines: list[str]) -> list[str]:
    """Transaction commands sent as simple queries (psycopg's BEGIN, COMMIT, ROLLBACK)."""
    return [line.split('"')[1] for line in lines if line.startswith("F") and "\tQuery\t" in line]


def test_read_only_hops_cost_their_statements_alone_on_postgresql(phone, wire):
    """No BEGIN, COMMIT, ROLLBACK nor ping on a hop that writes nothing: one round trip per statement."""
    phone.dial()
    phone.press(PIN)
    wire()
    for entry in READ_ONLY:
        phone.press(entry)
        lines = wire()
        executes = sum(1 for line in lines if line.startswith("F") and "\tExecute\t" in line)
        prepares = sum(1 for line in lines if line.startswith("F\t") and '\tParse\t "_pg3_' in line)
        assert _commands(lines) == [], (entry, lines)
        # A statement run for the second time on a connection is prepared first (its own exchange).
        assert _round_trips(lines) == executes + prepares, (entry, lines)
        assert executes <= 3


def test_a_hop_that_writes_opens_one_transaction_and_commits_once_on_postgresql(phone, wire):
    """A wrong PIN (it adds to the count): BEGIN before the write, one COMMIT."""
    phone.dial()
    wire()
    phone.press("9999")
    commands = _commands(wire())
    assert commands == ["BEGIN", "COMMIT"]


def test_a_right_pin_with_no_count_to_reset_writes_nothing_on_postgresql(phone, wire):
    """Nearly every dial: the PIN is checked against the row as read, one statement, no transaction."""
    phone.dial()
    wire()
    phone.press(PIN)
    lines = wire()
    assert _commands(lines) == []
    assert sum(1 for line in lines if line.startswith("F") and "\tExecute\t" in line) == 1


def test_the_first_hop_reads_the_member_without_a_transaction_on_postgresql(phone, wire):
    """Dialling looks the phone up: one statement, one round trip."""
    wire()
    phone.dial()
    lines = wire()
    assert _commands(lines) == []
    assert _round_trips(lines) == 1


def test_a_production_report_is_saved_by_four_statements_in_one_transaction_on_postgresql(phone, wire, db):
    """Lock the member and read the product (with the new id), find the week's report, insert, audit."""
    from models.cooperative import Cooperative

    f.product(db, db.get(Cooperative, 1), "Arachide", "kg")
    db.commit()
    phone.dial()
    phone.press(PIN)
    for entry in ["2", "1", "25"]:
        phone.press(entry)
    wire()
    assert phone.press("1").startswith("Enregistré. Réf P")
    lines = wire()
    assert _commands(lines) == ["BEGIN", "COMMIT"]
    assert sum(1 for line in lines if line.startswith("F") and "\tExecute\t" in line) == 4


def test_the_end_of_session_notice_is_one_insert_alone_on_postgresql(client, wire):
    """One statement is its own transaction: no BEGIN or COMMIT round trips around it."""
    wire()
    form = {"sessionId": "ATUid_end", "phoneNumber": "+221771234567", "status": "Success"}
    assert client.post("/ussd/events", data=form).status_code == 200
    lines = wire()
    assert _commands(lines) == []
    assert _round_trips(lines) == 1
