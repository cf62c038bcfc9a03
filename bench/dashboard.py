"""Coordinator dashboards at scale: 3 000 cooperatives in 14 regions, 200 000 members, 100 000 loans,
1 000 000 instalments (bench.dataset).

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python -m bench.dashboard [--rounds N] [--reuse]
        [--schema NAME] [--only overview]

Times, after a warm-up, the median of ROUNDS runs of the figures behind each page; the JSON keys
are the ones bench.run_all reads: "overall dashboard" (the overview of a programme coordinator:
the 3 000 cooperatives' table sorted by PAR30, then every section on its cooperatives: arrears of
every loan, collections, the 12-month series, production, reminders, SMS, and the needs-attention
lists), "regional overview"
(the same page for a coordinator of one region, every section computed over that region's
cooperatives), "one cooperative dashboard", and one cooperative's and everyone's overdue list.
Before the pages, the month-end snapshots of the last 12 months are written (the history series
read them); "month-end snapshot" times one month-end's replay for every cooperative, what the tick
does once a day at a month's start.
Beside them (bench.coordinators): a cooperative's page with its member list, four kinds of search,
and a plain indexed SELECT with the load average, timed in the same run, since the machine is shared.
Goals: one cooperative's page and a search ≤ 0.3 s; the overview (programme or region) ≤ 2 s; the
overall overdue list ≤ 5 s (a coordinator's occasional look, not a hop).

--reuse keeps the schema's data set and snapshots when they are there (a second run skips the load);
--only overview times the two overviews and the plain SELECT only (profiling one change).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from bench import coordinators
from bench.dataset import bench_engine, load, proportions
from models.attention import attention
from models.portfolio import Month, cooperative_lines, dashboard, empty_portfolio, overdue_list
from models.portfolio.snapshots import backfill, write_month
from models.scope import Scope

SCHEMA = "bench_dashboard"
TODAY = date(2026, 12, 1)
ROUNDS = 5
MEMBERS = 200_000  # the data set's size (bench.run_all --members sets it)
COOPERATIVES = 3_000  # the programme's size by 2027
REGION = "Thiès"  # one of bench.dataset.REGIONS: 1/14 of the cooperatives
RESULT = Path(__file__).resolve().parent / "results" / "dashboard.json"


def overall_page(session: Session, month: Month, scope: Scope | None = None) -> None:
    """What /admin/ computes for an account of this scope (None: the programme's).

    The table sorted by PAR30, every section over the table's cooperatives (on the table's total),
    and the needs-attention lists.
    """
    ids = (scope or Scope()).cooperative_ids(session)
    lines = cooperative_lines(session, TODAY, month, ids, sort="-par30")
    total = empty_portfolio(TODAY)
    for line in lines:
        total.absorb(line.portfolio)
    dashboard(session, month, TODAY, daily_budget=5_000, cooperative_ids=ids, figures=total)
    attention(session, TODAY, ids)


def _loaded(engine) -> bool:
    """True when the schema holds this size of data set with its snapshots (for --reuse)."""
    if "portfolio_snapshot" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        coops = conn.scalar(text("SELECT count(*) FROM cooperative"))
        members = conn.scalar(text("SELECT count(*) FROM member"))
        snapshots = conn.scalar(text("SELECT count(DISTINCT as_of) FROM portfolio_snapshot"))
    return coops == COOPERATIVES and members == MEMBERS and snapshots >= 12


def main() -> None:
    """Load the data set, time each figure, print the table, write bench/results/dashboard.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timed runs a figure (default {ROUNDS})")
    parser.add_argument("--reuse", action="store_true", help="keep the schema's data set when it is loaded")
    parser.add_argument("--schema", default=SCHEMA, help=f"PostgreSQL schema (default {SCHEMA})")
    parser.add_argument("--only", choices=["overview"], help="time the overviews only")
    args = parser.parse_args()
    rounds = args.rounds
    engine, _ = bench_engine(args.schema, fresh=False)
    month = Month.of(TODAY)
    snapshot = None
    if not (args.reuse and _loaded(engine)):
        engine.dispose()
        engine, _ = bench_engine(args.schema)
        load(engine, **{**proportions(MEMBERS), "cooperatives": COOPERATIVES}, today=TODAY)
        now = datetime.now(UTC)
        with Session(engine) as session:
            start = time.perf_counter()
            write_month(session, month.shift(-1), now)
            snapshot = time.perf_counter() - start
            backfill(session, TODAY, now, since=month.shift(-12))
            session.commit()
        # A live database's autovacuum has long since marked these rows all-visible; right after a
        # COPY it has not yet, and whether it has come by when the rounds start would decide whether
        # the unpaid instalments are read from their index alone. Vacuumed here, every run starts
        # from the live database's state.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cooperative, member, loan, instalment, portfolio_snapshot"))
    results: dict[str, float] = {}
    if snapshot is not None:
        results["month-end snapshot"] = snapshot
    median = coordinators.median_of
    results["overall dashboard"] = median(engine, lambda s: overall_page(s, month), rounds)
    results["regional overview"] = median(
        engine, lambda s: overall_page(s, month, Scope(region=REGION)), rounds
    )
    if args.only == "overview":
        results["plain indexed SELECT (member by id)"] = coordinators.plain_select(engine, MEMBERS, rounds)
        results["load average (1 min) at the end"] = os.getloadavg()[0]
    else:
        results.update(
            {
                "one cooperative dashboard": median(
                    engine,
                    lambda s: dashboard(s, month, TODAY, daily_budget=5_000, cooperative_ids=[7]),
                    rounds,
                ),
                "one cooperative overdue list": median(engine, lambda s: overdue_list(s, TODAY, 7), rounds),
                "overall overdue list": median(engine, lambda s: overdue_list(s, TODAY), rounds),
                **coordinators.timings(engine, TODAY, MEMBERS, rounds),
            }
        )
    width = max(map(len, results))
    for name, seconds in results.items():
        print(f"{name:<{width}}  {seconds:7.3f}" + ("" if name.startswith("load") else " s"))
    if args.only is None:  # a partial run is for profiling; the results file holds whole runs
        RESULT.write_text(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2) + "\n")
    engine.dispose()


if __name__ == "__main__":
    main()
