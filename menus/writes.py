"""How write actions stay idempotent: rows created by a hop carry its (sessionId, step) key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from menus.hop import Hop

T = TypeVar("T")


def add_once(hop: Hop, model: type[T], make: Callable[[], T]) -> tuple[T, bool]:
    """Add the row `make()` builds, keyed by the hop's idempotency key, unless it exists; (row, created).

    A replayed hop (the aggregator retried after a lost answer and the session record was not
    updated) finds the row its first attempt committed; two racing copies of the same hop meet
    the unique index and the loser reads the winner's row.
    """
    key = hop.idempotency_key
    found = hop.db.scalars(select(model).where(model.idempotency_key == key)).first()
    if found is not None:
        return found, False
    row = make()
    row.idempotency_key = key
    try:
        with hop.db.begin_nested():
            hop.db.add(row)
            hop.db.flush()
    except IntegrityError:
        found = hop.db.scalars(select(model).where(model.idempotency_key == key)).one()
        return found, False
    hop.wrote = True
    return row, True
