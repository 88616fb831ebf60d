"""Deadlines on known dates: weekends, public holidays, Alsace-Moselle, daylight saving, England; statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.workflow import (
    AgeBand,
    Calendar,
    DeadlineKind,
    DeadlineSnapshot,
    DeadlineStatus,
    Duration,
    DurationUnit,
    EventName,
    EventRequest,
    OpenDeadline,
    PauseDeadline,
    PreliminaryOutcome,
    Referral,
    ResumeDeadline,
    Sector,
    State,
    deadline_status,
    load_policy,
)
from tests.workflow.helpers import COORDINATOR, Harness, assessor, assessor_actor

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
FR = Calendar("Europe/Paris", "FR")
MOSELLE = Calendar("Europe/Paris", "FR", "57")
ENGLAND = Calendar("Europe/London", "GB", "ENG")


def wd(n: int) -> Duration:
    return Duration(value=n, unit=DurationUnit.working_days)


def cd(n: int) -> Duration:
    return Duration(value=n, unit=DurationUnit.calendar_days)


def hours(n: int) -> Duration:
    return Duration(value=n, unit=DurationUnit.hours)


def paris(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=PARIS)


def end_of(day: date, tz: ZoneInfo = PARIS) -> datetime:
    """24:00 local on `day`."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def test_working_days_skip_the_weekend() -> None:
    # Friday 7 March 2025 + 2 working days: Monday 10, Tuesday 11; ends at 24:00 on Tuesday.
    assert FR.due_after(paris(2025, 3, 7), wd(2)) == end_of(date(2025, 3, 11))


def test_the_day_of_the_event_is_not_counted() -> None:
    # An event at 00:01 on Monday still counts from Tuesday.
    assert FR.due_after(paris(2025, 3, 3, 0, 1), wd(1)) == end_of(date(2025, 3, 4))
    assert FR.due_after(paris(2025, 3, 3, 23, 59), cd(1)) == end_of(date(2025, 3, 4))


def test_a_calendar_period_ending_on_a_saturday_moves_to_monday() -> None:
    # Wednesday 5 March + 3 calendar days = Saturday 8 March -> Monday 10 March (CPC art. 642).
    assert FR.due_after(paris(2025, 3, 5), cd(3)) == end_of(date(2025, 3, 10))


def test_14_july_is_not_a_working_day() -> None:
    # Friday 11 July 2025 + 1 working day: Monday 14 July is the national day -> Tuesday 15.
    assert FR.due_after(paris(2025, 7, 11), wd(1)) == end_of(date(2025, 7, 15))
    # A calendar period ending on 14 July moves to the 15th.
    assert FR.due_after(paris(2025, 7, 13), cd(1)) == end_of(date(2025, 7, 15))


def test_easter_monday_and_good_friday_in_moselle() -> None:
    # Thursday 17 April 2025 + 2 working days. Metropolitan France: Friday 18, (Easter Monday 21 off), Tuesday 22.
    assert FR.due_after(paris(2025, 4, 17), wd(2)) == end_of(date(2025, 4, 22))
    # Moselle also keeps Good Friday: Tuesday 22, Wednesday 23.
    assert MOSELLE.due_after(paris(2025, 4, 17), wd(2)) == end_of(date(2025, 4, 23))


def test_26_december_in_moselle() -> None:
    # Wednesday 24 December 2025 + 1 working day: 25 is Christmas; 26 works in Paris, not in Moselle.
    assert FR.due_after(paris(2025, 12, 24), wd(1)) == end_of(date(2025, 12, 26))
    assert MOSELLE.due_after(paris(2025, 12, 24), wd(1)) == end_of(date(2025, 12, 29))
    assert not MOSELLE.is_working_day(date(2025, 12, 26))
    assert FR.is_working_day(date(2025, 12, 26))


def test_spring_daylight_saving_night() -> None:
    # Night of 29-30 March 2025: clocks go from 02:00 to 03:00 in Paris. Day counts end at local midnight.
    assert FR.end_of_day(date(2025, 3, 29)) == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)  # CET
    assert FR.end_of_day(date(2025, 3, 30)) == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)  # CEST
    # Friday 28 March + 1 working day ends at 24:00 CEST on Monday 31 March.
    assert FR.due_after(paris(2025, 3, 28), wd(1)) == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)
    # Hours are elapsed time: 24 hours from Saturday noon is Sunday 13:00 local (the night lost an hour).
    due = FR.due_after(paris(2025, 3, 29, 12), hours(24))
    assert due - paris(2025, 3, 29, 12) == timedelta(hours=24)
    assert due.astimezone(PARIS).hour == 13


def test_autumn_daylight_saving_night() -> None:
    # Night of 25-26 October 2025: 03:00 CEST becomes 02:00 CET; Sunday 26 lasts 25 hours.
    assert FR.end_of_day(date(2025, 10, 26)) - FR.end_of_day(date(2025, 10, 25)) == timedelta(hours=25)
    # A child reported missing at 01:30 CEST: 2 hours later is 02:30 CET, the second 02:30 of the night.
    start = datetime(2025, 10, 26, 1, 30, tzinfo=PARIS)
    due = FR.due_after(start, hours(2))
    assert due == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert due.astimezone(PARIS).fold == 1


def test_england_august_bank_holiday_under_uk() -> None:
    policy = load_policy("uk")
    # Referral on Friday 22 August 2025: the RG decision is due in 5 working days; Monday 25 is the
    # late summer bank holiday in England, so the fifth working day is Monday 1 September.
    friday = datetime(2025, 8, 22, 11, 0, tzinfo=LONDON)
    harness = Harness(policy)
    decision = harness.refer(Referral(age_band=AgeBand.band_25_34, consent_given=True), friday)
    opened = [e for e in decision.effects if isinstance(e, OpenDeadline)]  # type: ignore[union-attr]
    assert [e.kind for e in opened] == [DeadlineKind.preliminary_decision]
    assert opened[0].due_at == end_of(date(2025, 9, 1), LONDON)
    assert not ENGLAND.is_working_day(date(2025, 8, 25))


def test_uk_reasonable_grounds_5_working_days_and_recovery_30_days() -> None:
    policy = load_policy("uk")
    assert policy.duration(DeadlineKind.preliminary_decision, False) == wd(5)
    assert policy.duration(DeadlineKind.preliminary_decision, True) == wd(5)
    assert policy.reflection_period == cd(30)
    harness = Harness(policy)
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=LONDON)
    harness.refer(Referral(age_band=AgeBand.band_18_24, consent_given=True), monday)
    assert harness.case is not None
    assert harness.case.deadlines[0].due_at == end_of(date(2025, 3, 10), LONDON)
    sca = assessor(1, sector=Sector.coordination)
    harness.ok(COORDINATOR, EventRequest(EventName.assign_assessor, assessor=sca), monday)
    rg = monday + timedelta(days=2)
    request = EventRequest(EventName.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="rg")
    decision = harness.ok(assessor_actor(sca), request, rg)
    assert decision.new_state is State.recovery_period
    reflection = next(
        e for e in decision.effects if isinstance(e, OpenDeadline) and e.kind is DeadlineKind.reflection_period
    )
    # Wednesday 5 March + 30 days = Friday 4 April, ending at 24:00 London time.
    assert reflection.due_at == end_of(date(2025, 4, 4), LONDON)


T = datetime(2025, 5, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("deadline", "now", "expected"),
    [
        (DeadlineSnapshot(DeadlineKind.shelter_offer, T, T + timedelta(hours=24)), T, DeadlineStatus.open),
        (
            DeadlineSnapshot(DeadlineKind.shelter_offer, T, T + timedelta(hours=24)),
            T + timedelta(hours=25),
            DeadlineStatus.overdue,
        ),
        (
            DeadlineSnapshot(DeadlineKind.shelter_offer, T, T + timedelta(hours=24), met_at=T + timedelta(hours=1)),
            T + timedelta(days=9),
            DeadlineStatus.met,
        ),
        (
            DeadlineSnapshot(DeadlineKind.shelter_offer, T, T + timedelta(hours=24), met_at=T + timedelta(hours=30)),
            T + timedelta(days=9),
            DeadlineStatus.met_late,
        ),
        (
            DeadlineSnapshot(
                DeadlineKind.shelter_offer,
                T,
                T + timedelta(hours=24),
                paused_at=T,
                remaining=timedelta(hours=24),
            ),
            T + timedelta(days=9),
            DeadlineStatus.paused,
        ),
        (
            DeadlineSnapshot(DeadlineKind.shelter_offer, T, T + timedelta(hours=24), cancelled_at=T),
            T,
            DeadlineStatus.cancelled,
        ),
        (
            DeadlineSnapshot(DeadlineKind.reflection_period, T, T + timedelta(days=30)),
            T + timedelta(days=29),
            DeadlineStatus.open,
        ),
        (
            DeadlineSnapshot(DeadlineKind.reflection_period, T, T + timedelta(days=30)),
            T + timedelta(days=30),
            DeadlineStatus.met,
        ),
    ],
)
def test_deadline_status(deadline: DeadlineSnapshot, now: datetime, expected: DeadlineStatus) -> None:
    assert deadline_status(deadline, now) is expected


def test_suspension_pauses_duties_and_not_rights() -> None:
    policy = load_policy("fr")
    harness = Harness(policy)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    harness.refer(Referral(age_band=AgeBand.band_25_34, consent_given=True, shelter_needed=True), start)
    a = assessor()
    harness.ok(COORDINATOR, EventRequest(EventName.assign_assessor, assessor=a), start)
    request = EventRequest(EventName.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="rg")
    harness.ok(assessor_actor(a), request, start + timedelta(hours=2))
    assert harness.case is not None
    before = {d.kind: d for d in harness.case.deadlines if not d.is_closed}
    missing_at = start + timedelta(hours=5)
    decision = harness.ok(COORDINATOR, EventRequest(EventName.report_missing), missing_at)
    paused = {e.kind for e in decision.effects if isinstance(e, PauseDeadline)}
    # `fr` shelters an adult with nowhere safe to stay from the referral: that duty, still open, pauses too.
    assert paused == {DeadlineKind.panel_convening, DeadlineKind.shelter_offer, DeadlineKind.emergency_shelter}
    assert DeadlineKind.reflection_period not in paused
    found_at = missing_at + timedelta(days=10, hours=3)
    decision = harness.ok(COORDINATOR, EventRequest(EventName.report_found), found_at)
    assert decision.new_state is State.recovery_period
    resumed = {e.kind: e for e in decision.effects if isinstance(e, ResumeDeadline)}
    for kind in (DeadlineKind.shelter_offer, DeadlineKind.emergency_shelter):
        # A duty in hours gets the exact suspended time back: nothing of it counts against the duty.
        assert resumed[kind].new_due_at == before[kind].due_at + (found_at - missing_at)
    # A duty in working days keeps the days that remained (10, all after Monday 3 March), counted again from
    # the day after the return (Thursday 13 March): it ends at 24:00 on Thursday 27 March, not at 18:00.
    assert resumed[DeadlineKind.panel_convening].new_due_at == end_of(date(2025, 3, 27))
    reflection = next(d for d in harness.case.deadlines if d.kind is DeadlineKind.reflection_period)
    assert reflection.due_at == before[DeadlineKind.reflection_period].due_at
    # The shelter duty was overdue while the case was suspended? No: its status was `paused`.
    shelter = next(d for d in harness.case.deadlines if d.kind is DeadlineKind.shelter_offer)
    assert deadline_status(shelter, found_at) is DeadlineStatus.open


def test_an_overdue_duty_stays_exactly_as_late_after_suspension() -> None:
    policy = load_policy("fr")
    harness = Harness(policy)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    harness.refer(Referral(age_band=AgeBand.band_25_34, consent_given=True), start)
    late = start + timedelta(days=20)
    harness.ok(COORDINATOR, EventRequest(EventName.report_missing), late)
    harness.ok(COORDINATOR, EventRequest(EventName.report_found), late + timedelta(days=7))
    assert harness.case is not None
    deadline = harness.case.deadlines[0]
    assert deadline.due_at == end_of(date(2025, 3, 10)) + timedelta(days=7)
    assert deadline_status(deadline, late + timedelta(days=7)) is DeadlineStatus.overdue
