"""Engine and session factory from a URL: psycopg 3 for PostgreSQL, tuned SQLite for development."""

from __future__ import annotations

from sqlalchemy import Engine, Select, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from models.cooperative import Member


def normalise_url(url: str) -> str:
    """Use psycopg 3 for `postgres://` and `postgresql://` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, search_path: str | None = None, pool_size: int = 5, **kw) -> Engine:
    """Build the engine; `search_path` pins a PostgreSQL schema (tests run in their own)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)
        _serialise_sqlite_writes(engine)
        return engine
    connect_args = {"connect_timeout": 3}
    if search_path:
        connect_args["options"] = f"-csearch_path={search_path}"
    return create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        **kw,
    )


def _serialise_sqlite_writes(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and BEGIN IMMEDIATE so that money changes are serialised.

    pysqlite's own transaction handling starts transactions lazily and deferred, which lets
    two writers read the same balance; taking the write lock at BEGIN is SQLite's row lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (the webhook reads them to render)."""
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: Session) -> bool:
    """True when the session talks to PostgreSQL (row locks and ON CONFLICT available)."""
    return session.get_bind().dialect.name == "postgresql"


def for_update(session: Session, stmt: Select, *, skip_locked: bool = False) -> Select:
    """`stmt` locking its rows FOR UPDATE on PostgreSQL; SQLite serialises whole transactions instead."""
    return stmt.with_for_update(skip_locked=skip_locked) if is_postgres(session) else stmt


def lock_member(session: Session, member_id: int) -> None:
    """Lock the member's row (PostgreSQL): the first lock of every change of that member's money."""
    if is_postgres(session):
        session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
