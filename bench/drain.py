"""The SMS drain end to end, as deployed: outbox rows → send jobs → RQ workers → the gateway, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/9 \\
        python -m bench.drain [--personal 3000] [--workers 2]

Starts the local Africa's Talking–compatible server in its own process and WORKERS `flask --app wsgi
worker --no-tick` processes (RQ SimpleWorkers over the schema `bench_drain`), waits until they are
registered, commits PERSONAL receipts with distinct texts, enqueues one send job per worker and
times until every row is `sent` in the database. The rate limit is set out of the way (SMS_RATE
1 000 000); each worker claims its rows with SKIP LOCKED and posts from its own thread pool; the
per-SMS JSON log lines are written (to a file). Checks that the gateway accepted each text once.
bench/sms.py measures the sender in-process; this is the same work through the processes that run
it in production.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests
from rq import Queue, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import text

from bench.dataset import bench_engine
from models.messaging import OutboundSms
from sms.jobs import QUEUE, SEND_JOB
from sms.local_gateway import DEFAULT_API_KEY

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "bench_drain"
PERSONAL = 3000
WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_gateway(port: int, log) -> subprocess.Popen:
    """The local AT-compatible server in its own process (not sharing an interpreter lock with anyone)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sms.local_gateway", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    process.stdout.readline()  # "listening"
    return process


def start_workers(count: int, env: dict, log) -> list[subprocess.Popen]:
    """`flask --app wsgi worker --no-tick`, `count` times."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-tick"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (RQ's warm shutdown), then wait."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fill(engine, count: int) -> list[tuple[str, str]]:
    """`count` queued receipts with distinct texts, due now, in one commit; their (to, text)."""
    now = datetime.now(UTC)
    rows = [
        {
            "to": f"+22177{i:07d}",
            "text": f"Recu D-{i:05d}: 5 000 F recus de Awa Diop. Solde 12 500 F.",
            "kind": "receipt",
            "language": "fr",
            "status": "queued",
            "attempts": 0,
            "send_after": now,
            "next_attempt_at": now,
            "segments": 1,
            "cost": 15,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbound_sms RESTART IDENTITY CASCADE"))
        conn.execute(OutboundSms.__table__.insert(), rows)
    return [(r["to"], r["text"]) for r in rows]


def run(personal: int = PERSONAL, workers: int = WORKERS) -> dict:
    """Measure the drain; the figures as a dict."""
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if not redis_url.startswith("redis"):
        raise SystemExit("set REDIS_URL to the Redis server, e.g. redis://127.0.0.1:6379/9")
    engine, db_url = bench_engine(SCHEMA, fresh=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    log = (workdir / "processes.log").open("w")
    port = _free_port()
    gateway = start_gateway(port, log)
    gateway_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AT_", "SMS_", "WEBHOOK"))},
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "APP_ENV": "development",
        "SMS_GATEWAY": "africastalking",
        "AT_USERNAME": "mbolo",
        "AT_API_KEY": DEFAULT_API_KEY,
        "AT_SENDER_ID": "MBOLO",
        "AT_API_URL": gateway_url,
        "SMS_RATE": "1000000",
        "MBOLO_INSTANCE_DIR": str(workdir),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
    }
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE, connection=connection, serializer=JSONSerializer)
    queue.empty()
    processes = start_workers(workers, env, log)
    try:
        _wait(lambda: Worker.count(queue=queue) >= workers, "the workers to register", 60)
        # Warm-up: imports, pools, the gateway's connections.
        fill(engine, 50)
        for _ in range(workers):
            queue.enqueue(SEND_JOB, result_ttl=0)
        _wait(lambda: _sent(engine) == 50, "the warm-up rows", 60)
        requests.post(f"{gateway_url}/__local__/reset", json={}, timeout=10)

        expected = fill(engine, personal)
        started = time.perf_counter()
        for _ in range(workers):
            queue.enqueue(SEND_JOB, result_ttl=0)
        _wait(lambda: _sent(engine) == personal, f"{personal} rows to be sent", 300)
        elapsed = time.perf_counter() - started
        accepted = requests.get(f"{gateway_url}/__local__/messages", timeout=30).json()["messages"]
    finally:
        stop(processes)
        gateway.terminate()
        gateway.wait()
        connection.close()
        log.close()
    doubled = sum(n - 1 for n in Counter((m["to"], m["text"]) for m in accepted).values() if n > 1)
    if Counter((m["to"], m["text"]) for m in accepted) != Counter(expected):
        raise SystemExit(
            f"the gateway accepted {len(accepted)} messages for {personal} rows ({doubled} doubled)"
        )
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    engine.dispose()
    return {
        "personal": personal,
        "workers": workers,
        "seconds": round(elapsed, 3),
        "sms_per_s": round(personal / elapsed, 1),
        "doubled": doubled,
    }


def _sent(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM outbound_sms WHERE status = 'sent'")).scalar_one()


def main() -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personal", type=int, default=PERSONAL)
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args()
    figures = run(args.personal, args.workers)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
