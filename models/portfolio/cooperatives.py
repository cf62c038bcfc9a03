"""The cooperatives table of the overview: one query, its sort orders, in one place.

Whatever narrows the table (a coordinator's region, a search) passes `cooperative_ids`; whatever
orders it passes `sort`: the figures are computed once, set-based, for the cooperatives shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative
from models.portfolio.collection import Collection, collections_by_cooperative
from models.portfolio.months import Month, id_list, within
from models.portfolio.standing import Portfolio, empty_portfolio, portfolios


@dataclass(frozen=True)
class CooperativeLine:
    """One cooperative in the coordinator's overview."""

    id: int
    name: str
    code: str
    region: str | None
    demo: bool
    portfolio: Portfolio
    collection: Collection


# name → (column label, the figure it sorts on); `-par30` sorts the other way (worst first).
SORTS = {
    "name": ("Coopérative", lambda line: line.name.lower()),
    "members": ("Membres", lambda line: line.portfolio.members),
    "outstanding": ("Encours", lambda line: line.portfolio.outstanding),
    "overdue": ("En retard", lambda line: line.portfolio.overdue),
    "par30": ("PAR30", lambda line: line.portfolio.par30),
    "rate": ("Taux de recouvrement", lambda line: line.collection.rate),
    "on_time": ("À l'heure", lambda line: line.collection.on_time_rate),
}


def parse_sort(raw: str | None) -> tuple[str, bool]:
    """`par30`, `-rate` … → (key, descending); anything unknown → by name."""
    raw = (raw or "").strip()
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    return (key, descending) if key in SORTS else ("name", False)


def cooperative_lines(
    session: Session,
    today: date,
    month: Month,
    cooperative_ids: Iterable[int] | None = None,
    sort: str | None = None,
) -> list[CooperativeLine]:
    """The overview table: each cooperative's portfolio today and its collection for the month."""
    ids = id_list(cooperative_ids)
    figures = portfolios(session, today, ids)
    collected = collections_by_cooperative(session, month, today, ids)
    through = month.through(today)
    coops = session.execute(
        within(
            select(Cooperative.id, Cooperative.name, Cooperative.code, Cooperative.region, Cooperative.demo),
            Cooperative.id,
            ids,
        )
    )
    lines = [
        CooperativeLine(
            id=cid,
            name=name,
            code=code,
            region=region,
            demo=bool(demo),
            # .get: a cooperative created between the statements has no figures yet
            portfolio=figures.get(cid) or empty_portfolio(today),
            collection=collected.get(cid) or Collection(month, through=through),
        )
        for cid, name, code, region, demo in coops
    ]
    key, descending = parse_sort(sort)
    figure = SORTS[key][1]
    lines.sort(key=lambda line: line.name.lower())
    known = [line for line in lines if figure(line) is not None]
    known.sort(key=figure, reverse=descending)
    # Cooperatives without the figure (nothing due, nothing lent) come last in either direction.
    return known + [line for line in lines if figure(line) is None]
