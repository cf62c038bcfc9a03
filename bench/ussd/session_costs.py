"""What each hop of a whole session costs: CPU of the web workers, Redis round trips, SQL, commits.

The whole-session mix (d) is one figure, requests per second; this says where its CPU goes. Its
sessions (the same as bench/ussd/session.lua: dial, PIN, balance, main menu, report production —
the product, a quantity, confirm — and the end-of-session notice) are driven hop kind by hop kind:
every session's dial, then every session's PIN, and so on, one request at a time, the web workers'
CPU read before and after each batch. Each round also runs a batch of (b) I/O floor requests and
of (a) bare Flask requests, so the hops are set against the floor measured in the same minute.
In-process (Flask's test client), the same sessions give each hop kind's Redis round trips, SQL
statements and commits.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from statistics import median
from urllib.parse import urlencode

PIN = "4827"
# (hop kind, what the member types): the entries of bench/ussd/session.lua, in order. None: the
# aggregator's end-of-session notice (POST /ussd/events), not a hop.
HOPS = [
    ("dial", ""),
    ("PIN", PIN),
    ("balance", "1"),
    ("main menu", "00"),
    ("production: products", "2"),
    ("production: quantity asked", "1"),
    ("production: confirm asked", "25"),
    ("production: saved (the write)", "1"),
    ("end-of-session notice", None),
]
FLOOR, BARE = "(b) I/O floor", "(a) bare Flask"


def _forms(session_id: str, phone: str) -> list[tuple[str, dict]]:
    """The requests of one session: (path, form) per hop kind, the text growing as aggregators send it."""
    forms, text = [], ""
    for _name, entry in HOPS:
        if entry is None:
            form = {"sessionId": session_id, "phoneNumber": phone, "status": "Success", "input": PIN}
            forms.append(("/ussd/events", form))
            continue
        if entry:
            text = f"{text}*{entry}" if text else entry
        form = {"sessionId": session_id, "serviceCode": "*384*123#", "phoneNumber": phone, "text": text}
        forms.append(("/ussd", form))
    return forms


def cpu_per_hop_kind(
    port: int,
    workers_cpu: Callable[[], float],
    members: list[int],
    phone_of: Callable[[int], str],
    rounds: int = 3,
    tag: str = "k",
) -> dict:
    """CPU ms of the web workers per request of each hop kind, the floor's and bare Flask's (medians)."""

    def post(path: str, form: dict) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", path, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})
            return conn.getresponse().read().decode()
        finally:
            conn.close()

    def batch(requests: list[tuple[str, dict]]) -> float:
        before = workers_cpu()
        for path, form in requests:
            body = post(path, form)
            if path == "/ussd" and not body.startswith("CON "):
                raise SystemExit(f"hop {form.get('text')!r} answered {body!r}")
        return (workers_cpu() - before) * 1000 / len(requests)

    runs: dict[str, list[float]] = {name: [] for name, _ in HOPS} | {FLOOR: [], BARE: []}
    for n in range(rounds):
        sessions = [_forms(f"{tag}-{n}-{k}", phone_of(m)) for k, m in enumerate(members)]
        for i, (name, _entry) in enumerate(HOPS):
            runs[name].append(batch([s[i] for s in sessions]))
        floor = [
            ("/bench/floor", {"sessionId": f"f-{k % 50}", "memberId": str(m)}) for k, m in enumerate(members)
        ]
        runs[FLOOR].append(batch(floor))
        runs[BARE].append(batch([("/bench/hi", {"x": "1"})] * len(members)))
        time.sleep(0.2)
    per_kind = {name: round(median(v), 3) for name, v in runs.items()}
    session = sum(per_kind[name] for name, _ in HOPS)
    return {
        "cpu_ms": per_kind,
        "rounds": {name: [round(x, 3) for x in v] for name, v in runs.items()},
        "sessions_per_round": len(members),
        "session_cpu_ms": round(session, 3),
        "per_request_cpu_ms": round(session / len(HOPS), 3),
        "floor_over_per_request": round(per_kind[FLOOR] / (session / len(HOPS)), 3),
    }


def counts_per_hop_kind(
    client, engine, members: list[int], phone_of: Callable[[int], str], tag: str = "n"
) -> dict:
    """Redis round trips, SQL statements and commits of each hop kind, counted in-process (maxima)."""
    from redis.connection import AbstractConnection
    from sqlalchemy import event

    counts = {"redis": 0, "sql": 0, "commits": 0}
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counts["redis"] += 1
        return original(self, command, check_health)

    def on_sql(*_args):
        counts["sql"] += 1

    def on_commit(conn):
        # A commit of a connection that is in a transaction (psycopg sends nothing for the others:
        # a hop that only reads runs outside any transaction).
        info = getattr(conn.connection.dbapi_connection, "info", None)
        if info is None or info.transaction_status != info.transaction_status.IDLE:
            counts["commits"] += 1

    AbstractConnection.send_packed_command = counting
    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(engine, "commit", on_commit)
    seen: dict[str, list[tuple[int, int, int]]] = {name: [] for name, _ in HOPS}
    try:
        for k, member in enumerate(members):
            for (name, _entry), (path, form) in zip(
                HOPS, _forms(f"{tag}-{k}", phone_of(member)), strict=True
            ):
                counts.update(redis=0, sql=0, commits=0)
                client.post(path, data=form)
                seen[name].append((counts["redis"], counts["sql"], counts["commits"]))
    finally:
        AbstractConnection.send_packed_command = original
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(engine, "commit", on_commit)
    return {
        name: {
            "redis_round_trips": max(r for r, _, _ in v),
            "sql_statements": max(s for _, s, _ in v),
            "commits": max(c for _, _, c in v),
        }
        for name, v in seen.items()
    }
