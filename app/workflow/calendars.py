"""Calendars: how a jurisdiction counts hours, calendar days and working days.

Day counts follow the French rule (code de procédure civile art. 641-642), which most civil-law systems share:
the day of the event is not counted; a period ends at 24:00 local time on its last day; a last day that is a
Saturday, a Sunday or a public holiday moves to the next working day. Hours are elapsed time, so 24 hours
across a daylight-saving change are 24 real hours, while a day count always ends at local midnight, whatever
the hour of the event and whatever clock change comes between (issue 12, point 4).

A duty paused while a case is suspended resumes with the days that remained, not the hours (`resumed_due_at`):
a day-based duty resumed at 11:00 still falls due at 24:00 on a working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field

from app.workflow.states import DurationUnit

_ONE_DAY = timedelta(days=1)


class Duration(BaseModel):
    """A policy duration: a whole number of hours, calendar days or working days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: int = Field(ge=0, le=3650)
    unit: DurationUnit

    def __str__(self) -> str:
        return f"{self.value} {self.unit.value.replace('_', ' ')}"


@lru_cache(maxsize=512)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of one year; cached because `holidays` builds them on every call."""
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(calendar.keys())


@lru_cache(maxsize=64)
def zone(key: str) -> ZoneInfo:
    """The time zone named by the policy."""
    return ZoneInfo(key)


@dataclass(frozen=True, slots=True)
class Calendar:
    """A jurisdiction's time zone and public holidays."""

    time_zone: str
    country: str
    subdivision: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        """The policy's time zone."""
        return zone(self.time_zone)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a public holiday (art. 642: Saturday, Sunday and holidays move a term)."""
        if day.weekday() >= 5:
            return False
        return day not in holiday_dates(self.country, self.subdivision, day.year)

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days come after `start`, up to and including `end` (0 when `end` is not later)."""
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += _ONE_DAY
        return count

    def local_date(self, instant: datetime) -> date:
        """The local calendar day on which an instant falls."""
        return instant.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """24:00 local time on `day`, i.e. the first instant of the next local day, in UTC."""
        midnight = datetime.combine(day + _ONE_DAY, time(0), tzinfo=self.tz)
        return midnight.astimezone(UTC)

    def last_day(self, due_at: datetime) -> date:
        """The local day a day-based period ends on (the day before the midnight it falls due at)."""
        return (due_at.astimezone(self.tz) - timedelta(microseconds=1)).date()

    def due_after(self, start: datetime, duration: Duration) -> datetime:
        """When a period of `duration` that starts at `start` falls due, in UTC."""
        if start.tzinfo is None:
            raise ValueError("a deadline needs a timezone-aware start")
        if duration.unit is DurationUnit.hours:
            # In UTC: Python adds a timedelta to a zoned datetime on the wall clock, which across a
            # daylight-saving change would make 24 hours last 23 or 25.
            return start.astimezone(UTC) + timedelta(hours=duration.value)
        # The day of the event is not counted (art. 641): counting starts the next local day.
        day = self.local_date(start)
        if duration.unit is DurationUnit.calendar_days:
            last = self.next_working_day(day + timedelta(days=duration.value))
        else:
            last = day
            remaining = duration.value
            while remaining > 0:
                last += _ONE_DAY
                if self.is_working_day(last):
                    remaining -= 1
        # Always 24:00 local on the last day (art. 642), even when a spring clock change makes that an hour
        # less than the same number of 24-hour days after an event late in the evening.
        return self.end_of_day(last)

    def resumed_due_at(
        self, due_at: datetime, paused_at: datetime, resumed_at: datetime, unit: DurationUnit
    ) -> datetime:
        """When a duty paused at `paused_at` (then due at `due_at`) falls due once resumed at `resumed_at`.

        Hours keep the exact time that remained. A day-based duty keeps the days that remained after the day of
        the pause, counted again from the day after the resumption (art. 641: the day of an event is not
        counted), so it still ends at 24:00 local on a working day; with no whole day left it ends at the end
        of the first working day from the resumption. A duty already overdue when paused stays exactly as late.
        """
        remaining = due_at - paused_at
        if unit is DurationUnit.hours or remaining <= timedelta(0):
            return resumed_at.astimezone(UTC) + remaining
        paused_on, last = self.local_date(paused_at), self.last_day(due_at)
        if unit is DurationUnit.working_days:
            days = self.working_days_between(paused_on, last)
        else:
            days = max((last - paused_on).days, 0)
        if days == 0:
            return self.end_of_day(self.next_working_day(self.local_date(resumed_at)))
        return self.due_after(resumed_at, Duration(value=days, unit=unit))
