"""scripts/restore_drill.py: dump, drop, restore on PostgreSQL, and every member's position identical."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Member
from models.enums import Role, SavingsKind, Source
from models.ledger import post_savings, record_repayment
from models.position import Position, member_position
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import restore_drill  # noqa: E402


@pytest.fixture
def books(db, clock, database_url):
    """Two cooperatives' members with savings, loans at different stages and payments, committed."""
    if not database_url.startswith("postgres"):
        pytest.skip("the restore drill uses pg_dump and pg_restore (PostgreSQL only)")
    now = clock.now()
    for n, (name, code) in enumerate((("GIE Ndiambour", "NDB"), ("GIE Keur Massar", "KMS"))):
        coop = factories.coop(db, name=name, code=code)
        treasurer = factories.member(db, coop, "T0001", f"Tresoriere {code}", role=Role.TREASURER)
        for i in range(3):
            m = factories.member(db, coop, f"M{i + 1:04d}", f"Membre {code} {i}", savings=5_000 * (i + 1))
            factories.loan(db, m, reference=f"L-{code}-{i}", principal=50_000 + 10_000 * i)
            if i:
                record_repayment(
                    db,
                    member=m,
                    amount=7_500 * i,
                    paid_on=now.date(),
                    now=now,
                    source=Source.SMS,
                    recorded_by=treasurer,
                )
            post_savings(
                db,
                member=m,
                kind=SavingsKind.DEPOSIT,
                amount=500 + n,
                entry_on=now.date(),
                now=now,
                source=Source.SMS,
            )
    db.commit()
    today = clock.today()
    positions = {m.id: member_position(db, m.id, today) for m in db.scalars(select(Member))}
    db.rollback()
    return positions


def _drill(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "test"}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "restore_drill.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_restore_into_a_scratch_database_keeps_every_position(books, database_url):
    """The default drill restores beside the source and finds all 8 members' positions identical."""
    result = _drill(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("restore drill OK (into a scratch database): 8 members' positions")
    assert re.search(r"dump \d+\.\d\ds, drop \d+\.\d\ds, restore \d+\.\d\ds", lines[0])


def test_drop_and_restore_in_place_leaves_positions_identical(books, database_url, db, clock):
    """--in-place drops the schema and restores it; the positions read afterwards are the same."""
    result = _drill(database_url, "--in-place")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("restore drill OK (in place): 8 members' positions")
    today = clock.today()
    assert {m.id: member_position(db, m.id, today) for m in db.scalars(select(Member))} == books
    assert db.scalar(select(func.count()).select_from(Member)) == 8
    db.rollback()


def test_in_place_is_refused_in_production():
    """With APP_ENV=production the in-place drill refuses to drop anything (before connecting)."""
    env = {
        **os.environ,
        # Production refuses SQLite at start-up; the refusal comes before any connection.
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/never",
        "APP_ENV": "production",
        "WEBHOOK_TOKEN": "t" * 32,
        "REDIS_URL": "redis://127.0.0.1:6379/7",
        "PIN_SECRET": "p" * 32,
        "SECRET_KEY": "k" * 32,
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "restore_drill.py"), "--in-place"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "refused" in result.stderr


def test_a_changed_position_or_row_count_is_reported():
    """The comparison names the member and the table that differ."""
    p = Position(
        savings=10,
        outstanding=0,
        overdue=0,
        days_late=0,
        next_due=None,
        pending_declaration=None,
        active_loans=0,
    )
    before = restore_drill.Snapshot(positions={("NDB", "M0001"): p}, counts={"member": 2})
    after = restore_drill.Snapshot(positions={("NDB", "M0001"): replace(p, savings=11)}, counts={"member": 1})
    found = restore_drill.differences(before, after)
    assert any("member NDB/M0001" in f for f in found)
    assert any("table member: 2 rows != 1" in f for f in found)
    assert restore_drill.differences(before, before) == []


@pytest.mark.parametrize(
    ("url", "schema", "name"),
    [
        ("postgresql://postgres@127.0.0.1/test?options=-csearch_path%3Dtest_1_ab", "test_1_ab", "test"),
        ("postgres://u:p@db.example/mbolo", None, "mbolo"),
    ],
)
def test_urls_are_read_for_the_pg_tools(url, schema, name):
    """The pinned schema and the database name come from DATABASE_URL; the driver suffix is dropped."""
    assert restore_drill.pinned_schema(url) == schema
    assert restore_drill.database_name(url) == name
    assert restore_drill.libpq_url("postgresql+psycopg://h/db") == "postgresql://h/db"
    assert restore_drill.with_database(url, "other").split("?")[0].endswith("/other")
