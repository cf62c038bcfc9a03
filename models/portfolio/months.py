"""Calendar months, ratios and the cooperative scope shared by every figure.

Every figure function takes `cooperative_ids`: None for the whole programme (no filter at all, so
the programme's figures never carry a list of thousands of ids), else the cooperatives counted —
one, a region's, or whatever narrows a coordinator's overview.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from models import production
from models.clock import DAKAR
from models.cooperative import Member


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` → Month; ValueError otherwise."""
        try:
            year, month = production.parse_month(text)
        except production.PeriodError as exc:
            raise ValueError(str(exc)) from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        """The month holding `day`."""
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        """`2026-11`."""
        return f"{self.year}-{self.month:02d}"

    @property
    def first(self) -> date:
        """First day."""
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        """Last day."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> int:
        """Number of days."""
        return self.last.day

    def shift(self, months: int) -> Month:
        """The month `months` later (negative: earlier)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def through(self, today: date) -> date:
        """The last day of the month that counts on `today`: today for the running month."""
        return min(self.last, today)

    def utc_bounds(self, tz: ZoneInfo = DAKAR) -> tuple[datetime, datetime]:
        """[start, end) of the month on the local calendar, as UTC instants."""
        start = datetime.combine(self.first, time(0), tzinfo=tz)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def months_ending(last: Month, count: int) -> list[Month]:
    """`count` months ending with `last`, oldest first."""
    return [last.shift(-k) for k in reversed(range(count))]


def end_of_day(day: date, tz: ZoneInfo = DAKAR) -> datetime:
    """The UTC instant where the local `day` ends."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, None when there is no whole to divide by."""
    return part / whole if whole else None


def id_list(cooperative_ids: Iterable[int] | None) -> list[int] | None:
    """The ids as a list (an iterator is read once), None kept as None: every cooperative."""
    return None if cooperative_ids is None else list(cooperative_ids)


def within(stmt: Select, column, cooperative_ids: list[int] | None) -> Select:
    """`stmt` narrowed to rows whose `column` (a cooperative id) is one of these; None narrows nothing."""
    return stmt if cooperative_ids is None else stmt.where(column.in_(cooperative_ids))


def members_of(cooperative_ids: list[int]) -> Select:
    """The ids of these cooperatives' members, as a subquery."""
    return select(Member.id).where(Member.cooperative_id.in_(cooperative_ids))
