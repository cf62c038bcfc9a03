"""Finding members and cooperatives from one search box, within what an account may see.

Members match by name (case, accents and repeated spaces ignored: the stored `Member.name_key`),
by member number (M12 = M0012, `member_key`) or by phone in any local spelling (`models.phones`).
Cooperatives match by name (folded the same way) or code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative, Member, member_key
from models.directory import name_key
from models.paging import Page
from models.phones import try_normalise
from models.scope import Scope

PAGE_SIZE = 25
MAX_QUERY = 80


@dataclass(frozen=True)
class MemberHit:
    """A member found."""

    id: int
    member_no: str
    name: str
    phone: str | None
    cooperative_id: int
    cooperative: str
    status: str


@dataclass(frozen=True)
class CooperativeHit:
    """A cooperative found."""

    id: int
    name: str
    code: str
    region: str | None


@dataclass(frozen=True)
class SearchResult:
    """The members of one page, and every cooperative matching (a few thousand at most exist)."""

    query: str
    members: list[MemberHit]
    page: Page
    cooperatives: list[CooperativeHit]


def matching_cooperatives(session: Session, query: str, scope: Scope) -> list[CooperativeHit]:
    """Cooperatives in scope whose code is `query` or whose folded name holds it, by name."""
    wanted = name_key(query)
    if not wanted:
        return []
    stmt = scope.restrict(
        select(Cooperative.id, Cooperative.name, Cooperative.code, Cooperative.region),
        Cooperative.id,
        session,
    )
    hits = [
        CooperativeHit(*row)
        for row in session.execute(stmt)
        if row.code.upper() == query.strip().upper() or wanted in name_key(row.name)
    ]
    return sorted(hits, key=lambda hit: (hit.code.upper() != query.strip().upper(), name_key(hit.name)))


def search(
    session: Session, query: str, scope: Scope, page: str | int | None = 1, region: str = "SN"
) -> SearchResult:
    """Members (paged) and cooperatives matching `query` inside `scope`."""
    query = query.strip()[:MAX_QUERY]
    wanted = name_key(query)
    if not wanted:
        return SearchResult(query, [], Page.of(1, PAGE_SIZE, 0), [])
    by_name = Member.name_key.contains(wanted, autoescape=True)
    key = member_key(query)
    phone = try_normalise(query, region)
    exact = Member.member_key == key
    # Written out, not `~exact`: a member without a phone makes `phone = …` NULL, and NOT NULL drops them.
    not_exact = Member.member_key != key
    if phone is not None:
        exact = or_(exact, Member.phone == phone)
        not_exact = and_(not_exact, or_(Member.phone.is_(None), Member.phone != phone))
    where = []
    ids = scope.cooperative_ids(session)
    if ids is not None:
        where.append(Member.cooperative_id.in_(ids))
    total = session.scalar(select(func.count()).select_from(Member).where(or_(by_name, exact), *where)) or 0
    chosen = Page.of(page, PAGE_SIZE, total)
    columns = select(
        Member.id,
        Member.member_no,
        Member.name,
        Member.phone,
        Member.cooperative_id,
        Cooperative.name,
        Member.status,
    ).join(Cooperative, Cooperative.id == Member.cooperative_id)
    # Exact number or phone matches first (a handful, by index), then the names in order: two
    # statements, so that the second can walk the name index and stop at the page's end.
    first = list(session.execute(columns.where(exact, *where).order_by(Member.name_key, Member.id)))
    skip = max(chosen.offset - len(first), 0)
    rows = first[chosen.offset : chosen.offset + PAGE_SIZE]
    if len(rows) < PAGE_SIZE:
        rows += session.execute(
            columns.where(by_name, not_exact, *where)
            .order_by(Member.name_key, Member.id)
            .offset(skip)
            .limit(PAGE_SIZE - len(rows))
        ).all()
    members = [MemberHit(*row) for row in rows]
    return SearchResult(query, members, chosen, matching_cooperatives(session, query, scope))
