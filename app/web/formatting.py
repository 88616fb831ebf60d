"""Dates, numbers and deadlines in words, in the page's language, through Babel's locale data.

Pages reach these as Jinja filters and globals (see `app/web/rendering.py`): `value|date`, `value|datetime`,
`value|time`, `value|number`, `deadline_in_words(due_at)`. Instants are shown in the policy's time zone; working
days are counted on the policy's calendar (`app/workflow/calendars.py`), with the application clock's "now".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from app.clock import Clock
from app.workflow.calendars import Calendar

_HOUR = timedelta(hours=1)
# Below this, a deadline set in hours is told in hours ("dans 5 heures"); above, in days.
_HOURS_HORIZON = timedelta(hours=48)


@dataclass(frozen=True)
class Formats:
    """The formatting helpers of one language, on the service's clock and calendar."""

    locale: Locale
    translations: Translations
    clock: Clock
    calendar: Calendar

    def _local(self, instant: dt.datetime) -> dt.datetime:
        return instant.astimezone(self.calendar.tz)

    def date(self, value: dt.date | dt.datetime, style: str = "long") -> str:
        """`1 mars 2027` / `1 March 2027`; an instant is first put in the policy's time zone."""
        day = self._local(value).date() if isinstance(value, dt.datetime) else value
        return format_date(day, style, locale=self.locale)

    def last_day(self, due_at: dt.datetime) -> str:
        """The last day of a period that ends at `due_at` (a period due at midnight ends the day before), as
        `date` writes it: "le délai de réflexion court jusqu'au 10 août 2027"."""
        return self.date(self.calendar.last_day(due_at))

    def due(self, due_at: dt.datetime) -> str:
        """When something is due: its last day for a period that ends at midnight ("10 août 2027"), else the day
        and the time ("10 août 2027, 14:00" for a deadline set in hours)."""
        if due_at.astimezone(self.calendar.tz).time() == dt.time(0):
            return self.last_day(due_at)
        return self.datetime(due_at)

    def month(self, value: dt.date) -> str:
        """`janv. 2027` / `Jan 2027`: a month on a chart's axis."""
        return format_date(value, "LLL yyyy", locale=self.locale)

    def time(self, value: dt.datetime) -> str:
        """`09:05`, in the policy's time zone."""
        return format_time(self._local(value), "short", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        """`1 mars 2027, 10:05` / `1 March 2027, 10:05`: the locale's own way of joining a date and a time."""
        pattern = str(self.locale.datetime_formats["long"])
        return pattern.replace("{1}", self.date(value)).replace("{0}", self.time(value))

    def number(self, value: int | float | Decimal) -> str:
        """`12 345` / `12,345`."""
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float | Decimal) -> str:
        """A ratio (0.875) as `87,5 %` / `87.5%`: the locale's pattern, to a tenth of a percent at most."""
        return format_percent(round(float(value), 3), locale=self.locale, decimal_quantization=False)

    def _count(self, message: str, count: int) -> str:
        """A message from `ngettext` with its `%(num)s` filled in the page's number format."""
        return message % {"num": self.number(count)}

    def deadline_in_words(
        self, due_at: dt.datetime, working_days: bool = True, calendar: Calendar | None = None
    ) -> str:
        """How far a due time is from now: "dans 2 jours ouvrés", "aujourd'hui", "dans 5 heures",
        "en retard de 3 jours". Days count on `calendar` (the policy's by default); `working_days=False` counts
        calendar days, for periods the law sets in calendar days (a reflection period)."""
        calendar = calendar or self.calendar
        now = self.clock.now()
        today = calendar.local_date(now)
        last_day = calendar.last_day(due_at)
        at_midnight = due_at.astimezone(calendar.tz).time() == dt.time(0)
        if due_at <= now:
            days_late = (today - last_day).days
            if days_late >= 1:
                return self._count(
                    self.translations.ngettext("%(num)s day overdue", "%(num)s days overdue", days_late), days_late
                )
            hours_late = max(1, math.ceil((now - due_at) / _HOUR))
            return self._count(
                self.translations.ngettext("%(num)s hour overdue", "%(num)s hours overdue", hours_late), hours_late
            )
        remaining = due_at - now
        if not at_midnight and remaining < _HOURS_HORIZON:
            if remaining < _HOUR:
                return self.translations.gettext("in less than an hour")
            hours = math.floor(remaining / _HOUR)
            return self._count(self.translations.ngettext("in %(num)s hour", "in %(num)s hours", hours), hours)
        if last_day <= today:
            return self.translations.gettext("today")
        if working_days:
            count = calendar.working_days_between(today, last_day)
            if count:
                return self._count(
                    self.translations.ngettext("in %(num)s working day", "in %(num)s working days", count), count
                )
        days = (last_day - today).days
        return self._count(self.translations.ngettext("in %(num)s day", "in %(num)s days", days), days)
