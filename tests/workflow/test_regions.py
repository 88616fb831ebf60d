"""A calendar per case: the case's region chooses time zone and public holidays through the policy (issue 12,
point 5)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.workflow import Duration, DurationUnit, load_policy
from app.workflow.policy import POLICY_DIR, PolicyError, validate_policy_file
from tests.workflow.helpers import edited_copy

FR = load_policy("fr")
UK = load_policy("uk")
FIVE_WORKING_DAYS = Duration(value=5, unit=DurationUnit.working_days)


def end_of(day: date, zone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    ("region", "last_day"),
    [
        ("FR-75", date(2025, 12, 29)),  # Paris: 22, 23, 24, 26, 29 December
        ("FR-57", date(2025, 12, 30)),  # Metz: 26 December is a holiday too
        ("FR-67", date(2025, 12, 30)),
        ("FR-68", date(2025, 12, 30)),
        ("fr-57 ", date(2025, 12, 30)),  # as typed
        (None, date(2025, 12, 29)),
    ],
)
def test_sat_20_dec_2025_plus_5_working_days(region: str | None, last_day: date) -> None:
    start = datetime(2025, 12, 20, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert FR.for_region(region).calendar.due_after(start, FIVE_WORKING_DAYS) == end_of(last_day, "Europe/Paris")


def test_good_friday_only_in_alsace_moselle() -> None:
    good_friday = date(2025, 4, 18)
    assert FR.for_region("FR-75").calendar.is_working_day(good_friday)
    assert not FR.for_region("FR-68").calendar.is_working_day(good_friday)


@pytest.mark.parametrize(
    ("region", "zone", "holiday"),
    [  # the abolition of slavery, a public holiday on a different day in each (loi n° 83-550)
        ("FR-971", "America/Guadeloupe", date(2025, 5, 27)),
        ("FR-972", "America/Martinique", date(2025, 5, 22)),
        ("FR-973", "America/Cayenne", date(2025, 6, 10)),
        ("FR-974", "Indian/Reunion", date(2024, 12, 20)),
        ("FR-976", "Indian/Mayotte", date(2026, 4, 27)),
    ],
)
def test_overseas_departments_have_their_own_time_zone_and_holidays(region: str, zone: str, holiday: date) -> None:
    calendar = FR.for_region(region).calendar
    assert calendar.time_zone == zone
    assert holiday.weekday() < 5
    assert not calendar.is_working_day(holiday)
    assert FR.calendar.is_working_day(holiday)  # a working day in Paris
    # A day count ends at midnight there, not in Paris.
    start = datetime(2025, 3, 3, 12, 0, tzinfo=ZoneInfo(zone))
    due = calendar.due_after(start, Duration(value=1, unit=DurationUnit.calendar_days))
    assert due == end_of(date(2025, 3, 4), zone)


def test_the_uk_nations_keep_their_bank_holidays() -> None:
    # St Andrew's Day (Monday 1 December 2025) in Scotland; St Patrick's Day (Monday 17 March 2025) in Northern
    # Ireland; the late summer bank holiday (Monday 25 August 2025) in England and Wales, not in Scotland.
    assert not UK.for_region("GB-SCT").calendar.is_working_day(date(2025, 12, 1))
    assert UK.for_region("GB-ENG").calendar.is_working_day(date(2025, 12, 1))
    assert not UK.for_region("GB-NIR").calendar.is_working_day(date(2025, 3, 17))
    assert UK.for_region("GB-WLS").calendar.is_working_day(date(2025, 3, 17))
    assert not UK.for_region("GB-WLS").calendar.is_working_day(date(2025, 8, 25))
    assert UK.for_region("GB-SCT").calendar.is_working_day(date(2025, 8, 25))


def test_a_region_keeps_the_rest_of_the_policy() -> None:
    metz = FR.for_region("FR-57")
    assert metz.deadlines == FR.deadlines and metz.name == FR.name and metz.version == FR.version
    assert FR.for_region("FR-57") is metz  # built once


def test_a_bad_region_code_or_subdivision_is_refused(tmp_path: Path) -> None:
    bad = edited_copy(POLICY_DIR / "fr.toml", tmp_path / "fr.toml", "[regions.FR-57]", "[regions.Moselle]")
    with pytest.raises(PolicyError, match="not ISO 3166-2 region codes: Moselle"):
        validate_policy_file(bad)
    bad = edited_copy(POLICY_DIR / "fr.toml", tmp_path / "fr2.toml", 'subdivision = "971"', 'subdivision = "999"')
    with pytest.raises(PolicyError, match=r"regions\.FR-971: unknown subdivision '999' of FR"):
        validate_policy_file(bad)
