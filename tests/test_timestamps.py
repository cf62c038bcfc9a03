"""Timestamps are stored as UTC and come back timezone-aware, on SQLite as on PostgreSQL."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from models import AuditEvent, Cooperative
from models.clock import DAKAR

TOKYO = ZoneInfo("Asia/Tokyo")


def test_an_aware_value_comes_back_aware_in_utc(runtime):
    """Written in Dakar time, read back in another session as the same instant, marked UTC."""
    written = datetime(2026, 12, 1, 10, 0, 30, 123456, tzinfo=DAKAR)
    with runtime.sessions() as session:
        session.add(Cooperative(name="GIE Test", code="TST", created_at=written))
        session.commit()
    with runtime.sessions() as session:
        read = session.scalar(select(Cooperative.created_at))
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read == written


def test_any_zone_is_converted_to_utc(runtime):
    """A value in another zone is the same instant once stored."""
    written = datetime(2026, 12, 2, 1, 0, tzinfo=TOKYO)
    with runtime.sessions() as session:
        session.add(Cooperative(name="GIE Tokyo", code="TKY", created_at=written))
        session.commit()
    with runtime.sessions() as session:
        read = session.scalar(select(Cooperative.created_at))
    assert read == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert read.tzinfo == UTC or read.utcoffset() == timedelta(0)


def test_a_naive_value_is_refused(db):
    """A naive datetime has no zone: storing it would be a guess, so it is refused."""
    db.add(Cooperative(name="GIE Naive", code="NAV", created_at=datetime(2026, 12, 1, 10, 0)))
    with pytest.raises(StatementError) as excinfo:
        db.flush()
    assert "naive datetime" in str(excinfo.value)
    db.rollback()


def test_comparisons_in_sql_use_the_instant(db):
    """Filtering with an aware bound in another zone finds the row by its instant."""
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    db.add(AuditEvent(at=at, actor="system", action="test", target="t", source="cli"))
    db.flush()
    just_before = datetime(2026, 12, 1, 17, 59, tzinfo=TOKYO)  # 08:59 UTC
    just_after = datetime(2026, 12, 1, 18, 1, tzinfo=TOKYO)  # 09:01 UTC
    assert db.scalar(select(AuditEvent.at).where(AuditEvent.at > just_before)) == at
    assert db.scalar(select(AuditEvent.at).where(AuditEvent.at > just_after)) is None


def test_the_stored_value_is_utc(db):
    """The database itself holds UTC (naive UTC text on SQLite, timestamptz on PostgreSQL)."""
    db.add(Cooperative(name="GIE Raw", code="RAW", created_at=datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO)))
    db.flush()
    if db.get_bind().dialect.name == "postgresql":
        raw = db.scalar(
            text("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM cooperative")
        )
    else:
        raw = db.scalar(text("SELECT substr(created_at, 1, 16) FROM cooperative"))
    assert raw == "2026-12-01 01:00"
