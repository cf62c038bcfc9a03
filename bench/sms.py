"""SMS sending throughput against the local Africa's Talking–compatible server, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/3 python -m bench.sms

The server runs in its own process (`python -m sms.local_gateway`) so that it does not share this
process's interpreter lock. Measured in one run, each after a warm-up:
  personal   N outbox rows with distinct texts: one request each through the Africa's Talking adapter
             (the SDK over pooled connections), each status committed on its own, from the sender's
             thread pool; the rate limit off (the in-flight markers still go through Redis); the
             per-SMS JSON log line written (to /dev/null).
  baseline   the same number of raw HTTP posts of the same form, same threads, no database, no SDK.
  batched    one announcement to 10 000 members: 10 000 rows with one text, sent as batched requests.
  batch base the same batched requests as raw HTTP posts.
Goal: personal ≥ 200 SMS/s. Ratios are against the baselines measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path

import requests
from sqlalchemy import text

from bench.dataset import bench_engine
from config import Config
from config.logs import JsonFormatter
from models.clock import Clock, FixedClock
from models.database import make_session_factory
from models.messaging import OutboundSms
from sms.gateways.africastalking import AfricasTalkingGateway
from sms.jobs import enqueue_send
from sms.local_gateway import DEFAULT_API_KEY, MESSAGING_PATH
from sms.runtime import Runtime, redis_client
from sms.sender import THREADS, Sender

SCHEMA = "bench_sms"
PERSONAL = 3000
MEMBERS = 10_000
RESULTS = Path(__file__).resolve().parent / "results" / "sms.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "sms.local_gateway", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
    )
    process.stdout.readline()  # the "listening" line
    return process


def _phone(i: int) -> str:
    return f"+22177{i:07d}"


def _fill(runtime: Runtime, texts: list[str], kind: str) -> None:
    now = runtime.clock.now()
    rows = [
        {
            "to": _phone(i),
            "text": body,
            "kind": kind,
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
        for i, body in enumerate(texts)
    ]
    with runtime.sessions() as session:
        session.execute(text("TRUNCATE outbound_sms RESTART IDENTITY CASCADE"))
        session.execute(OutboundSms.__table__.insert(), rows)
        session.commit()


def _check_all_sent(runtime: Runtime, expected: int) -> None:
    with runtime.sessions() as session:
        sent = session.scalar(text("SELECT count(*) FROM outbound_sms WHERE status = 'sent'"))
    if sent != expected:
        raise SystemExit(f"only {sent} of {expected} rows were sent")


def _run_sender(runtime: Runtime, gateway_url: str) -> tuple[float, dict]:
    gateway = AfricasTalkingGateway(
        "mbolo", DEFAULT_API_KEY, sender_id="MBOLO", api_url=gateway_url, pool_size=THREADS
    )
    sender = Sender(runtime, gateway, rate=None, threads=THREADS)
    try:
        start = time.perf_counter()
        report = sender.send_due()
        return time.perf_counter() - start, report.as_dict()
    finally:
        sender.close()


def _raw_posts(gateway_url: str, forms: list[dict]) -> float:
    """The baseline: the same forms posted with plain requests sessions, one per thread, no database."""
    url = gateway_url + MESSAGING_PATH
    headers = {"apiKey": DEFAULT_API_KEY, "Accept": "application/json"}
    sessions: dict[int, requests.Session] = {}

    def post(form: dict) -> None:
        import threading

        http = sessions.setdefault(threading.get_ident(), requests.Session())
        response = http.post(url, data=form, headers=headers, timeout=30)
        if response.status_code != 201:
            raise SystemExit(f"baseline post failed: {response.status_code}")
        response.json()

    with ThreadPoolExecutor(THREADS) as pool:
        start = time.perf_counter()
        list(pool.map(post, forms))
        elapsed = time.perf_counter() - start
    for http in sessions.values():
        http.close()
    return elapsed


def _form(numbers: list[str], body: str) -> dict:
    return {"username": "mbolo", "to": ",".join(numbers), "message": body, "from": "MBOLO", "bulkSMSMode": 1}


def _personal_texts(n: int, round_no: int) -> list[str]:
    return [f"Recu R{round_no}-{i:05d}: 5 000 F recus de Awa Diop. Solde 12 500 F." for i in range(n)]


def main() -> None:
    """Start the server, measure, print the table, write bench/results/sms.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personal", type=int, default=PERSONAL)
    parser.add_argument("--members", type=int, default=MEMBERS)
    args = parser.parse_args()

    # The per-SMS JSON log line is part of the cost: written, to /dev/null.
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    handler.setFormatter(JsonFormatter())
    logging.getLogger("mbolo").addHandler(handler)
    logging.getLogger("mbolo").setLevel(logging.INFO)
    logging.getLogger("mbolo").propagate = False

    engine, url = bench_engine(SCHEMA, fresh=True)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    port = _free_port()
    server = _start_server(port)
    gateway_url = f"http://127.0.0.1:{port}"
    config = replace(
        Config(),
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        SMS_GATEWAY="africastalking",
        AT_API_KEY=DEFAULT_API_KEY,
        AT_API_URL=gateway_url,
    )
    # Within sending hours whenever the benchmark runs: announcements are held during quiet hours.
    clock = FixedClock(datetime.combine(Clock().today(), dt_time(10, 0)))
    runtime = Runtime(
        config, engine, make_session_factory(engine), redis_client(redis_url), clock, enqueue_send
    )
    try:
        # Warm-up: connections, statement caches, the Lua script.
        _fill(runtime, _personal_texts(200, 0), "receipt")
        _run_sender(runtime, gateway_url)
        _raw_posts(gateway_url, [_form([_phone(i)], t) for i, t in enumerate(_personal_texts(200, 0))])

        personal_texts = _personal_texts(args.personal, 1)
        _fill(runtime, personal_texts, "receipt")
        personal_s, personal_report = _run_sender(runtime, gateway_url)
        _check_all_sent(runtime, args.personal)
        baseline_s = _raw_posts(gateway_url, [_form([_phone(i)], t) for i, t in enumerate(personal_texts)])

        announcement = (
            "Assemblee generale samedi 14 decembre a 10h au foyer. Ordre du jour: credits et epargne."
        )
        _fill(runtime, [announcement] * args.members, "broadcast")
        batched_s, batched_report = _run_sender(runtime, gateway_url)
        _check_all_sent(runtime, args.members)
        batch_size = AfricasTalkingGateway.max_batch
        numbers = [_phone(i) for i in range(args.members)]
        batch_forms = [
            _form(numbers[i : i + batch_size], announcement) for i in range(0, args.members, batch_size)
        ]
        batch_base_s = _raw_posts(gateway_url, batch_forms)
    finally:
        server.terminate()
        server.wait()
        engine.dispose()

    figures = {
        "personal_sms_per_s": round(args.personal / personal_s, 1),
        "personal_baseline_posts_per_s": round(args.personal / baseline_s, 1),
        "personal_ratio_to_baseline": round(baseline_s / personal_s, 3),
        "personal_requests": personal_report.get("requests"),
        "announcement_members": args.members,
        "announcement_seconds": round(batched_s, 3),
        "announcement_sms_per_s": round(args.members / batched_s, 1),
        "announcement_requests": batched_report.get("requests"),
        "announcement_baseline_seconds": round(batch_base_s, 3),
        "announcement_ratio_to_baseline": round(batch_base_s / batched_s, 3),
        "threads": THREADS,
        "goal_personal_sms_per_s": 200,
        "goal_met": args.personal / personal_s >= 200,
    }
    print(f"{'measure':<44} {'value':>12}")
    print(f"{'personal SMS/s (1 request, 1 commit each)':<44} {figures['personal_sms_per_s']:>12}")
    print(f"{'  baseline raw posts/s (no DB, no SDK)':<44} {figures['personal_baseline_posts_per_s']:>12}")
    print(f"{'  ratio to baseline':<44} {figures['personal_ratio_to_baseline']:>12}")
    print(f"{f'announcement to {args.members} members, s':<44} {figures['announcement_seconds']:>12}")
    print(f"{'  SMS/s':<44} {figures['announcement_sms_per_s']:>12}")
    print(f"{'  requests':<44} {figures['announcement_requests']:>12}")
    print(f"{'  baseline raw batched posts, s':<44} {figures['announcement_baseline_seconds']:>12}")
    print(f"{'  ratio to baseline':<44} {figures['announcement_ratio_to_baseline']:>12}")
    print(f"goal ≥ 200 personal SMS/s: {'met' if figures['goal_met'] else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
