"""Inserting many rows at once: COPY on PostgreSQL, one executemany on SQLite.

An ORM bulk INSERT … RETURNING spends most of its time building and splitting statements of a
thousand rows each; COPY streams the rows in one go. The new ids are taken from the table's
sequence first, in one query, so the caller gets them in the order of its rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, bindparam, func, insert, literal_column, select, text, true, tuple_
from sqlalchemy.orm import Session

from models.database import is_postgres


def insert_rows(session: Session, model, rows: list[dict], *, with_ids: bool = False) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `model`'s table; return their ids if asked."""
    if not rows:
        return []
    _check_first(rows[0])
    if not is_postgres(session):
        if with_ids:
            stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
            return list(session.scalars(stmt, rows))
        session.execute(insert(model), rows)
        return []
    table = model.__table__
    columns = list(rows[0])
    ids: list[int] = []
    if with_ids:
        # One query reserves the whole block of ids; COPY then writes them with the rows.
        ids = list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": len(rows)},
            )
        )
        columns = ["id", *columns]
    raw = session.connection().connection.dbapi_connection
    quoted = ", ".join(f'"{name}"' for name in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        # psycopg's write_row formats in C: faster than building COPY's text in Python (measured).
        if with_ids:
            for new_id, row in zip(ids, rows, strict=True):
                copy.write_row([new_id, *row.values()])
        else:
            for row in rows:
                copy.write_row(list(row.values()))
    return ids


def rows_by_key(session: Session, columns: list, keys: list, values: list[tuple], *, where=None) -> list:
    """The rows (`columns`) whose `keys` columns equal one of `values`: one index lookup per value.

    An import looks up what is stored for a batch of rows in tables it is itself filling, whose
    statistics are stale or missing: on PostgreSQL, a plain `IN (…)` or `= ANY(…)` may then be planned
    as a scan of the whole table for every batch, a cost that grows with the table. Here the values
    are unnested and each is looked up in a LATERAL subquery behind OFFSET 0, which the planner can only
    run as a lookup per value through the index on `keys`. SQLite plans `IN` by its indexes anyway.
    """
    found = []
    if is_postgres(session):
        stmt = lookup_statement(columns, keys, where)
        for part in _slices(values, 50_000):
            params = {f"k{i}": [v[i] for v in part] for i in range(len(keys))}
            found += session.execute(stmt, params).all()
        return found
    stmt = select(*columns)
    if where is not None:
        stmt = stmt.where(where)
    match = keys[0] if len(keys) == 1 else tuple_(*keys)
    for part in _slices(values, 400):
        wanted = [v[0] for v in part] if len(keys) == 1 else part
        found += session.execute(stmt.where(match.in_(wanted))).all()
    return found


def lookup_statement(columns: list, keys: list, where=None):
    """PostgreSQL: the rows whose `keys` equal the unnested arrays `:k0`, `:k1`…, one lookup per value."""
    wanted = select(
        *(func.unnest(bindparam(f"k{i}", type_=ARRAY(key.type))).label(f"k{i}") for i, key in enumerate(keys))
    ).subquery("wanted")
    inner = select(*columns).where(*(key == wanted.c[f"k{i}"] for i, key in enumerate(keys)))
    if where is not None:
        inner = inner.where(where)
    lookup = inner.offset(literal_column("0")).lateral("found")
    return select(lookup).select_from(wanted.join(lookup, true()))


def _slices(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def analyse(session: Session, *models) -> None:
    """ANALYZE the tables an import wrote to (PostgreSQL), inside its transaction.

    A freshly loaded table has no statistics until autovacuum gets round to it, and the planner's
    guesses on a table of millions can turn a lookup into a scan. ANALYZE reads a fixed sample
    (30 000 rows at the default target), so it costs the same after a thousand rows as after
    millions; its statistics are committed with the rows.
    """
    if models and is_postgres(session):
        session.flush()
        session.execute(text("ANALYZE " + ", ".join(f'"{m.__table__.name}"' for m in models)))


def _check_first(row: dict) -> None:
    """Callers pass plain values of one shape per batch; the first row stands for the others.

    The column types (UTC timestamps) are bypassed by COPY, so their refusals are kept here:
    no naive datetime, no StrEnum (psycopg would not know how to write it).
    """
    for name, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{name}: naive datetime {value!r}: timestamps must be timezone-aware")
        if isinstance(value, str) and type(value) is not str:
            raise TypeError(f"{name}: pass {value!r} as a plain str")
