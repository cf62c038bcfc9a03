"""The benchmark data set, loaded by COPY into a schema of its own on PostgreSQL.

200 000 members in 2 000 cooperatives, 100 000 loans, 1 000 000 instalments (10 per loan), with due
dates spread over the weeks around `today` so that every reminder rule has work on any given day;
the cooperatives are spread over Senegal's 14 regions.
"""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from models.database import make_engine, normalise_url
from models.migrate import upgrade
from models.schedule import add_months

DEFAULT_URL = "postgresql://postgres@127.0.0.1/test"
# Senegal's 14 regions: the cooperatives are dealt out over them in turn, so that a regional
# coordinator's pages (bench.dashboard) read a region of about 1/14 of the programme.
REGIONS = (
    "Dakar",
    "Diourbel",
    "Fatick",
    "Kaffrine",
    "Kaolack",
    "Kédougou",
    "Kolda",
    "Louga",
    "Matam",
    "Saint-Louis",
    "Sédhiou",
    "Tambacounda",
    "Thiès",
    "Ziguinchor",
)


def bench_engine(schema: str = "bench", fresh: bool = True) -> tuple[Engine, str]:
    """An engine on `schema` of DATABASE_URL's database (recreated and migrated when `fresh`)."""
    base = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if base.startswith("sqlite"):
        raise SystemExit("benchmarks run on PostgreSQL: set DATABASE_URL=postgresql://…")
    from sqlalchemy import create_engine

    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url, pool_size=10)
    if fresh:
        upgrade(engine)
    return engine, url


def proportions(members: int) -> dict[str, int]:
    """The data set's proportions for `members` members: half hold a loan, 100 per cooperative."""
    return {"members": members, "loans": members // 2, "cooperatives": max(1, members // 100)}


def _copy(conn, table: str, columns: list[str], rows) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buf.getvalue())


def phone_of(member_id: int) -> str:
    """The benchmark phone of member `member_id` (+22177 followed by 7 digits)."""
    return f"+22177{member_id:07d}"


def load(
    engine: Engine,
    *,
    members: int = 200_000,
    loans: int = 100_000,
    per_loan: int = 10,
    cooperatives: int = 2_000,
    today: date | None = None,
    pin_hash: str | None = None,
) -> dict[str, float]:
    """Load the data set by COPY; return seconds per table."""
    today = today or date.today()
    now = datetime.now(UTC).isoformat()
    timings: dict[str, float] = {}
    with engine.begin() as conn:
        t = time.perf_counter()
        _copy(
            conn,
            "cooperative",
            ["id", "name", "code", "commune", "region", "demo", "created_at"],
            (
                (i, f"Cooperative {i:05d}", f"C{i:05d}", "Thies", REGIONS[i % len(REGIONS)], "false", now)
                for i in range(1, cooperatives + 1)
            ),
        )
        langs = ("fr", "wo", "en")
        _copy(
            conn,
            "member",
            [
                "id",
                "cooperative_id",
                "member_no",
                "member_key",
                "name",
                "name_key",
                "phone",
                "role",
                "language",
                "status",
                "pin_hash",
                "wrong_pins",
                "locked",
                "opted_out",
                "created_at",
                "updated_at",
            ],
            (
                (
                    i,
                    (i - 1) % cooperatives + 1,
                    f"M{i:06d}",
                    f"M{i}",
                    f"Membre {i:06d} Ndiaye",
                    f"membre {i:06d} ndiaye",
                    phone_of(i),
                    "treasurer" if i <= cooperatives else "member",
                    langs[i % 3],
                    "active",
                    pin_hash,
                    0,
                    "false",
                    "false",
                    now,
                    now,
                )
                for i in range(1, members + 1)
            ),
        )
        timings["members"] = time.perf_counter() - t
        # One product per cooperative: the whole-session USSD mix reports production of it.
        _copy(
            conn,
            "product",
            ["id", "cooperative_id", "name", "unit", "created_at"],
            ((i, i, "Arachide", "kg", now) for i in range(1, cooperatives + 1)),
        )

        t = time.perf_counter()
        loan_rows, inst_rows = [], []
        inst_id = 0
        for i in range(1, loans + 1):
            weekly = i % 4 == 0
            # First due dates spread over the 60 days around today: every rule fires somewhere.
            first_due = today - timedelta(days=(i * 7) % 60 - 20)
            disbursed = first_due - (timedelta(weeks=1) if weekly else timedelta(days=30))
            principal, interest = 100_000 + (i % 10) * 10_000, 10_000
            loan_rows.append(
                (
                    i,
                    (i - 1) % members + 1,
                    f"L-{i:07d}",
                    principal,
                    interest,
                    disbursed,
                    first_due,
                    "weekly" if weekly else "monthly",
                    "active",
                    now,
                )
            )
            per = (principal + interest) // per_loan // 5 * 5
            for k in range(per_loan):
                inst_id += 1
                due = first_due + timedelta(weeks=k) if weekly else add_months(first_due, k)
                amount = per if k < per_loan - 1 else principal + interest - per * (per_loan - 1)
                inst_rows.append((inst_id, i, k + 1, due, amount, 0))
        _copy(
            conn,
            "loan",
            [
                "id",
                "member_id",
                "reference",
                "principal",
                "interest",
                "disbursed_on",
                "first_due_on",
                "frequency",
                "status",
                "created_at",
            ],
            loan_rows,
        )
        _copy(
            conn, "instalment", ["id", "loan_id", "number", "due_on", "amount_due", "amount_paid"], inst_rows
        )
        timings["loans+instalments"] = time.perf_counter() - t
        for table in ("cooperative", "member", "product", "loan", "instalment"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The tables loaded here, in this schema: a bare ANALYZE would go through every schema of
        # the database, other benchmarks' and test runs' included.
        conn.execute(text("ANALYZE cooperative, member, product, loan, instalment"))
    return timings


if __name__ == "__main__":
    eng, _ = bench_engine()
    print(load(eng))
