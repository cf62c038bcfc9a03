"""Reminder planning at scale: 1 000 000 unpaid instalments loaded by COPY into a schema of its own.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python -m bench.reminders

Measures, in one run and on the same data, each as one transaction (statement + commit):
  (a) the issue's reference INSERT … SELECT (adapted only to the table names);
  (b) the project's planning step (`sms.reminders.planner.plan`, with its advisory lock);
  (c) the project's rendering and outbox writing for that day (`planner.write_messages`).
Each is run ROUNDS times after a warm-up, reminder_sent and the outbox emptied in between; the
medians are printed with the ratios and the goals: (b) ≤ 2 × (a) and ≤ 1 s, (c) ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.dataset import bench_engine, load
from models.clock import DAKAR
from sms.reminders import planner
from sms.sending_hours import SendingHours

SCHEMA = "bench_reminders"
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 0, 5, tzinfo=DAKAR)  # the day's first tick
ROUNDS = 5

REFERENCE = text(
    "INSERT INTO reminder_sent (instalment_id, rule, day) SELECT i.id, r.rule, :today FROM instalment i "
    "JOIN loan l ON l.id = i.loan_id JOIN (VALUES ('W-1','weekly',-1), ('W+1','weekly',1), "
    "('M-3','monthly',-3), ('M0','monthly',0), ('M+1','monthly',1), ('M+7','monthly',7)) "
    "r(rule, freq, off) ON r.freq = l.frequency AND i.due_on = :today - r.off "
    "WHERE i.amount_paid < i.amount_due AND l.status = 'active' ON CONFLICT DO NOTHING"
)


def _empty(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE reminder_sent, outbound_sms RESTART IDENTITY"))


def _timed(engine, work) -> tuple[float, object]:
    with Session(engine) as session:
        start = time.perf_counter()
        result = work(session)
        session.commit()
        return time.perf_counter() - start, result


def reference(session: Session) -> int:
    """(a) the issue's statement."""
    return session.execute(REFERENCE, {"today": TODAY}).rowcount


def planning(session: Session) -> int:
    """(b) the project's planning step."""
    planner.lock(session)
    return planner.plan(session, TODAY)


def rendering(session: Session) -> planner.DayResult:
    """(c) one SMS per member for the day, rendered and written in bulk, linked to its rows."""
    return planner.write_messages(session, TODAY, NOW, SendingHours(tz=DAKAR), cost_per_segment=15)


def main() -> None:
    """Load (unless --reuse), measure, print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema from a previous run")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    engine, _ = bench_engine(SCHEMA, fresh=not args.reuse)
    if not args.reuse:
        print("loading by COPY …", json.dumps({k: round(v, 1) for k, v in load(engine, today=TODAY).items()}))
    with engine.connect() as conn:
        unpaid = conn.execute(text("SELECT count(*) FROM instalment WHERE amount_paid < amount_due")).scalar()
    print(f"unpaid instalments: {unpaid:,}; day {TODAY}")

    a_times, b_times, c_times = [], [], []
    counts = {}
    for n in range(args.rounds + 1):  # round 0 warms the caches and is not counted
        _empty(engine)
        ta, rows_a = _timed(engine, reference)
        _empty(engine)
        tb, rows_b = _timed(engine, planning)
        tc, day = _timed(engine, rendering)
        if rows_a != rows_b:
            raise SystemExit(f"the planning step inserted {rows_b} rows, the reference {rows_a}")
        counts = {"reminders": rows_b, "sms": day.created}
        if n:
            a_times.append(ta)
            b_times.append(tb)
            c_times.append(tc)
    _empty(engine)

    a, b, c = (statistics.median(t) for t in (a_times, b_times, c_times))
    print(
        f"rows: {counts['reminders']:,} (instalment, rule) reminders, {counts['sms']:,} SMS (one per member)"
    )
    print(f"(a) reference INSERT … SELECT      {a:7.3f} s")
    print(f"(b) planning step                  {b:7.3f} s   b/a = {b / a:4.2f}  (goal ≤ 2.00 and ≤ 1 s)")
    print(f"(c) rendering + outbox writing     {c:7.3f} s   c/a = {c / a:4.2f}  (goal ≤ 2 s)")
    verdict = "PASS" if b <= 2 * a and b <= 1.0 and c <= 2.0 else "FAIL"
    busy = os.getloadavg()[0]
    print(f"medians of {args.rounds} rounds; load average {busy:.1f} on {os.cpu_count()} CPUs; {verdict}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "reminders.json").write_text(
        json.dumps(
            {"a": a, "b": b, "c": c, "b_over_a": b / a, **counts, "load_average": busy, "verdict": verdict},
            indent=2,
        )
    )
    engine.dispose()


if __name__ == "__main__":
    main()
