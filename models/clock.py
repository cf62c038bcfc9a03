"""Time, injected: the service asks a clock, tests hand it a fixed one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAKAR = ZoneInfo("Africa/Dakar")


class Clock:
    """The real time, in UTC, and the local calendar day."""

    def __init__(self, tz: ZoneInfo = DAKAR):
        self.tz = tz

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)

    def local_now(self) -> datetime:
        """The current instant on the local wall clock (Africa/Dakar by default)."""
        return self.now().astimezone(self.tz)

    def today(self) -> date:
        """Today's date where the members live."""
        return self.local_now().date()


class FixedClock(Clock):
    """A clock that only moves when told to (tests, `reminders run --now`)."""

    def __init__(self, at: datetime, tz: ZoneInfo = DAKAR):
        super().__init__(tz)
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at` (naive values are local time)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.tz)
        self._at = at.astimezone(UTC)

    def advance(self, **delta) -> None:
        """Move forward by a timedelta's keyword arguments."""
        self._at += timedelta(**delta)
