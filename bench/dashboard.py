"""Coordinator dashboards at scale: 3 000 cooperatives, 200 000 members, 100 000 loans, 1 000 000
instalments (bench.dataset).

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python -m bench.dashboard

Times, after a warm-up, the median of ROUNDS runs of the figures behind each page; the JSON keys
are the ones bench.run_all reads: "overall dashboard" (the 2 000 cooperatives' table, then the
dashboard on its total: arrears of every loan, collections, production, reminders, SMS), "one
cooperative dashboard", and one cooperative's and everyone's overdue list. Before the pages, the
month-end snapshots of the last 12 months are written (the history series read them); "month-end
snapshot" times one month-end's replay for every cooperative, what the tick does once a day at a
month's start.
Beside them (bench.coordinators): a cooperative's page with its member list, four kinds of search,
and a plain indexed SELECT with the load average, timed in the same run, since the machine is shared.
Goals: one cooperative's page and a search ≤ 0.3 s; the overview (table sorted by PAR30) ≤ 2 s; the
overall overdue list ≤ 5 s (a coordinator's occasional look, not a hop).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bench import coordinators
from bench.dataset import bench_engine, load, proportions
from models.portfolio import Month, cooperative_lines, dashboard, empty_portfolio, overdue_list
from models.portfolio.snapshots import backfill, write_month

SCHEMA = "bench_dashboard"
TODAY = date(2026, 12, 1)
ROUNDS = 5
MEMBERS = 200_000  # the data set's size (bench.run_all --members sets it)
COOPERATIVES = 3_000  # the programme's size by 2027
RESULT = Path(__file__).resolve().parent / "results" / "dashboard.json"


def overall_page(session: Session, month: Month) -> None:
    """What /admin/ computes: the cooperatives' table, then the dashboard on its total."""
    lines = cooperative_lines(session, TODAY, month, sort="-par30")
    total = empty_portfolio(TODAY)
    for line in lines:
        total.absorb(line.portfolio)
    dashboard(session, month, TODAY, daily_budget=5_000, figures=total)


def _median(engine, work) -> float:
    times = []
    for round_no in range(ROUNDS + 1):
        with Session(engine) as session:
            start = time.perf_counter()
            work(session)
            elapsed = time.perf_counter() - start
        if round_no:  # the first run warms the caches
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    """Load the data set, time each figure, print the table, write bench/results/dashboard.json."""
    engine, _ = bench_engine(SCHEMA)
    load(engine, **{**proportions(MEMBERS), "cooperatives": COOPERATIVES}, today=TODAY)
    month = Month.of(TODAY)
    now = datetime.now(UTC)
    with Session(engine) as session:
        start = time.perf_counter()
        write_month(session, month.shift(-1), now)
        snapshot = time.perf_counter() - start
        backfill(session, TODAY, now, since=month.shift(-12))
        session.commit()
    results = {
        "month-end snapshot": snapshot,
        "overall dashboard": _median(engine, lambda s: overall_page(s, month)),
        "one cooperative dashboard": _median(
            engine, lambda s: dashboard(s, month, TODAY, daily_budget=5_000, cooperative_ids=[7])
        ),
        "one cooperative overdue list": _median(engine, lambda s: overdue_list(s, TODAY, 7)),
        "overall overdue list": _median(engine, lambda s: overdue_list(s, TODAY)),
        **coordinators.timings(engine, TODAY, MEMBERS),
    }
    width = max(map(len, results))
    for name, seconds in results.items():
        print(f"{name:<{width}}  {seconds:7.3f}" + ("" if name.startswith("load") else " s"))
    RESULT.write_text(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2) + "\n")
    engine.dispose()


if __name__ == "__main__":
    main()
