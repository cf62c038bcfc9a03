"""Sending hours: quiet hours (`QUIET_HOURS`, default 20-8) and the reminder hour, in local time.

The one place quiet hours are computed: the reminder planner, the pre-send checks (presend) and
the declaration notices all ask `SendingHours`. Quiet hours hold reminders, broadcasts and
unsolicited notices, never receipts or replies. A reminder belongs to one day: it goes at
`REMINDER_HOUR` or at the run's time if later, and never after that day's quiet hours begin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config import Config


@dataclass(frozen=True)
class SendingHours:
    """When bulk SMS may go out; hours are whole local hours, `quiet` = (start, end)."""

    tz: ZoneInfo
    quiet: tuple[int, int] = (20, 8)
    reminder_hour: int = 9

    @classmethod
    def from_config(cls, config: Config) -> SendingHours:
        """The hours the configuration sets."""
        return cls(tz=config.tz, quiet=config.QUIET_HOURS, reminder_hour=config.REMINDER_HOUR)

    def local(self, at: datetime) -> datetime:
        """`at` on the local wall clock (naive values are taken as local)."""
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def at(self, day: date, hour: int) -> datetime:
        """`hour`:00 on local `day`, timezone-aware."""
        return datetime.combine(day, time(hour), tzinfo=self.tz)

    def is_quiet(self, at: datetime) -> bool:
        """True inside quiet hours (the start hour is quiet, the end hour is not)."""
        start, end = self.quiet
        hour = self.local(at).hour
        if start > end:  # the usual case: the night, across midnight
            return hour >= start or hour < end
        return start <= hour < end

    def next_open(self, at: datetime) -> datetime:
        """`at` itself outside quiet hours, else the end of the quiet hours it falls in."""
        if not self.is_quiet(at):
            return self.local(at)
        local = self.local(at)
        start, end = self.quiet
        day = local.date()
        if start > end and local.hour >= start:
            day += timedelta(days=1)
        return self.at(day, end)

    def held_until(self, at: datetime) -> datetime | None:
        """When an unsolicited notice written at `at` may go: None (now) outside quiet hours."""
        return self.next_open(at) if self.is_quiet(at) else None

    def window(self, send_after: datetime, *, for_one_day: bool) -> tuple[datetime, datetime]:
        """(opens, closes) of the window in which a bulk SMS may go, as aware datetimes.

        `for_one_day` (a reminder, planned for a day) closes when quiet hours begin that day: an
        early-morning reminder opens at the end of the night, a late-evening one is already
        closed. Otherwise (a broadcast) the window closes when the next quiet hours begin.
        """
        start, end = self.quiet
        local = self.local(send_after)
        opens = self.next_open(local)
        if for_one_day:
            closes = self.at(local.date(), start)
            if start < end and closes <= local:
                closes = self.at(local.date() + timedelta(days=1), start)
        else:
            closes = self.at(opens.date(), start)
            if closes <= opens:
                closes = self.at(opens.date() + timedelta(days=1), start)
        return opens, closes

    def reminder_time(self, day: date, now: datetime) -> datetime | None:
        """When the reminders of `day` go out if planned at `now`; None once that day's window is over."""
        wanted = max(self.at(day, self.reminder_hour), self.local(now))
        opens = self.next_open(wanted)
        return opens if opens.date() == day else None
