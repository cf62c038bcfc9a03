"""Inserting many rows at once: COPY on PostgreSQL, one executemany on SQLite.

An ORM bulk INSERT … RETURNING spends most of its time building and splitting statements of a
thousand rows each; COPY streams the rows in one go. The new ids are taken from the table's
sequence first, in one query, so the caller gets them in the order of its rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, text
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
