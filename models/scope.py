"""What a web account may see: every cooperative, one region's, or one cooperative.

A region is a cooperative's `region` text compared ignoring accents, case and repeated spaces
(`models.directory.name_key`), so "Thiès", "THIES" and "thies " are one region.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative
from models.directory import name_key
from models.errors import NotFound


def region_key(region: str | None) -> str:
    """Matching key of a region ('' for none)."""
    return name_key(region or "")


@dataclass(frozen=True)
class Scope:
    """Every cooperative (both None), one region's (`region`), or one cooperative (`cooperative_id`)."""

    region: str | None = None
    cooperative_id: int | None = None

    @property
    def everything(self) -> bool:
        """True for a programme-wide account."""
        return self.region is None and self.cooperative_id is None

    def covers(self, cooperative: Cooperative | None) -> bool:
        """True when this cooperative is inside the scope."""
        if cooperative is None:
            return self.everything  # a missing cooperative is "not found" only to those who see all
        if self.cooperative_id is not None:
            return cooperative.id == self.cooperative_id
        if self.region is not None:
            return region_key(cooperative.region) == region_key(self.region)
        return True

    def cooperative_ids(self, session: Session) -> list[int] | None:
        """The cooperatives' ids inside the scope; None means all of them (no filter needed)."""
        if self.cooperative_id is not None:
            return [self.cooperative_id]
        if self.region is None:
            return None
        wanted = region_key(self.region)
        # Folding accents is not portable SQL; a programme has a few thousand cooperatives at most.
        rows = session.execute(
            select(Cooperative.id, Cooperative.region).where(Cooperative.region.is_not(None))
        )
        return [cid for cid, region in rows if region_key(region) == wanted]

    def restrict(self, stmt: Select, column, session: Session) -> Select:
        """`stmt` filtered to rows whose `column` (a cooperative id) is inside the scope."""
        ids = self.cooperative_ids(session)
        return stmt if ids is None else stmt.where(column.in_(ids))


def regions(session: Session) -> dict[str, str]:
    """Every region some cooperative has: its key → the most used spelling."""
    counts: dict[str, dict[str, int]] = {}
    for (region,) in session.execute(select(Cooperative.region).where(Cooperative.region.is_not(None))):
        key = region_key(region)
        if key:
            spellings = counts.setdefault(key, {})
            spelling = " ".join(region.split())
            spellings[spelling] = spellings.get(spelling, 0) + 1
    return {key: max(spellings.items(), key=_preferred)[0] for key, spellings in counts.items()}


def _preferred(item: tuple[str, int]) -> tuple:
    """The most used spelling; on a tie the one keeping accents, then capitals ("Thiès" over "thies")."""
    spelling, count = item
    return (count, not spelling.isascii(), spelling[:1].isupper(), spelling)


def known_region(session: Session, region: str) -> str:
    """The region as the cooperatives spell it; NotFound when no cooperative has it."""
    spelling = regions(session).get(region_key(region))
    if spelling is None:
        raise NotFound(f"no cooperative in region {region!r}")
    return spelling


def set_region(
    session: Session, cooperative: Cooperative, region: str, *, actor: str, now, source: str
) -> str:
    """Move a cooperative to a region (audited); an existing region keeps its spelling. Returns it."""
    from models import audit

    cleaned = " ".join(region.split())
    if not region_key(cleaned):
        raise ValueError("empty region")
    spelling = regions(session).get(region_key(cleaned), cleaned)
    before = cooperative.region
    if before == spelling:
        return spelling
    cooperative.region = spelling
    audit.record(
        session,
        actor=actor,
        action="cooperative.set_region",
        target=f"cooperative:{cooperative.id}",
        source=source,
        at=now,
        before={"region": before},
        after={"region": spelling},
    )
    return spelling
