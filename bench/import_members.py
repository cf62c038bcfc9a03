"""Benchmark: `import members` of 100 000 rows on PostgreSQL, then the same file again.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python -m bench.import_members [--rows N]

Runs in schemas of its own (`bench_import`, `bench_import_base`), dropped at the end. Prints the
seconds and rows/s of the first import (everything created) and of the second (nothing created),
and their ratio to a baseline measured in the same process: a plain psycopg COPY of the same
member rows and opening savings into the same tables, i.e. the floor of writing those rows at all.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.dataset import DEFAULT_URL, bench_engine
from models.cooperative import member_key
from models.csv_import import import_members
from models.database import make_session_factory, normalise_url
from models.directory import name_key
from models.phones import normalise

FIRST_NAMES = (
    "Awa",
    "Moussa",
    "Fatou",
    "Aminata",
    "Ibrahima",
    "Khady",
    "Ousmane",
    "Mariama",
    "Cheikh",
    "Ndeye",
)
LAST_NAMES = ("Diop", "Ndiaye", "Sow", "Fall", "Sarr", "Ba", "Diallo", "Cisse", "Gueye", "Faye")
LANGUAGES = ("fr", "wo", "en", "")
SCHEMA, BASE_SCHEMA = "bench_import", "bench_import_base"


def member_rows(count: int, cooperatives: int = 200) -> list[list[str]]:
    """Rows of a members file: phones written the ways people write them, some savings, some roles."""
    rows = []
    for i in range(count):
        digits = f"77{i:07d}"
        phone = (
            f"{digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}",
            digits,
            f"221{digits}",
            f"+221{digits}",
        )[i % 4]
        coop = i % cooperatives
        rows.append(
            [
                f"Cooperative {coop:04d}",
                f"M{i // cooperatives:05d}",
                f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i // 10) % 10]}",
                phone,
                "treasurer" if i < cooperatives else "",
                LANGUAGES[i % 4],
                f"{(i % 50) * 500:,}".replace(",", " ") if i % 3 else "",
                "Thies",
                "Thies",
                "",
            ]
        )
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    """The rows as a `;`-separated UTF-8 file with its header."""
    header = "cooperative;member_no;name;phone;role;language;savings;commune;region;coop_code"
    return ("\n".join([header, *(";".join(row) for row in rows)]) + "\n").encode()


def baseline_copy(rows: list[list[str]], now: datetime) -> float:
    """Seconds for a plain COPY of the same members and opening savings into a fresh schema.

    The rows are prepared before the clock starts (cooperatives inserted, phones in E.164, amounts
    parsed): the baseline is the cost of writing them, the floor for any import of this file.
    """
    engine, _ = bench_engine(BASE_SCHEMA)
    names = sorted({row[0] for row in rows})
    coop_ids = {name: i for i, name in enumerate(names, 1)}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO cooperative (id, name, code, demo, created_at) VALUES (:i, :n, :c, false, :t)"),
            [{"i": i, "n": name, "c": f"B{i:05d}", "t": now} for name, i in coop_ids.items()],
        )
    stamp = now.isoformat()
    members, savings = [], []
    # A fresh schema: the member ids are 1..N in COPY order.
    for member_id, row in enumerate(rows, 1):
        values = (
            coop_ids[row[0]],
            row[1],
            member_key(row[1]),
            row[2],
            name_key(row[2]),
            normalise(row[3]),
            row[4] or "member",
        )
        members.append(
            "\t".join(str(v) for v in values) + f"\t{row[5] or 'fr'}\tactive\t0\tf\tf\t{stamp}\t{stamp}\n"
        )
        amount = int(row[6].replace(" ", "")) if row[6] else 0
        if amount:
            savings.append(f"{member_id}\topening\t{amount}\t{now.date()}\t{stamp}\timport\n")
    member_columns = (
        "cooperative_id, member_no, member_key, name, name_key, phone, role, language, status, wrong_pins, "
        "locked, opted_out, created_at, updated_at"
    )
    started = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY member ({member_columns}) FROM STDIN") as copy:
                copy.write("".join(members))
            with cur.copy(
                "COPY savings_entry (member_id, kind, amount, entry_on, created_at, source) FROM STDIN"
            ) as copy:
                copy.write("".join(savings))
    elapsed = time.perf_counter() - started
    drop_schema(engine, BASE_SCHEMA)
    return elapsed


def drop_schema(engine, schema: str) -> None:
    """Drop a benchmark schema and release the engine."""
    engine.dispose()
    admin = create_engine(
        normalise_url(os.environ.get("DATABASE_URL") or DEFAULT_URL), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def timed_import(sessions, data: bytes, now: datetime) -> tuple[float, float, object]:
    """Wall seconds and this process's CPU seconds for one import, commit included.

    The CPU figure leaves out the database server's work but not other processes' load: on a
    shared machine it shows what the import itself costs when the wall clock is inflated.
    """
    started, cpu = time.perf_counter(), time.process_time()
    with sessions() as session:
        result = import_members(session, data, now=now, today=now.date(), filename="bench.csv")
        session.commit()
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    now = datetime.now(UTC)
    rows = member_rows(args.rows)
    data = csv_bytes(rows)

    engine, _ = bench_engine(SCHEMA)
    sessions = make_session_factory(engine)
    first, first_cpu, result = timed_import(sessions, data, now)
    assert result.created == args.rows and not result.failed, result.summary()
    second, second_cpu, again = timed_import(sessions, data, now)
    assert again.created == 0 and again.unchanged == args.rows, again.summary()
    drop_schema(engine, SCHEMA)
    baseline = baseline_copy(rows, now)

    figures = {
        "rows": args.rows,
        "first_import_s": round(first, 2),
        "first_import_rows_per_s": round(args.rows / first),
        "first_import_cpu_s": round(first_cpu, 2),
        "second_import_s": round(second, 2),
        "second_import_rows_per_s": round(args.rows / second),
        "second_import_cpu_s": round(second_cpu, 2),
        "load_average": os.getloadavg()[0],
        "baseline_copy_s": round(baseline, 2),
        "first_vs_copy": round(first / baseline, 2),
        "second_vs_copy": round(second / baseline, 2),
    }
    print(f"import members, {args.rows} rows on PostgreSQL")
    for label, wall, cpu, outcome in (
        ("first", first, first_cpu, result),
        ("second", second, second_cpu, again),
    ):
        print(
            f"  {label + ' import':<13}: {wall:6.2f} s  {args.rows / wall:9.0f} rows/s  "
            f"CPU {cpu:5.2f} s  ({outcome.summary()})"
        )
    print(f"  baseline COPY: {baseline:6.2f} s  {args.rows / baseline:9.0f} rows/s  (same rows, prepared)")
    print(f"  ratio to COPY: first {first / baseline:.2f}x, second {second / baseline:.2f}x")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
