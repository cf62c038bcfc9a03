"""SMS sending throughput against the local gateway servers (Africa's Talking and Orange), on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/3 python -m bench.sms

Each local server runs in its own process (`python -m sms.local_gateway`, `python -m sms.local_orange`)
so that it does not share this process's interpreter lock. The machine is shared: every figure is
the median of `--rounds` rounds, and within a round the gateways take turns (interleaved), each
measure followed by its raw-HTTP baseline in this same process.
  personal   N outbox rows with distinct texts: one request each through the gateway's adapter
             (AT: the SDK over pooled connections; Orange: JSON with the shared OAuth2 token),
             each status committed on its own, from the sender's thread pool; the rate limit off
             (the in-flight markers still go through Redis); the per-SMS JSON log line written
             (to /dev/null).
  baseline   the same number of raw HTTP posts of the same requests, same threads, no database.
  rate       SMS_RATE at its default (20 segments/s): `--rate-rows` one-segment SMS sent from an
             empty bucket (the one-second burst the bucket allows would flatter a short run),
             their rate measured over the whole send; goal within 5 % of SMS_RATE.
  batched    (Africa's Talking) one announcement to 10 000 members: 10 000 rows with one text, sent
             as batched requests, and the same batched requests as raw HTTP posts.
Goal: personal ≥ 200 SMS/s through each gateway. Ratios are against the baselines of the same round.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path
from urllib.parse import quote

import requests
from sqlalchemy import text

from bench.dataset import bench_engine
from config import Config
from config.logs import JsonFormatter
from models.clock import Clock, FixedClock
from models.database import make_session_factory
from models.messaging import OutboundSms
from sms.gateways.africastalking import AfricasTalkingGateway
from sms.gateways.orange import OrangeGateway
from sms.jobs import enqueue_send
from sms.local_gateway import DEFAULT_API_KEY, MESSAGING_PATH
from sms.local_orange import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SENDER
from sms.runtime import Runtime, redis_client
from sms.sender import THREADS, Sender

SCHEMA = "bench_sms"
PERSONAL = 3000
MEMBERS = 10_000
ROUNDS = 3
RATE_ROWS = 200
GATEWAYS = ("africastalking", "orange")
RESULTS = Path(__file__).resolve().parent / "results" / "sms.json"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(module: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE
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


class Bench:
    """The runtime and the two local servers; one method per measure."""

    def __init__(self, runtime: Runtime, urls: dict[str, str]):
        self.runtime = runtime
        self.urls = urls

    def gateway(self, name: str):
        """A fresh adapter of that gateway on its local server."""
        if name == "orange":
            return OrangeGateway(
                self.runtime.redis,
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                DEFAULT_SENDER,
                sender_name="MBOLO",
                api_url=self.urls["orange"],
                pool_size=THREADS,
            )
        return AfricasTalkingGateway(
            "mbolo",
            DEFAULT_API_KEY,
            sender_id="MBOLO",
            api_url=self.urls["africastalking"],
            pool_size=THREADS,
        )

    def run_sender(self, name: str, rate: float | None, empty_bucket: bool = False) -> tuple[float, dict]:
        """Send everything due through that gateway; (seconds, counts)."""
        sender = Sender(self.runtime, self.gateway(name), rate=rate, threads=THREADS)
        try:
            if empty_bucket:
                redis_now = self.runtime.redis.time()
                now = redis_now[0] + redis_now[1] / 1_000_000
                self.runtime.redis.hset(sender.throttle.bucket, mapping={"tokens": "0", "at": str(now)})
            start = time.perf_counter()
            report = sender.send_due()
            return time.perf_counter() - start, report.as_dict()
        finally:
            sender.close()

    def personal(self, name: str, n: int, round_no: int) -> tuple[float, float]:
        """(sender SMS/s, raw-HTTP posts/s) for n personal texts through that gateway."""
        texts = _personal_texts(n, round_no)
        _fill(self.runtime, texts, "receipt")
        seconds, _ = self.run_sender(name, None)
        _check_all_sent(self.runtime, n)
        baseline = self.raw_posts(name, [([_phone(i)], t) for i, t in enumerate(texts)])
        return n / seconds, n / baseline

    def rate(self, name: str, rate: float, n: int) -> float:
        """SMS/s measured with the rate limit on, from an empty bucket (no burst to flatter it)."""
        _fill(self.runtime, [f"Rate {i:04d}" for i in range(n)], "receipt")
        seconds, _ = self.run_sender(name, rate, empty_bucket=True)
        _check_all_sent(self.runtime, n)
        return n / seconds

    def announcement(self, members: int) -> tuple[float, int, float]:
        """(seconds, requests, raw-HTTP seconds) for one text to `members` numbers (Africa's Talking)."""
        body = "Assemblee generale samedi 14 decembre a 10h au foyer. Ordre du jour: credits et epargne."
        _fill(self.runtime, [body] * members, "broadcast")
        seconds, report = self.run_sender("africastalking", None)
        _check_all_sent(self.runtime, members)
        size = AfricasTalkingGateway.max_batch
        numbers = [_phone(i) for i in range(members)]
        batches = [(numbers[i : i + size], body) for i in range(0, members, size)]
        return seconds, report.get("requests", 0), self.raw_posts("africastalking", batches)

    def raw_posts(self, name: str, posts: list[tuple[list[str], str]]) -> float:
        """The baseline: the same requests with plain requests sessions, one per thread, no database."""
        sessions: dict[int, requests.Session] = {}
        if name == "orange":
            token = self.gateway("orange").token.get()
            url = self.urls["orange"] + f"/smsmessaging/v1/outbound/{quote(DEFAULT_SENDER, safe='')}/requests"
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        else:
            url = self.urls["africastalking"] + MESSAGING_PATH
            headers = {"apiKey": DEFAULT_API_KEY, "Accept": "application/json"}

        def post(item: tuple[list[str], str]) -> None:
            numbers, body = item
            http = sessions.setdefault(threading.get_ident(), requests.Session())
            if name == "orange":
                request = {
                    "address": f"tel:{numbers[0]}",
                    "senderAddress": DEFAULT_SENDER,
                    "senderName": "MBOLO",
                    "outboundSMSTextMessage": {"message": body},
                }
                response = http.post(
                    url, json={"outboundSMSMessageRequest": request}, headers=headers, timeout=30
                )
            else:
                form = {"username": "mbolo", "to": ",".join(numbers), "message": body, "from": "MBOLO"}
                response = http.post(url, data={**form, "bulkSMSMode": 1}, headers=headers, timeout=30)
            if response.status_code != 201:
                raise SystemExit(f"baseline post failed: {response.status_code}")
            response.json()

        with ThreadPoolExecutor(THREADS) as pool:
            start = time.perf_counter()
            list(pool.map(post, posts))
            elapsed = time.perf_counter() - start
        for http in sessions.values():
            http.close()
        return elapsed


def _personal_texts(n: int, round_no: int) -> list[str]:
    return [f"Recu R{round_no}-{i:05d}: 5 000 F recus de Awa Diop. Solde 12 500 F." for i in range(n)]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main() -> None:
    """Start the servers, measure in interleaved rounds, print the medians, write bench/results/sms.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personal", type=int, default=PERSONAL)
    parser.add_argument("--members", type=int, default=MEMBERS, help="announcement size; 0 skips it")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--rate-rows", type=int, default=RATE_ROWS, help="SMS sent at SMS_RATE; 0 skips it")
    parser.add_argument("--gateway", choices=GATEWAYS, action="append", help="default: both")
    args = parser.parse_args()
    names = args.gateway or list(GATEWAYS)

    # The per-SMS JSON log line is part of the cost: written, to /dev/null.
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    handler.setFormatter(JsonFormatter())
    logging.getLogger("mbolo").addHandler(handler)
    logging.getLogger("mbolo").setLevel(logging.INFO)
    logging.getLogger("mbolo").propagate = False

    engine, url = bench_engine(SCHEMA, fresh=True)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    modules = {"africastalking": "sms.local_gateway", "orange": "sms.local_orange"}
    ports = {name: _free_port() for name in names}
    servers = [_start_server(modules[name], ports[name]) for name in names]
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    config = replace(Config(), DATABASE_URL=url, REDIS_URL=redis_url)
    # Within sending hours whenever the benchmark runs: announcements are held during quiet hours.
    clock = FixedClock(datetime.combine(Clock().today(), dt_time(10, 0)))
    runtime = Runtime(
        config, engine, make_session_factory(engine), redis_client(redis_url), clock, enqueue_send
    )
    bench = Bench(runtime, urls)
    personal: dict[str, list[float]] = {n: [] for n in names}
    baseline: dict[str, list[float]] = {n: [] for n in names}
    rates: dict[str, list[float]] = {n: [] for n in names}
    announcements: list[tuple[float, int, float]] = []
    try:
        for name in names:  # warm-up: connections, statement caches, the Lua script, the token
            bench.personal(name, 200, 0)
        for round_no in range(1, args.rounds + 1):
            order = names if round_no % 2 else list(reversed(names))
            for name in order:
                sms_per_s, posts_per_s = bench.personal(name, args.personal, round_no)
                personal[name].append(sms_per_s)
                baseline[name].append(posts_per_s)
            if args.members and "africastalking" in names:
                announcements.append(bench.announcement(args.members))
            if args.rate_rows:
                for name in order:
                    rates[name].append(bench.rate(name, config.SMS_RATE, args.rate_rows))
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        engine.dispose()

    figures: dict = {"rounds": args.rounds, "threads": THREADS, "personal": args.personal}
    for name in names:
        prefix = "" if name == "africastalking" else f"{name}_"
        figures[f"{prefix}personal_sms_per_s"] = _median(personal[name])
        figures[f"{prefix}personal_baseline_posts_per_s"] = _median(baseline[name])
        figures[f"{prefix}personal_ratio_to_baseline"] = round(
            statistics.median(p / b for p, b in zip(personal[name], baseline[name], strict=True)), 3
        )
        figures[f"{prefix}personal_rounds"] = [round(v, 1) for v in personal[name]]
        if rates[name]:
            figures[f"{prefix}rate_limited_sms_per_s"] = round(statistics.median(rates[name]), 2)
            figures[f"{prefix}rate_limited_rounds"] = [round(v, 2) for v in rates[name]]
    figures["sms_rate"] = config.SMS_RATE
    if announcements:
        seconds = statistics.median(a[0] for a in announcements)
        base = statistics.median(a[2] for a in announcements)
        figures.update(
            announcement_members=args.members,
            announcement_seconds=round(seconds, 3),
            announcement_sms_per_s=round(args.members / seconds, 1),
            announcement_requests=announcements[0][1],
            announcement_baseline_seconds=round(base, 3),
            announcement_ratio_to_baseline=round(base / seconds, 3),
        )
    figures["goal_personal_sms_per_s"] = 200
    figures["goal_met"] = all(figures[k] >= 200 for k in figures if k.endswith("personal_sms_per_s"))
    if args.rate_rows:
        figures["goal_rate_within_5_percent"] = all(
            abs(figures[k] - config.SMS_RATE) <= 0.05 * config.SMS_RATE
            for k in figures
            if k.endswith("rate_limited_sms_per_s")
        )

    print(f"{'measure (median of ' + str(args.rounds) + ' interleaved rounds)':<52} {'value':>10}")

    def line(label: str, value) -> None:
        print(f"{label:<52} {value:>10}")

    for name in names:
        prefix = "" if name == "africastalking" else f"{name}_"
        label = "Africa's Talking" if name == "africastalking" else "Orange"
        line(f"{label} personal SMS/s (1 request, 1 commit each)", figures[prefix + "personal_sms_per_s"])
        line(
            "  baseline raw posts/s (same process, no DB)", figures[prefix + "personal_baseline_posts_per_s"]
        )
        line("  ratio to baseline", figures[prefix + "personal_ratio_to_baseline"])
        if rates[name]:
            line(f"  SMS/s at SMS_RATE={config.SMS_RATE:g}", figures[prefix + "rate_limited_sms_per_s"])
    if announcements:
        print(
            f"{f'announcement to {args.members} members (AT), s':<52} {figures['announcement_seconds']:>10}"
        )
        print(f"{'  requests':<52} {figures['announcement_requests']:>10}")
        print(f"{'  ratio to baseline':<52} {figures['announcement_ratio_to_baseline']:>10}")
    print(f"goal ≥ 200 personal SMS/s through each gateway: {'met' if figures['goal_met'] else 'NOT met'}")
    if args.rate_rows:
        met = figures["goal_rate_within_5_percent"]
        print(f"goal rate within 5 % of SMS_RATE: {'met' if met else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
