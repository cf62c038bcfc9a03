"""USSD hops under load: wrk against gunicorn (2 sync workers), PostgreSQL and the Redis server.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/13 \\
        python -m bench.ussd.run [--seconds 20] [--connections 64] [--reuse] [--schema S]
        [--compare S2 [--compare-reuse] [--compare-out FILE]]

Loads 200 000 members and 100 000 loans by COPY (bench/dataset.py) into schema `bench_ussd`, puts
sessions on the main menu as if their members had typed the PIN, starts gunicorn with the
project's config on bench/ussd/server.py, runs (a) bare Flask `CON hi`, then in interleaved rounds
(b) the I/O floor (Redis GET, pipelined SET EX, one member SELECT), (c) the real hop mix after the
PIN (balance, back, my loan, main menu) and (d) whole sessions (dial, PIN, balance, main menu,
report production with its write, the end-of-session notice), one session per connection.
Goals: (c) ≥ 0.7 × (b), ≥ 400 hops/s at 64 sessions, p99 ≤ 300 ms, CPU ms per hop ≤ 1.5 × the
floor's; (d) ≥ 0.5 × (b); the run is void unless (a) reaches 2 000 req/s. Also printed: Redis round
trips and SQL statements per hop (counted in-process), Redis bytes per live session (MEMORY USAGE)
and, per hop kind of (d), the web workers' CPU (bench/ussd/session_costs.py). With --compare, a
second data set gets its own gunicorn and Redis database and is measured in the same rounds, each
figure beside the other's. Writes bench/results/ussd.json (--out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import mean, median
from urllib.parse import urlsplit, urlunsplit

from bench.dataset import bench_engine, load, proportions
from bench.ussd.session_costs import HOPS, counts_per_hop_kind, cpu_per_hop_kind
from sms.jobs import enqueue_send

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "bench_ussd"
MEMBERS = 200_000  # the data set's size (bench.run_all --members sets it); members 1..MEMBERS/2 hold a loan
RESULT = ROOT / "bench" / "results" / "ussd.json"
THREADS_MAX_SESSIONS = 200  # sessions prepared per connection (40 hops each)
# Session ids of this run (wrk's sessions and the hop costs'): see bench/ussd/common.lua.
RUN_STAMP = f"{int(time.time()) % 100_000_000}"
COST_TID = 777  # the members of the hop-kind costs (bench.ussd.session_costs): no wrk thread's
SEQUENCE = ["1", "0", "3", "00"]


def member_of(tid: int, k: int) -> int:
    """The member of session (connection, k): the same formula as common.lua (BENCH_LOANS there)."""
    return ((tid * 1000 + k) * 7919) % proportions(MEMBERS)["loans"] + 1


def phone_of(member_id: int) -> str:
    """The phone bench/dataset.py gives a member."""
    return f"+22177{member_id:07d}"


PIN = "4827"  # what session.lua types


def bench_pin_hash() -> str:
    """The stored PIN of every benchmark member, under the PIN_SECRET gunicorn will run with."""
    from config import load_config
    from models.pin import hash_pin

    return hash_pin(PIN, load_config({**os.environ, "APP_ENV": "development"}).PIN_SECRET)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _runtime(db_url: str, redis_url: str):
    from config import load_config
    from sms.runtime import Runtime

    config = load_config(
        {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "APP_ENV": "development"}
    )
    return Runtime.from_config(config, enqueue_send)


def prepare_sessions(rt, tids, per_connection: int) -> int:
    """Session records on the main menu, authenticated, for every (connection, k) the scripts use."""
    from sqlalchemy import select

    from menus.hop import Identity
    from models import Member
    from ussd_app.ussd_session import SessionRecord, SessionStore

    store = SessionStore(rt.redis, rt.config.USSD_SESSION_TTL, rt.config.PIN_SECRET)
    tids = list(tids)
    wanted = {member_of(t, k) for t in tids for k in range(per_connection)}
    with rt.sessions() as session:
        rows = session.execute(
            select(Member.id, Member.cooperative_id, Member.language, Member.role, Member.status).where(
                Member.id.in_(wanted)
            )
        ).all()
    identities = {r.id: Identity(r.id, r.cooperative_id, r.language, r.role, r.status) for r in rows}
    pipe = rt.redis.pipeline(transaction=False)
    for t in tids:
        for k in range(per_connection):
            sid = f"b-{t}-{k}"
            record = SessionRecord(
                state="main",
                phone=phone_of(member_of(t, k)),
                authenticated=True,
                identity=identities[member_of(t, k)],
                seen=0,
                mac=store.mac(sid, ""),
            )
            # Longer than the TTL so sessions prepared before the run are still there; the first hop
            # sets the usual TTL.
            pipe.set("ussd:s:" + sid, record.dumps(), ex=3600)
    pipe.execute()
    return len(tids) * per_connection


def clear_keys(rt) -> None:
    """Drop the benchmark's session, resume and floor keys (nothing else in the Redis database)."""
    for pattern in ("ussd:s:b-*", "ussd:r:+22177*", "bench:s:*"):
        batch = []
        for key in rt.redis.scan_iter(match=pattern, count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                rt.redis.delete(*batch)
                batch = []
        if batch:
            rt.redis.delete(*batch)


def count_per_hop(rt) -> dict:
    """Redis round trips and SQL statements of each hop of the mix, counted in-process (test client)."""
    from redis.connection import AbstractConnection
    from sqlalchemy import event

    from ussd_app import create_app

    app = create_app(runtime=rt)
    client = app.test_client()
    counts = {"redis": 0, "sql": 0}
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counts["redis"] += 1
        return original(self, command, check_health)

    def on_sql(*_args):
        counts["sql"] += 1

    AbstractConnection.send_packed_command = counting
    event.listen(rt.engine, "before_cursor_execute", on_sql)
    per_entry: dict[str, list[tuple[int, int]]] = {e: [] for e in SEQUENCE}
    try:
        for k in range(20):
            tid, text = 999, ""
            sid = f"b-{tid}-{k}"
            member = member_of(tid, k)
            for entry in SEQUENCE * 2:
                text = f"{text}*{entry}" if text else entry
                counts["redis"] = counts["sql"] = 0
                body = client.post(
                    "/ussd", data={"sessionId": sid, "phoneNumber": phone_of(member), "text": text}
                ).get_data(as_text=True)
                assert body.startswith("CON "), body
                per_entry[entry].append((counts["redis"], counts["sql"]))
    finally:
        AbstractConnection.send_packed_command = original
        event.remove(rt.engine, "before_cursor_execute", on_sql)
    names = {"1": "balance", "0": "back to menu", "3": "my loan", "00": "main menu"}
    return {
        names[e]: {"redis_round_trips": max(r for r, _ in v), "sql_statements": max(s for _, s in v)}
        for e, v in per_entry.items()
    }


def session_bytes(rt) -> dict:
    """Redis memory of live session records after the run (MEMORY USAGE, and the value's length)."""
    keys = [k for _, k in zip(range(500), rt.redis.scan_iter(match="ussd:s:b-*", count=1000), strict=False)]
    usage = [rt.redis.memory_usage(k) or 0 for k in keys]
    lengths = [len(rt.redis.get(k) or b"") for k in keys]
    return {
        "sampled": len(keys),
        "memory_usage_mean": round(mean(usage)) if usage else 0,
        "memory_usage_max": max(usage, default=0),
        "value_bytes_max": max(lengths, default=0),
    }


def wrk(port: int, script: str, seconds: int, connections: int, round_no: int = 0) -> dict:
    """Run one wrk script; its done() prints a JSON line."""
    cmd = [
        "wrk",
        f"-t{connections}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        f"bench/ussd/{script}",
        f"http://127.0.0.1:{port}",
        "--",
        str(round_no),
        RUN_STAMP,
    ]
    env = {**os.environ, "BENCH_LOANS": str(proportions(MEMBERS)["loans"])}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(r"WRK_JSON (\{.*\})", out)
    if not match:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    return json.loads(match[1])


def workers_cpu(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) the gunicorn workers have used so far."""
    import psutil

    total = 0.0
    for child in psutil.Process(server.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def measured(server, port: int, script: str, seconds: int, connections: int, n: int) -> dict:
    """One wrk run with the CPU milliseconds the web workers spent per request meanwhile."""
    cpu = workers_cpu(server)
    result = wrk(port, script, seconds, connections, n)
    used = workers_cpu(server) - cpu
    result["cpu_ms_per_request"] = round(used * 1000 / max(result["requests"], 1), 3)
    result["load_average"] = round(os.getloadavg()[0], 2)
    return result


def summary(runs: list[dict]) -> dict:
    """The median of each figure over the rounds, and the rounds themselves."""
    keys = ("rps", "p50_ms", "p99_ms", "max_ms", "cpu_ms_per_request")
    figures = {k: round(median(r[k] for r in runs), 3) for k in keys}
    figures["bad"] = sum(r["bad"] for r in runs)
    figures["socket_errors"] = sum(r["socket_errors"] for r in runs)
    figures["requests"] = sum(r["requests"] for r in runs)
    figures["rounds"] = runs
    return figures


def start_gunicorn(db_url: str, redis_url: str, port: int, workdir: Path) -> subprocess.Popen:
    """gunicorn with the project's config (2 sync workers) on the bench app."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "APP_ENV": "development",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "MBOLO_INSTANCE_DIR": str(workdir),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
    }
    (workdir / "prometheus").mkdir(parents=True, exist_ok=True)
    log = (workdir / "app.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "bench.ussd.server:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(1.0)  # both workers booted
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start; see {workdir / 'app.log'}")


@dataclass
class Target:
    """One data set under test: its schema, its Redis database, its gunicorn, what was measured."""

    schema: str
    out: Path
    redis_url: str
    db_url: str = ""
    rt: object = None
    server: subprocess.Popen | None = None
    port: int = 0
    prepared: int = 0
    per_hop: dict = field(default_factory=dict)
    session_hops: dict = field(default_factory=dict)
    runs: dict = field(default_factory=lambda: {"b_io_floor": [], "c_hop_mix": [], "d_session_mix": []})
    results: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)


def next_database(redis_url: str) -> str:
    """The same Redis server, the next database number: the compared data set's sessions apart."""
    parts = urlsplit(redis_url)
    number = int(parts.path.strip("/") or 0) + 1
    return urlunsplit(parts._replace(path=f"/{number}"))


def prepare(target: Target, args, reuse: bool) -> None:
    """Load (unless reused), count per hop in-process, put the (c) mix's sessions on the main menu."""
    engine, target.db_url = bench_engine(target.schema, fresh=not reuse)
    if not reuse:
        print(f"loading {MEMBERS} members, {proportions(MEMBERS)['loans']} loans by COPY …", flush=True)
        print(load(engine, **proportions(MEMBERS), today=date.today(), pin_hash=bench_pin_hash()), flush=True)
    engine.dispose()
    from ussd_app import create_app

    rt = target.rt = _runtime(target.db_url, target.redis_url)
    clear_keys(rt)
    prepare_sessions(rt, [999], 20)
    target.per_hop = count_per_hop(rt)
    members = [member_of(COST_TID, k) for k in range(20)]
    client = create_app(runtime=rt).test_client()
    target.session_hops = counts_per_hop_kind(client, rt.engine, members, phone_of, tag=f"n{RUN_STAMP}")
    target.prepared = prepare_sessions(rt, range(args.connections), THREADS_MAX_SESSIONS)


def report(target: Target, args, compared: dict | None) -> None:
    """Print one data set's table, per-hop counts, hop costs and goals; write its JSON file."""
    runs, results, costs = target.runs, target.results, target.costs
    a, b, c, d = (results[k] for k in ("a_bare_flask", "b_io_floor", "c_hop_mix", "d_session_mix"))

    # Each round's ratio is taken against the floor measured just before it; the median of those.
    def paired(name: str) -> float:
        return round(
            median(x["rps"] / y["rps"] for x, y in zip(runs[name], runs["b_io_floor"], strict=True)), 3
        )

    ratios = {
        "c_over_b": paired("c_hop_mix"),
        "d_over_b": paired("d_session_mix"),
        "cpu_c_over_b": round(c["cpu_ms_per_request"] / b["cpu_ms_per_request"], 3),
    }
    per_hop, sizes = target.per_hop, target.sizes
    goals = {
        "valid_run (a) >= 2000 req/s": a["rps"] >= 2000,
        "(c) >= 0.7 x (b)": ratios["c_over_b"] >= 0.7,
        "(c) >= 400 hops/s": c["rps"] >= 400,
        "(c) p99 <= 300 ms": c["p99_ms"] <= 300,
        "(c) CPU ms per hop <= 1.5 x (b)'s": ratios["cpu_c_over_b"] <= 1.5,
        "(d) >= 0.5 x (b)": ratios["d_over_b"] >= 0.5,
        "(c), (d) no failed hop": all(r["bad"] == 0 and r["socket_errors"] == 0 for r in (c, d)),
        "redis round trips <= 2 per hop": all(v["redis_round_trips"] <= 2 for v in per_hop.values()),
        "sql statements <= 3 per read-only hop": all(v["sql_statements"] <= 3 for v in per_hop.values()),
        "redis bytes per live session <= 512": sizes["memory_usage_max"] <= 512,
    }
    print(
        f"\nUSSD hops on {target.schema} — {args.connections} connections, {args.rounds} interleaved "
        f"rounds of {args.seconds} s, gunicorn 2 sync workers, {os.cpu_count()} CPUs, "
        f"{target.prepared} sessions; medians"
    )
    head = ("req/s", "p50 ms", "p99 ms", "max ms", "CPU ms")
    print(f"{'endpoint':<16}" + "".join(f"{h:>10}" for h in head) + f"{'failed':>8}")
    for name, r in results.items():
        print(
            f"{name:<16}{r['rps']:>10.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['max_ms']:>10.1f}"
            f"{r['cpu_ms_per_request']:>10.2f}{r['bad'] + r['socket_errors']:>8}"
        )
    print(
        f"(c)/(b) = {ratios['c_over_b']:.2f}, (d)/(b) = {ratios['d_over_b']:.2f}, "
        f"CPU per hop (c)/(b) = {ratios['cpu_c_over_b']:.2f}; load average {os.getloadavg()}"
    )
    print("per hop (counted in-process over the same mix):")
    for name, v in per_hop.items():
        print(
            f"  {name:<14} redis round trips {v['redis_round_trips']}, SQL statements {v['sql_statements']}"
        )
    print(
        f"redis per live session: MEMORY USAGE mean {sizes['memory_usage_mean']} B, "
        f"max {sizes['memory_usage_max']} B (value ≤ {sizes['value_bytes_max']} B)"
    )
    floor_cpu = costs["cpu_ms"]["(b) I/O floor"]
    print(
        f"CPU ms per request by hop kind of (d), web workers, one request at a time "
        f"({costs['sessions_per_round']} sessions x {args.cost_rounds} rounds, medians; × the floor's):"
    )
    for name, ms in costs["cpu_ms"].items():
        count = target.session_hops.get(name)
        detail = (
            f"  redis {count['redis_round_trips']}, SQL {count['sql_statements']}, commits {count['commits']}"
            if count
            else ""
        )
        print(f"  {name:<32}{ms:>7.2f}{ms / floor_cpu:>7.2f} ×{detail}")
    print(
        f"  a whole session {costs['session_cpu_ms']:.2f} ms, {costs['per_request_cpu_ms']:.2f} ms a request "
        f"({len(HOPS)} requests); the floor's / that = {costs['floor_over_per_request']:.2f}"
    )
    for goal, ok in goals.items():
        print(f"  {'ok  ' if ok else 'MISS'} {goal}")
    if compared:
        print(f"against {compared['schema']} in the same rounds (this / that, medians of the rounds):")
        for name, v in compared["ratios"].items():
            print(f"  {name:<16} req/s {v['rps']:.2f}, CPU ms per request {v['cpu_ms_per_request']:.2f}")
    target.out.parent.mkdir(parents=True, exist_ok=True)
    target.out.write_text(
        json.dumps(
            {
                "schema": target.schema,
                "results": results,
                "ratios": ratios,
                "rounds": args.rounds,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "per_hop": per_hop,
                "session_hops": target.session_hops,
                "hop_costs": costs,
                "session_bytes": sizes,
                "goals": goals,
                "connections": args.connections,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "compared_with": compared,
            },
            indent=2,
        )
    )
    print(f"written {target.out}")


def compare(this: Target, that: Target) -> dict:
    """This data set's figures over that one's, round by round (both measured in the same rounds)."""
    ratios = {}
    for name in this.runs:
        pairs = list(zip(this.runs[name], that.runs[name], strict=True))
        ratios[name] = {
            key: round(median(x[key] / y[key] for x, y in pairs), 3) for key in ("rps", "cpu_ms_per_request")
        }
    costs = {
        name: round(this.costs["cpu_ms"][name] / that.costs["cpu_ms"][name], 3)
        for name in this.costs["cpu_ms"]
    }
    return {"schema": that.schema, "ratios": ratios, "hop_costs": costs}


def main() -> None:
    """Load, prepare, run (a), then (b), (c), (d) in interleaved rounds; print the table and the goals."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (floor, hop mix, sessions)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema from a previous run")
    parser.add_argument("--out", help="result file name under bench/results (default ussd.json)")
    parser.add_argument("--schema", help="the schema to load (or reuse), default " + SCHEMA)
    parser.add_argument("--cost-sessions", type=int, default=200, help="sessions per round of the hop costs")
    parser.add_argument("--cost-rounds", type=int, default=3, help="rounds of the hop costs")
    parser.add_argument(
        "--compare",
        metavar="SCHEMA",
        help="a second data set measured in the same interleaved rounds (loaded unless --compare-reuse; "
        "its sessions in the next Redis database)",
    )
    parser.add_argument("--compare-reuse", action="store_true", help="keep the compared schema's data")
    parser.add_argument("--compare-out", help="the compared data set's result file under bench/results")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if not redis_url.startswith("redis"):
        raise SystemExit("set REDIS_URL to the Redis server, e.g. redis://127.0.0.1:6379/13")

    results_dir = ROOT / "bench" / "results"
    targets = [
        Target(args.schema or SCHEMA, RESULT if args.out is None else results_dir / args.out, redis_url)
    ]
    if args.compare:
        out = results_dir / (args.compare_out or f"ussd-{args.compare}.json")
        targets.append(Target(args.compare, out, next_database(redis_url)))
    for target, reuse in zip(targets, (args.reuse, args.compare_reuse), strict=False):
        prepare(target, args, reuse)
    cost_members = [member_of(COST_TID, k) for k in range(args.cost_sessions)]
    try:
        for target in targets:
            target.port = _free_port()
            workdir = Path(tempfile.mkdtemp(prefix="bench-ussd-"))
            target.server = start_gunicorn(target.db_url, target.redis_url, target.port, workdir)
        for target in targets:
            for script in ("hi.lua", "floor.lua", "hops.lua", "session.lua"):  # warm-up: pools, caches, plans
                wrk(target.port, script, 3, args.connections, 0)
        time.sleep(1.0)
        for target in targets:
            a = measured(target.server, target.port, "hi.lua", args.seconds, args.connections, 0)
            target.results = {"a_bare_flask": a}
        # Interleaved rounds (floor, hop mix, whole sessions, floor, …; each data set in turn, the
        # first one first in odd rounds, last in even ones): a change in the machine's load during
        # the run weighs on both sides of each ratio alike.
        for n in range(1, args.rounds + 1):
            for name, script in (
                ("b_io_floor", "floor.lua"),
                ("c_hop_mix", "hops.lua"),
                ("d_session_mix", "session.lua"),
            ):
                for target in targets if n % 2 else targets[::-1]:
                    if name == "c_hop_mix":
                        time.sleep(0.5)  # the last requests finish before the sessions are reset
                        clear_keys(target.rt)
                        prepare_sessions(target.rt, range(args.connections), THREADS_MAX_SESSIONS)
                    run = measured(target.server, target.port, script, args.seconds, args.connections, n)
                    target.runs[name].append(run)
        for target in targets:
            target.results.update({name: summary(r) for name, r in target.runs.items()})
            target.sizes = session_bytes(target.rt)
        # What each hop kind of (d) costs, one request at a time, beside the floor's and bare Flask's.
        for target in targets:
            target.costs = cpu_per_hop_kind(
                target.port,
                lambda t=target: workers_cpu(t.server),
                cost_members,
                phone_of,
                rounds=args.cost_rounds,
                tag=f"k{RUN_STAMP}",
            )
    finally:
        for target in targets:
            if target.server is not None:
                target.server.terminate()
                target.server.wait(timeout=30)
            if target.rt is not None:
                clear_keys(target.rt)
                target.rt.close()
    if len(targets) == 1:
        report(targets[0], args, None)
    else:
        report(targets[0], args, compare(targets[0], targets[1]))
        report(targets[1], args, compare(targets[1], targets[0]))


if __name__ == "__main__":
    main()
