"""Soak: 64 concurrent USSD sessions against gunicorn for 10 minutes — 0 errors, memory flat. Not in CI.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/9 \\
        python -m bench.soak [--minutes 10] [--connections 64] [--reuse]

Loads the benchmark data set by COPY into schema `bench_soak` (every member with the PIN 4827),
starts gunicorn as bench/ussd/run.py does (2 sync workers, the project's config), and runs wrk
with bench/soak.lua: each connection dials whole sessions one after another (dial, PIN, balance,
back, my loan, menu, twice), so PIN checks, session records and their expiry all take part.
Every SAMPLE seconds it records the resident memory (RSS) of each gunicorn worker and the Redis
server's used memory and key count. At the end: hops, hops/s, p99, errors (non-200, not CON,
socket errors, and `ussd.hop_failed` lines in the app's log), and the workers' RSS at the start
(after a warm-up of a tenth of the run), at the end and at most. "Flat": the end is within 10 %
(and 8 MiB) of the start. Exit status 1 when there were errors or memory grew.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import redis

from bench.dataset import bench_engine, load
from bench.ussd.run import ROOT, start_gunicorn

SCHEMA = "bench_soak"
PIN = "4827"
PIN_SECRET = "soak-pin-secret"
SAMPLE = 15  # seconds between memory samples


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match[1]) / 1024 if match else 0.0


def sample(master: int, client: redis.Redis, started: float) -> dict:
    """One memory sample: each worker's RSS, Redis used memory and keys."""
    info = client.info("memory")
    return {
        "t": round(time.monotonic() - started),
        "workers_rss_mib": {pid: round(rss_mib(pid), 1) for pid in worker_pids(master)},
        "redis_used_mib": round(info["used_memory"] / 2**20, 2),
        "redis_keys": client.dbsize(),
    }


def clear_sessions(client: redis.Redis) -> None:
    """Drop the soak's session records (nothing else in the Redis database)."""
    for pattern in ("ussd:s:soak-*", "ussd:r:+22177*"):
        keys = list(client.scan_iter(match=pattern, count=5000))
        for i in range(0, len(keys), 5000):
            client.delete(*keys[i : i + 5000])


def main() -> int:
    """Load, serve, soak, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema from a previous run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if not redis_url.startswith("redis"):
        raise SystemExit("set REDIS_URL to the Redis server, e.g. redis://127.0.0.1:6379/9")

    engine, db_url = bench_engine(SCHEMA, fresh=not args.reuse)
    if not args.reuse:
        from models.pin import hash_pin

        print("loading 200 000 members (PIN 4827), 100 000 loans by COPY …", flush=True)
        print(load(engine, today=date.today(), pin_hash=hash_pin(PIN, PIN_SECRET)), flush=True)
    engine.dispose()

    client = redis.Redis.from_url(redis_url)
    clear_sessions(client)
    os.environ["PIN_SECRET"] = PIN_SECRET  # start_gunicorn passes the environment on
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    port = _free_port()
    server = start_gunicorn(db_url, redis_url, port, workdir)
    seconds = max(10, round(args.minutes * 60))
    samples = []
    try:
        command = ["wrk", f"-t{args.connections}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
        command += ["--timeout", "5s", "-s", "bench/soak.lua", f"http://127.0.0.1:{port}"]
        command += ["--", secrets.token_hex(4)]  # the Lua script's session-id prefix: no clash between runs
        wrk = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        warm_up = max(SAMPLE, seconds / 10)
        while wrk.poll() is None:
            time.sleep(min(SAMPLE, max(0.5, seconds - (time.monotonic() - started))))
            if wrk.poll() is None:
                samples.append(sample(server.pid, client, started))
                line = samples[-1]
                print(
                    f"t={line['t']:>4}s workers RSS {list(line['workers_rss_mib'].values())} MiB, "
                    f"redis {line['redis_used_mib']} MiB / {line['redis_keys']} keys",
                    flush=True,
                )
        output = wrk.stdout.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
    failed_hops = (workdir / "app.log").read_text(errors="replace").count('"ussd.hop_failed"')
    clear_sessions(client)
    client.close()

    match = re.search(r"WRK_JSON (\{.*\})", output)
    if not match:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    result = json.loads(match[1])
    errors = result["bad"] + result["socket_errors"] + failed_hops
    steady = [s for s in samples if s["t"] >= warm_up] or samples
    totals = [sum(s["workers_rss_mib"].values()) for s in steady]
    start_rss, end_rss, max_rss = totals[0], totals[-1], max(totals)
    flat = end_rss <= start_rss * 1.10 or end_rss - start_rss <= 8
    print(
        f"\nsoak: {args.connections} concurrent sessions for {seconds} s against gunicorn (2 sync workers), "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"  hops {result['requests']}, {result['rps']:.0f} hops/s, p50 {result['p50_ms']:.0f} ms, "
        f"p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms"
    )
    print(
        f"  errors {errors} (non-200 or not CON {result['bad']}, socket {result['socket_errors']}, "
        f"hop failures logged {failed_hops})"
    )
    print(
        f"  gunicorn workers RSS (sum of 2), after warm-up: start {start_rss:.1f} MiB, "
        f"end {end_rss:.1f} MiB, max {max_rss:.1f} MiB -> {'flat' if flat else 'GREW'}"
    )
    first, last = steady[0], steady[-1]
    print(
        f"  redis used memory: start {first['redis_used_mib']} MiB, end {last['redis_used_mib']} MiB, "
        f"keys {first['redis_keys']} -> {last['redis_keys']}"
    )
    out = ROOT / "bench" / "results" / "soak.json"
    out.write_text(
        json.dumps(
            {
                "wrk": result,
                "errors": errors,
                "failed_hops_logged": failed_hops,
                "samples": samples,
                "rss_start_mib": start_rss,
                "rss_end_mib": end_rss,
                "rss_max_mib": max_rss,
                "flat": flat,
                "seconds": seconds,
                "connections": args.connections,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out.relative_to(ROOT)}")
    return 0 if errors == 0 and flat else 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    raise SystemExit(main())
