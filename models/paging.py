"""Pages of a long list: which rows a page holds and how many pages there are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """Page `number` (1-based) of `total` rows, `size` rows a page."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, raw: str | int | None, size: int, total: int) -> Page:
        """The page asked for (`?page=`), brought back inside 1…last; anything unreadable is page 1."""
        try:
            number = int(raw or 1)
        except (TypeError, ValueError):
            number = 1
        last = max(1, -(-total // size))
        return cls(min(max(number, 1), last), size, total)

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size

    @property
    def previous(self) -> int | None:
        """The previous page's number, if any."""
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        """The next page's number, if any."""
        return self.number + 1 if self.number < self.pages else None
