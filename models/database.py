"""Engine and session factory from a URL: psycopg 3 for PostgreSQL, tuned SQLite for development."""

from __future__ import annotations

import select as io_select
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Select, create_engine, event, exc, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.cooperative import Member

# Server settings of every connection the service opens. JIT compiles a plan's expressions on each
# execution: milliseconds spent on a hop's index lookups, never won back on queries that short.
SERVER_OPTIONS = "-c jit=off"
# psycopg prepares a statement on the server once it has run this many times on a connection: the
# hot path's few statements are then parsed and planned once per connection, not once per hop.
PREPARE_THRESHOLD = 2
# A connection marked so runs its reads outside any transaction (see read_until_write).
_LAZY = "mbolo.reads_outside_transaction"


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
    parsed = make_url(url)
    # `options` may already be in the URL (a search_path): the server settings are added to it.
    options = [parsed.query.get("options", ""), SERVER_OPTIONS]
    if search_path:
        options.append(f"-csearch_path={search_path}")
    connect_args = {
        "connect_timeout": 3,
        "options": " ".join(o for o in options if o),
        "prepare_threshold": PREPARE_THRESHOLD,
    }
    engine = create_engine(
        parsed.difference_update_query(["options"]),
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=10,
        **kw,
    )
    _check_idle_connections(engine)
    _lazy_transactions(engine)
    return engine


def _check_idle_connections(engine: Engine) -> None:
    """Hand out only live connections, without a round trip to ask.

    An idle connection has nothing to read: if its socket is readable, the server has closed it
    (restart, idle timeout) or said why it will. Looking costs one poll of the socket, where a
    pre-ping costs a query; the pool then opens a fresh connection in its place.
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy):
        if dbapi_connection.closed or dbapi_connection.broken:
            raise exc.DisconnectionError("connection closed")
        readable, _, _ = io_select.select([dbapi_connection.fileno()], [], [], 0)
        if readable:
            raise exc.DisconnectionError("the server closed the idle connection")


def _lazy_transactions(engine: Engine) -> None:
    """Connections of a `read_until_write` session: reads in autocommit, BEGIN before the first write."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, _parameters, _context, _executemany):
        if not conn.info.get(_LAZY):
            return
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection.autocommit and not _is_plain_read(statement):
            # Idle (autocommit): psycopg sends BEGIN ahead of this statement; commit() ends it.
            dbapi_connection.autocommit = False

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection, record, _state):
        if record.info.pop(_LAZY, None):
            dbapi_connection.autocommit = False


def _is_plain_read(statement: str) -> bool:
    """A SELECT that takes no row lock (anything else, a SAVEPOINT included, needs the transaction)."""
    head = statement.lstrip()[:6].upper()
    return head == "SELECT" and " FOR " not in statement.upper()


def read_until_write(session: Session) -> Session:
    """Let `session` read without a transaction until it writes (PostgreSQL; no-op on SQLite).

    A hop that only reads then costs its statements alone: no BEGIN before them, no COMMIT or
    ROLLBACK after (psycopg skips both on a connection that is not in a transaction). The first
    statement that writes or locks rows opens the transaction, which `commit()` ends as usual, so
    a hop that writes still commits once. The reads before it see committed data one statement
    at a time, which is what READ COMMITTED gives inside a transaction too.
    """
    if session.get_bind().dialect.name != "postgresql":
        return session
    session.info[_LAZY] = True
    return session


def _on_session_begin(session: Session, transaction, connection) -> None:
    # Fired for savepoints too: only the outermost transaction, on a connection not yet in one.
    if session.info.get(_LAZY) and transaction.parent is None and not transaction.nested:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.info.transaction_status == dbapi_connection.info.transaction_status.IDLE:
            connection.info[_LAZY] = True
            dbapi_connection.autocommit = True


event.listen(Session, "after_begin", _on_session_begin)


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


def plain_rows(session: Session, statement, params: dict) -> list:
    """The rows of a prebuilt statement of plain columns, run on the session's connection.

    Hot paths (a USSD hop) read this way: the ORM's handling of a statement costs about as much
    CPU as the driver's, and a statement built once is compiled once. Pending ORM changes are
    flushed first, as the ORM's autoflush would, so the statement sees them (nothing to flush
    costs a check, not a round trip).
    """
    session.flush()
    return session.connection().execute(statement, params).all()


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a write that is one statement: its own transaction, committed on leaving.

    On PostgreSQL the connection is in autocommit: the statement goes alone, without the BEGIN and
    COMMIT round trips around it (a single statement is atomic by itself). SQLite's engine opens
    its BEGIN IMMEDIATE as usual, and the commit ends it.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
        connection.commit()


def lock_member(session: Session, member_id: int) -> None:
    """Lock the member's row (PostgreSQL): the first lock of every change of that member's money."""
    if is_postgres(session):
        session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
