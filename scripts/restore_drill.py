"""Restore drill: dump the database, drop, restore, and check that every member's position is identical.

    DATABASE_URL=postgresql://… python scripts/restore_drill.py             # into a scratch database
    DATABASE_URL=postgresql://… python scripts/restore_drill.py --in-place  # drop and restore the source

The PostgreSQL database (with its outbox) is the truth; Redis holds only USSD sessions, locks and
the job queue, and is rebuilt empty. So a restore is proven when what every member sees —
`models.position.member_position`: savings, outstanding, overdue, days late, next instalment,
pending declaration — and the row count of every table are the same after as before.

Default: the dump is restored into a scratch database beside the source (`<db>_drill_<pid>`),
which is dropped first if it exists and again at the end (`--keep` keeps it); the source is only
read, so the drill is safe to run against production. `--in-place` is the full exercise for a
staging copy: the source itself is dropped (its schema, when the URL pins one with
`options=-csearch_path=…`, else every table of `public`) and restored from the dump; it refuses
to run with APP_ENV=production. Ends with one verdict line and the seconds each step took;
exit status 0 when identical, 1 when not, 2 when a step failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import models  # noqa: E402
from config import load_config  # noqa: E402
from models.clock import Clock  # noqa: E402
from models.cooperative import Cooperative, Member  # noqa: E402
from models.database import make_engine, normalise_url  # noqa: E402
from models.position import Position, member_position  # noqa: E402


class DrillError(RuntimeError):
    """A step of the drill could not be carried out."""


@dataclass
class Snapshot:
    """What must survive a restore: every member's position and every table's row count."""

    positions: dict[tuple[str, str], Position]
    counts: dict[str, int]


@dataclass
class Timings:
    """Seconds per step, in order."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = time.perf_counter() - started

    def line(self) -> str:
        parts = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in self.steps.items())
        return f"{parts}; total {sum(self.steps.values()):.2f}s"


# --- URLs ------------------------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore read it (no SQLAlchemy driver suffix)."""
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def pinned_schema(url: str) -> str | None:
    """The schema named by `options=-csearch_path=…` in the URL, if any."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        for word in unquote(option).split():
            if word.startswith("-csearch_path="):
                return word.split("=", 1)[1].split(",")[0].strip('"')
    return None


def database_name(url: str) -> str:
    """The database part of the URL's path."""
    return unquote(urlsplit(url).path.lstrip("/"))


def with_database(url: str, name: str) -> str:
    """The same URL on another database of the server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


# --- snapshot and comparison -----------------------------------------------------------------------


def snapshot(bind, today: date) -> Snapshot:
    """Every member's position (by cooperative code and member number) and every table's row count."""
    with Session(bind=bind) as session:
        members = session.execute(
            select(Member.id, Cooperative.code, Member.member_no)
            .join(Cooperative, Cooperative.id == Member.cooperative_id)
            .order_by(Member.id)
        ).all()
        positions = {
            (code, no): member_position(session, member_id, today) for member_id, code, no in members
        }
        counts = {
            table.name: int(session.scalar(select(func.count()).select_from(table)))
            for table in models.Base.metadata.sorted_tables
        }
    return Snapshot(positions, counts)


def differences(before: Snapshot, after: Snapshot, limit: int = 5) -> list[str]:
    """Human-readable differences between two snapshots (empty when identical)."""
    found = []
    for key in sorted(set(before.positions) | set(after.positions)):
        if before.positions.get(key) != after.positions.get(key):
            found.append(
                f"member {key[0]}/{key[1]}: {before.positions.get(key)} != {after.positions.get(key)}"
            )
    for name in sorted(set(before.counts) | set(after.counts)):
        if before.counts.get(name) != after.counts.get(name):
            found.append(f"table {name}: {before.counts.get(name)} rows != {after.counts.get(name)}")
    return found[:limit] + ([f"… and {len(found) - limit} more"] if len(found) > limit else [])


# --- the steps -------------------------------------------------------------------------------------


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        # pg tools name the database but never print the password; the URL is not echoed.
        raise DrillError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-500:]}")


def dump(url: str, path: Path, schema: str | None, snapshot_id: str | None = None) -> None:
    """pg_dump in custom format (what a nightly backup keeps), optionally of an exported snapshot."""
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
    if schema:
        command.append(f"--schema={schema}")
    if snapshot_id:
        command.append(f"--snapshot={snapshot_id}")
    _run([*command, f"--dbname={libpq_url(url)}"])


def restore(url: str, path: Path) -> None:
    """pg_restore into an empty target, stopping at the first error."""
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={libpq_url(url)}",
            str(path),
        ]
    )


def drop_in_place(engine: Engine, schema: str | None) -> None:
    """Drop what the dump holds: the pinned schema, else every table, view and sequence of public."""
    with engine.begin() as conn:
        if schema:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


def recreate_database(server_url: str, name: str) -> None:
    """Drop the scratch database if a previous drill left it, and create it empty."""
    admin = create_engine(normalise_url(with_database(server_url, "postgres")), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def drop_database(server_url: str, name: str) -> None:
    """Remove the scratch database."""
    admin = create_engine(normalise_url(with_database(server_url, "postgres")), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DrillError(f"{name} not found: install the PostgreSQL client tools")
    return found


def drill(url: str, *, in_place: bool, keep: bool, today: date, workdir: Path) -> tuple[bool, str]:
    """Run the drill; returns (identical, verdict line)."""
    if not normalise_url(url).startswith("postgresql"):
        raise DrillError("the restore drill needs PostgreSQL (SQLite: copy the file with `sqlite3 .backup`)")
    schema = pinned_schema(url)
    timings = Timings()
    source = make_engine(url, pool_size=1)
    path = workdir / "mbolo.dump"
    try:
        # The positions are read in a REPEATABLE READ transaction whose snapshot pg_dump then uses:
        # payments arriving meanwhile on a live database are in neither, so they cannot differ.
        with source.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))
                with timings.step("read before"):
                    before = snapshot(conn, today)
                with timings.step("dump"):
                    dump(url, path, schema, snapshot_id)
        scratch = None if in_place else f"{database_name(url)}_drill_{os.getpid()}"
        target_url = url if scratch is None else with_database(url, scratch)
        with timings.step("drop"):
            if scratch is None:
                source.dispose()
                drop_in_place(source, schema)
            else:
                recreate_database(url, scratch)
        try:
            with timings.step("restore"):
                restore(target_url, path)
            target = make_engine(target_url, pool_size=1)
            try:
                with timings.step("read after"):
                    after = snapshot(target, today)
            finally:
                target.dispose()
        finally:
            if scratch is not None and not keep:
                drop_database(url, scratch)
    finally:
        source.dispose()
    found = differences(before, after)
    where = "in place" if in_place else "into a scratch database"
    size = path.stat().st_size / 1e6
    if found:
        return False, (
            f"restore drill FAILED ({where}): {len(before.positions)} members, "
            + "; ".join(found)
            + f" | {timings.line()}"
        )
    return True, (
        f"restore drill OK ({where}): {len(before.positions)} members' positions and "
        f"{len(before.counts)} tables' row counts identical; dump {size:.1f} MB | {timings.line()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: one verdict line on stdout; 0 identical, 1 different, 2 a step failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-place", action="store_true", help="drop and restore DATABASE_URL itself")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database for inspection")
    args = parser.parse_args(argv)
    config = load_config()
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print("restore drill: DATABASE_URL is not set", file=sys.stderr)
        return 2
    if args.in_place and config.is_production:
        print(
            "restore drill: --in-place drops the database; refused with APP_ENV=production", file=sys.stderr
        )
        return 2
    today = Clock(config.tz).today()
    try:
        with tempfile.TemporaryDirectory(prefix="mbolo-drill-") as workdir:
            identical, verdict = drill(
                url, in_place=args.in_place, keep=args.keep, today=today, workdir=Path(workdir)
            )
    except DrillError as exc:
        print(f"restore drill ERROR: {exc}")
        return 2
    except SQLAlchemyError as exc:
        print(f"restore drill ERROR: database: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
        return 2
    print(verdict)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
