"""Imports at scale through the CLI: 2 000 000 members, then 1 000 000 loans, into a schema of their own.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/13 \\
        python -m bench.import_scale [--members 2000000] [--loans 1000000] [--schema bench_scale]

Writes the CSV files (streamed, under instance/bench/), then runs `flask import members`, `import
products` and `import loans` as an operator would, each in its own process, and reports their wall
time and peak memory (the process's maximum resident set). A 100 000-member import into a fresh
schema first gives the per-100 000-row time to compare with. Nothing is analysed by hand: the
import commands do it. Member i has the phone +22177 followed by i on 7 digits and, for i up to
the number of loans, loan i (the USSD benchmark's members); the members the USSD mixes dial (the
first 100 000) get the benchmark PIN, as if they had chosen it on their first dial.
Then `python -m bench.ussd.run --reuse --schema bench_scale` runs the USSD mixes on this data set.
Writes bench/results/import_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.dataset import bench_engine
from bench.import_members import drop_schema

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "instance" / "bench"
COOPERATIVES = 2_000
USSD_MEMBERS = 100_000  # the members the USSD mixes dial (bench/ussd/common.lua)


def write_members(path: Path, count: int) -> None:
    """A members file: member i of cooperative (i-1) % 2000 + 1, phone +22177 and i on 7 digits."""
    with path.open("w") as out:
        out.write("cooperative;member_no;name;phone;role;language;savings;commune;region;coop_code\n")
        for i in range(1, count + 1):
            coop = (i - 1) % COOPERATIVES + 1
            role = "treasurer" if i <= COOPERATIVES else ""
            out.write(
                f"Cooperative {coop:05d};M{i:07d};Membre {i:07d} Ndiaye;+22177{i:07d};{role};"
                f"{('fr', 'wo', 'en')[i % 3]};{(i % 50) * 500};Thies;Thies;\n"
            )


def write_products(path: Path) -> None:
    """One product per cooperative (the whole-session USSD mix reports production of it)."""
    with path.open("w") as out:
        out.write("cooperative;product;unit\n")
        for coop in range(1, COOPERATIVES + 1):
            out.write(f"Cooperative {coop:05d};Arachide;kg\n")


def write_loans(path: Path, count: int, today: date) -> None:
    """Loan i to member i: 8 instalments, weekly for one loan in four, first due dates around today."""
    with path.open("w") as out:
        out.write(
            "loan_ref;phone;principal;interest;disbursed_on;installments;frequency;first_due_on;repaid\n"
        )
        for i in range(1, count + 1):
            weekly = i % 4 == 0
            first_due = today - timedelta(days=(i * 7) % 60 - 20)
            disbursed = first_due - (timedelta(weeks=1) if weekly else timedelta(days=30))
            out.write(
                f"L-{i:07d};+22177{i:07d};{100_000 + (i % 10) * 10_000};10000;{disbursed};8;"
                f"{'weekly' if weekly else 'monthly'};{first_due};\n"
            )


def cli_import(kind: str, path: Path, db_url: str) -> dict:
    """`flask import KIND FILE` in its own process: wall seconds, peak memory, its summary line."""
    env = {**os.environ, "DATABASE_URL": db_url, "APP_ENV": "development", "FLASK_APP": "wsgi"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "import", kind, str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    summary = next((line for line in output.splitlines() if line.startswith("created")), output[-300:])
    if proc.returncode != 0:
        raise SystemExit(f"import {kind} failed ({proc.returncode}):\n{output[-2000:]}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "summary": summary,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Write the files, import them through the CLI, report time and memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000, help="rows of the reference import")
    parser.add_argument("--schema", default="bench_scale")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    today = date.today()
    figures: dict = {"members": args.members, "loans": args.loans, "baseline_rows": args.baseline}

    small, big = WORK / f"members-{args.baseline}.csv", WORK / f"members-{args.members}.csv"
    write_members(small, args.baseline)
    write_members(big, args.members)
    write_products(WORK / "products.csv")
    write_loans(WORK / f"loans-{args.loans}.csv", args.loans, today)

    engine, url = bench_engine(args.schema + "_base")
    engine.dispose()
    figures["import_members_baseline"] = cli_import("members", small, url)
    print("baseline", figures["import_members_baseline"], flush=True)
    drop_schema(engine, args.schema + "_base")

    engine, url = bench_engine(args.schema)
    figures["import_members"] = cli_import("members", big, url)
    print("members", figures["import_members"], flush=True)
    figures["import_products"] = cli_import("products", WORK / "products.csv", url)
    figures["import_loans"] = cli_import("loans", WORK / f"loans-{args.loans}.csv", url)
    print("loans", figures["import_loans"], flush=True)

    per_100k = figures["import_members"]["seconds"] / (args.members / 100_000)
    base_per_100k = figures["import_members_baseline"]["seconds"] / (args.baseline / 100_000)
    figures["members_seconds_per_100k"] = round(per_100k, 2)
    figures["baseline_seconds_per_100k"] = round(base_per_100k, 2)
    figures["per_100k_ratio"] = round(per_100k / base_per_100k, 2)

    from config import load_config
    from models.pin import hash_pin

    secret = load_config({**os.environ, "APP_ENV": "development"}).PIN_SECRET
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE member SET pin_hash = :h WHERE id <= :n"),
            {"h": hash_pin("4827", secret), "n": USSD_MEMBERS},
        )
    engine.dispose()
    for path in WORK.glob("*.csv"):
        path.unlink()
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results" / "import_scale.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
