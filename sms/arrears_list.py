"""The arrears list as officers read it by SMS: one line a member, whole lines per page.

`RETARDS [page]` and the weekly digest share these lines and pages, so the digest's closing
`RETARDS n` names exactly the page that continues it. A line is `M0012 A.Diop 12 500F 45j`
(member number, initial and last name, overdue, days late); a page is one SMS of at most 160
GSM-7 characters: a heading with the page number, whole lines, and `RETARDS n+1` when more
follow. Lists are computed when asked, sorted by days late (most first) then member number
(models.arrears).
"""

from __future__ import annotations

from dataclasses import dataclass

from i18n.catalog import N_, gettext
from i18n.gsm7 import fold, septets
from models.arrears import MemberArrears

PAGE = 160
LINE = N_("{member} {name} {amount}F {days}j")
HEADING = N_("Retards {coop} {page}/{pages}:")
MORE = N_("Suite: RETARDS {next}")
NONE = N_("{coop}: aucun membre en retard.")


def short_name(name: str) -> str:
    """`Awa Ndiaye Diop` → `A.Diop`: enough to tell members apart on a small screen."""
    words = fold(name).split()
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:14]
    return f"{words[0][0]}.{words[-1][:12]}"


def amount(value: int) -> str:
    """`12 500` (the line adds the `F`)."""
    return f"{value:,}".replace(",", " ")


def line(language: str, member: MemberArrears) -> str:
    """One member's line in the list."""
    return fold(
        gettext(language, LINE).format(
            member=member.member_no,
            name=short_name(member.name),
            amount=amount(member.overdue),
            days=member.days_late,
        )
    )


@dataclass(frozen=True)
class Page:
    """One SMS of the list: its number, the members on it, and its text."""

    number: int
    members: tuple[MemberArrears, ...]
    text: str


def pages(language: str, coop_code: str, members: list[MemberArrears]) -> list[Page]:
    """The list cut into SMS pages of whole lines; an empty list is one page saying nobody is late."""
    coop = fold(coop_code)
    if not members:
        return [Page(1, (), fold(gettext(language, NONE).format(coop=coop)))]
    lines = [line(language, m) for m in members]
    # Folded text: a page's septets are its parts' plus one per newline, so each line is measured once.
    sizes = [septets(text) for text in lines]
    # The page count appears in every heading and `RETARDS n` grows with it: settle it by trying.
    total = 1
    while True:
        cut = _cut(language, coop, sizes, total)
        if len(cut) <= total:
            break
        total = len(cut)
    result, start = [], 0
    for number, count in enumerate(cut, start=1):
        chunk = lines[start : start + count]
        parts = [_heading(language, coop, number, len(cut)), *chunk]
        if number < len(cut):
            parts.append(_more(language, number + 1))
        result.append(Page(number, tuple(members[start : start + count]), "\n".join(parts)))
        start += count
    return result


def _heading(language: str, coop: str, page: int, total: int) -> str:
    return fold(gettext(language, HEADING).format(coop=coop, page=page, pages=total))


def _more(language: str, next_page: int) -> str:
    return fold(gettext(language, MORE).format(next=next_page))


def _cut(language: str, coop: str, sizes: list[int], total: int) -> list[int]:
    """How many lines each page holds (lines of `sizes` septets) when the list has `total` pages."""
    counts, i = [], 0
    while i < len(sizes):
        number = len(counts) + 1
        used = septets(_heading(language, coop, number, max(total, number)))
        more = 1 + septets(_more(language, number + 1))
        taken = 0
        while i + taken < len(sizes):
            size = used + 1 + sizes[i + taken]
            last = i + taken + 1 == len(sizes)
            if size + (0 if last else more) > PAGE:
                break
            used = size
            taken += 1
        # A line is at most ~60 characters (20-character member numbers): every page takes one.
        taken = max(taken, 1)
        counts.append(taken)
        i += taken
    return counts


def page_of(member_id: int, all_pages: list[Page]) -> int:
    """The page number on which a member appears (1 when absent)."""
    for page in all_pages:
        if any(m.member_id == member_id for m in page.members):
            return page.number
    return 1
