"""Dates, numbers and deadlines in words, in French and in English, on the policy's calendar and a moved clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.clock import FrozenClock
from app.web.formatting import Formats
from app.web.i18n import babel_locale, translations
from app.workflow import load_policy

# Monday 1 March 2027, 10:00 in Paris. Easter Monday 2027 is 29 March; 1 May 2027 is a Saturday.
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CALENDAR = load_policy("fr").calendar


def formats(language: str, now: datetime = NOW) -> Formats:
    return Formats(babel_locale(language), translations(language), FrozenClock(now), CALENDAR)


def end_of(day: date) -> datetime:
    """A day-based deadline falls due at 24:00 local time on its last day."""
    return CALENDAR.end_of_day(day)


def test_dates_and_times_are_in_the_policy_time_zone_and_the_page_language() -> None:
    late_evening = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Paris
    assert formats("fr").date(late_evening) == "2 mars 2027"
    assert formats("en").date(late_evening) == "2 March 2027"
    assert formats("fr").datetime(NOW) == "1 mars 2027, 10:00"
    assert formats("en").datetime(NOW) == "1 March 2027, 10:00"
    assert formats("fr").date(date(2027, 8, 10)) == "10 août 2027"


def test_numbers_follow_the_locale() -> None:
    assert formats("fr").number(12345).replace("\u202f", " ").replace("\xa0", " ") == "12 345"
    assert formats("en").number(12345) == "12,345"
    assert formats("fr").percent(0.875).replace("\u202f", " ").replace("\xa0", " ") == "87,5 %"
    assert formats("en").percent(0.875) == "87.5%"


@pytest.mark.parametrize(
    ("due_at", "french", "english"),
    [
        (end_of(date(2027, 3, 3)), "dans 2 jours ouvrés", "in 2 working days"),
        (end_of(date(2027, 3, 2)), "dans 1 jour ouvré", "in 1 working day"),
        (end_of(date(2027, 3, 8)), "dans 5 jours ouvrés", "in 5 working days"),  # a weekend between
        (end_of(date(2027, 3, 1)), "aujourd’hui", "today"),
        (NOW + timedelta(hours=5), "dans 5 heures", "in 5 hours"),
        (NOW + timedelta(minutes=20), "dans moins d’une heure", "in less than an hour"),
        (NOW - timedelta(hours=2), "en retard de 2 heures", "2 hours overdue"),
        (end_of(date(2027, 2, 26)), "en retard de 3 jours", "3 days overdue"),
        (end_of(date(2027, 2, 28)), "en retard de 1 jour", "1 day overdue"),
    ],
)
def test_deadlines_in_words(due_at: datetime, french: str, english: str) -> None:
    assert formats("fr").deadline_in_words(due_at) == french
    assert formats("en").deadline_in_words(due_at) == english


def test_working_days_skip_public_holidays() -> None:
    thursday_before_easter = datetime(2027, 3, 25, 9, 0, tzinfo=UTC)
    # Good Friday is a working day in most of France, Easter Monday is not: Fri 26, Tue 30 March.
    due = end_of(date(2027, 3, 30))
    assert formats("fr", thursday_before_easter).deadline_in_words(due) == "dans 2 jours ouvrés"
    assert formats("fr", thursday_before_easter).deadline_in_words(due, working_days=False) == "dans 5 jours"


def test_a_period_in_calendar_days_is_told_in_calendar_days() -> None:
    reflection_end = end_of(date(2027, 3, 31))
    assert formats("fr").deadline_in_words(reflection_end, working_days=False) == "dans 30 jours"
    assert formats("en").deadline_in_words(reflection_end, working_days=False) == "in 30 days"


def test_the_phrase_moves_with_the_clock() -> None:
    clock = FrozenClock(NOW)
    fr = Formats(babel_locale("fr"), translations("fr"), clock, CALENDAR)
    due = end_of(date(2027, 3, 3))
    assert fr.deadline_in_words(due) == "dans 2 jours ouvrés"
    clock.advance(timedelta(days=2))
    assert fr.deadline_in_words(due) == "aujourd’hui"
    clock.advance(timedelta(days=4))
    assert fr.deadline_in_words(due) == "en retard de 4 jours"


def test_a_period_is_due_on_its_last_day_and_a_deadline_in_hours_at_its_time() -> None:
    # A period ending at 24:00 on 10 August is said "until 10 August", not 11 August at 00:00.
    reflection_end = end_of(date(2027, 8, 10))
    assert formats("fr").last_day(reflection_end) == "10 août 2027"
    assert formats("fr").due(reflection_end) == "10 août 2027"
    assert formats("en").due(reflection_end) == "10 August 2027"
    two_hours = NOW + timedelta(hours=2)
    assert formats("fr").due(two_hours) == "1 mars 2027, 12:00"
