"""Day-based deadlines end at 24:00 local on their last day (issue 12, point 4): at every hour of the clock-change
weekends, and when a duty resumes after a suspension (the days that remained, not the hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.workflow import Calendar, Duration, DurationUnit

PARIS = ZoneInfo("Europe/Paris")
FR = Calendar("Europe/Paris", "FR")
ENGLAND = Calendar("Europe/London", "GB", "ENG")


def end_of(day: date, tz: ZoneInfo = PARIS) -> datetime:
    """24:00 local on `day`, i.e. 00:00 local on the next day, built independently of `Calendar`."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def test_an_event_late_in_the_evening_before_the_spring_change() -> None:
    # Mon 23 March 2026 23:30 + 30 calendar days: the last day is Wed 22 April; it ends at 24:00 that day
    # (22:00 UTC, summer time), not at 00:30 on Thursday 23 April.
    start = datetime(2026, 3, 23, 23, 30, tzinfo=PARIS)
    due = FR.due_after(start, Duration(value=30, unit=DurationUnit.calendar_days))
    assert due == end_of(date(2026, 4, 22)) == datetime(2026, 4, 22, 22, 0, tzinfo=UTC)


def test_a_duty_resumed_after_a_suspension_keeps_its_working_days() -> None:
    # A duty ending at 24:00 on Monday 10 March 2025 is paused on Friday 7 March at 15:00 (one working day,
    # Monday, remained) and resumed on Thursday 13 March at 11:00: it ends at 24:00 on Friday 14 March, not
    # at 20:00 on Sunday 16 March (the hours that remained, added to 11:00).
    due = end_of(date(2025, 3, 10))
    paused = datetime(2025, 3, 7, 15, 0, tzinfo=PARIS)
    resumed = datetime(2025, 3, 13, 11, 0, tzinfo=PARIS)
    new_due = FR.resumed_due_at(due, paused, resumed, DurationUnit.working_days)
    assert new_due == end_of(date(2025, 3, 14))
    assert new_due != resumed + (due - paused)


def test_a_duty_paused_on_its_last_day_ends_on_the_first_working_day_of_its_return() -> None:
    due = end_of(date(2025, 3, 10))
    paused = datetime(2025, 3, 10, 15, 0, tzinfo=PARIS)
    # Back on Saturday 15 March: Monday 17 March is the first working day.
    resumed = datetime(2025, 3, 15, 9, 0, tzinfo=PARIS)
    assert FR.resumed_due_at(due, paused, resumed, DurationUnit.working_days) == end_of(date(2025, 3, 17))
    assert FR.resumed_due_at(due, paused, resumed, DurationUnit.calendar_days) == end_of(date(2025, 3, 17))


def test_calendar_days_resume_with_the_days_left_and_art_642() -> None:
    # Due at 24:00 on Friday 14 March, paused on Tuesday 11 (3 days left: 12, 13, 14), back on Wednesday 19:
    # 20, 21, 22 = Saturday 22 March, which moves to Monday 24 March.
    due = end_of(date(2025, 3, 14))
    paused = datetime(2025, 3, 11, 8, 0, tzinfo=PARIS)
    resumed = datetime(2025, 3, 19, 17, 0, tzinfo=PARIS)
    assert FR.resumed_due_at(due, paused, resumed, DurationUnit.calendar_days) == end_of(date(2025, 3, 24))


def test_hours_and_overdue_duties_keep_the_exact_time() -> None:
    paused = datetime(2025, 3, 7, 15, 0, tzinfo=PARIS)
    resumed = datetime(2025, 3, 13, 11, 0, tzinfo=PARIS)
    in_hours = paused + timedelta(hours=5)
    assert FR.resumed_due_at(in_hours, paused, resumed, DurationUnit.hours) == resumed + timedelta(hours=5)
    overdue = end_of(date(2025, 3, 5))  # two days late when paused: exactly as late after the return
    new_due = FR.resumed_due_at(overdue, paused, resumed, DurationUnit.working_days)
    assert resumed - new_due == paused - overdue


# Every hour (and the half hours, to reach 23:30) of the clock-change weekends of 2026, Friday to Monday.
_SPRING = [date(2026, 3, 27) + timedelta(days=n) for n in range(4)]  # clocks go forward on Sunday 29 March
_AUTUMN = [date(2026, 10, 23) + timedelta(days=n) for n in range(4)]  # clocks go back on Sunday 25 October
_STARTS = [
    datetime.combine(day, time(hour, minute), tzinfo=PARIS)
    for day in _SPRING + _AUTUMN
    for hour in range(24)
    for minute in (0, 30)
]


def _expected_last_day(start: datetime, duration: Duration) -> date:
    """The last day, counted by hand on local dates (art. 641-642), without `Calendar.due_after`."""
    day = start.astimezone(PARIS).date()
    if duration.unit is DurationUnit.calendar_days:
        last = day + timedelta(days=duration.value)
        while not FR.is_working_day(last):
            last += timedelta(days=1)
        return last
    working = [day + timedelta(days=n) for n in range(1, 40) if FR.is_working_day(day + timedelta(days=n))]
    return working[duration.value - 1]


@pytest.mark.parametrize("start", _STARTS, ids=lambda s: s.strftime("%a%d%b-%H%M"))
def test_every_hour_of_the_clock_change_weekends(start: datetime) -> None:
    for duration in (
        Duration(value=1, unit=DurationUnit.calendar_days),
        Duration(value=30, unit=DurationUnit.calendar_days),
        Duration(value=1, unit=DurationUnit.working_days),
        Duration(value=5, unit=DurationUnit.working_days),
    ):
        due = FR.due_after(start, duration)
        assert due == end_of(_expected_last_day(start, duration)), duration
        assert due.astimezone(PARIS).time() == time(0)
    # Hours stay elapsed time, whatever the clock does.
    assert FR.due_after(start, Duration(value=24, unit=DurationUnit.hours)) - start == timedelta(hours=24)


@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    value=st.integers(min_value=0, max_value=60),
    unit=st.sampled_from([DurationUnit.calendar_days, DurationUnit.working_days]),
    calendar=st.sampled_from([FR, ENGLAND, Calendar("America/Cayenne", "FR", "973")]),
)
def test_a_day_count_always_ends_at_local_midnight_of_a_working_day(
    start: datetime, value: int, unit: DurationUnit, calendar: Calendar
) -> None:
    due = calendar.due_after(start, Duration(value=value, unit=unit))
    local = due.astimezone(calendar.tz)
    assert local.time() == time(0)
    last = calendar.last_day(due)
    assert last > calendar.local_date(start) or value == 0
    if unit is DurationUnit.calendar_days or value == 0:
        assert calendar.is_working_day(last) or (unit is DurationUnit.working_days and value == 0)


@given(
    opened=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    value=st.integers(min_value=1, max_value=20),
    pause_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    suspended=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=60)),
)
def test_a_resumed_working_day_duty_ends_at_midnight_of_a_working_day(
    opened: datetime, value: int, pause_after: timedelta, suspended: timedelta
) -> None:
    due = FR.due_after(opened, Duration(value=value, unit=DurationUnit.working_days))
    paused = opened + pause_after
    resumed = paused + suspended
    new_due = FR.resumed_due_at(due, paused, resumed, DurationUnit.working_days)
    if paused >= due:
        assert resumed - new_due == paused - due  # as late as it was
        return
    assert new_due.astimezone(PARIS).time() == time(0)
    last = FR.last_day(new_due)
    assert FR.is_working_day(last)
    # The working days that remained after the day of the pause are all there after the day of the return;
    # with none left, the duty ends with the first working day of the return.
    left = FR.working_days_between(FR.local_date(paused), FR.last_day(due))
    if left > 0:
        assert FR.working_days_between(FR.local_date(resumed), last) == left
    else:
        assert last == FR.next_working_day(FR.local_date(resumed))
