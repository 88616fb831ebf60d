"""A breach stays a breach when the case ends (issue 12, point 1), against a hand-computed timeline on both
databases.

Policy fr; the clock starts Monday 1 March 2027 09:00 UTC (10:00 in Paris). Two unaccompanied children are
referred at once, so each case opens, from the referral:

- child_protection_referral: 24 hours, due Tue 2 Mar 09:00 UTC;
- guardian_appointment: 3 working days, due at the end of Thu 4 Mar in Paris, 23:00 UTC;
- preliminary_decision: 2 working days (a child), due at the end of Wed 3 Mar in Paris, 23:00 UTC.

| case | when              | what happens                                                                         |
|------|-------------------|--------------------------------------------------------------------------------------|
| F    | Mon 1 Mar 09:00   | referred; an assessor is assigned                                                    |
| F    | Tue 2 Mar 09:00   | negative preliminary decision (on time: due Wed 23:00); the 30-day window opens      |
| F    | Fri 2 Apr 09:00   | window lapsed (end of Thu 1 Apr, Paris); closed as no_reconsideration, nothing else  |
| G    | Thu 4 Mar 09:00   | reported missing: child protection is 2 days overdue, the preliminary decision 10 h;  |
|      |                   | the guardian still has 14 h; the police report (2 h) opens                           |
| G    | Thu 4 Mar 10:00   | the police are told (on time)                                                        |
| G    | Thu 11 Mar 09:00  | closed as lost_contact: every duty is cancelled                                      |

Expected, at Fri 2 Apr 09:00, by kind (rate = on time / (on time + late + overdue + cancelled overdue)):

| kind                      | met on time | cancelled | cancelled overdue | rate | breach: days late at cancellation |
|---------------------------|-------------|-----------|-------------------|------|-----------------------------------|
| child_protection_referral | 0           | 2         | 2 (F, G)          | 0    | F: 31, G: 2                       |
| guardian_appointment      | 0           | 2         | 1 (F)             | 0    | F: 28 days 10 h; G: in time     |
| preliminary_decision      | 1 (F)       | 1         | 1 (G)             | 0.5  | G: overdue at the suspension     |
| missing_child_report      | 1 (G)       | 0         | 0                 | 1    | -                                 |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FrozenClock
from app.services import compliance
from app.services.context import ServiceContext
from tests.factories import event, principal, refer

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def closed_children(ctx: ServiceContext, clock: FrozenClock) -> tuple[ServiceContext, dict[str, object]]:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    start = clock.now()
    assert start == datetime(2027, 3, 1, 9, tzinfo=UTC)
    child = {"age_band": "15-17", "consent_given": False, "unaccompanied": True}
    f, g = refer(ctx, referrer, **child), refer(ctx, referrer, **child)
    event(ctx, coordinator, f, "assign_assessor", assessor_id=str(assessor.user_id))
    clock.set(start + DAY)
    event(ctx, assessor, f, "preliminary_decision", outcome="negative", reasons="no reasonable grounds")
    clock.set(start + 3 * DAY)
    event(ctx, coordinator, g, "report_missing")
    clock.set(start + 3 * DAY + HOUR)
    event(ctx, coordinator, g, "police_notified")
    clock.set(start + 10 * DAY)
    event(ctx, coordinator, g, "close", reason="lost_contact")
    clock.set(start + 32 * DAY)
    event(ctx, coordinator, f, "close", reason="no_reconsideration")
    return ctx, {"f": f, "g": g}


def test_duties_overdue_when_the_case_closed_count_as_breaches(
    closed_children: tuple[ServiceContext, dict[str, object]],
) -> None:
    ctx, _ = closed_children
    rows = {row.group: row for row in compliance.compliance(ctx, start=None, end=None, group_by="kind").rows}
    expected = {
        # kind: (met on time, cancelled, cancelled overdue, rate)
        "child_protection_referral": (0, 2, 2, 0.0),
        "guardian_appointment": (0, 2, 1, 0.0),
        "preliminary_decision": (1, 1, 1, 0.5),
        "missing_child_report": (1, 0, 0, 1.0),
    }
    for kind, figures in expected.items():
        row = rows[kind]
        assert (row.met_on_time, row.cancelled, row.cancelled_overdue, row.compliance_rate) == figures, kind
        assert row.open_overdue == row.open_on_time == row.met_late == 0, kind


def test_breach_list_gives_lateness_at_cancellation(
    closed_children: tuple[ServiceContext, dict[str, object]],
) -> None:
    ctx, ids = closed_children
    found = list(compliance.breaches(ctx, kind=None, start=None, end=None))
    by_case_kind = {(b.case_id, b.kind): b for b in found}
    assert len(found) == 4
    assert {b.status for b in found} == {"cancelled_overdue"}
    protection_f = by_case_kind[(ids["f"], "child_protection_referral")]
    assert protection_f.days_late == pytest.approx(31.0, abs=1e-3)
    assert protection_f.cancelled_at == datetime(2027, 4, 2, 9, tzinfo=UTC)
    assert by_case_kind[(ids["g"], "child_protection_referral")].days_late == pytest.approx(2.0, abs=1e-3)
    assert by_case_kind[(ids["f"], "guardian_appointment")].days_late == pytest.approx(28 + 10 / 24, abs=1e-3)
    assert (ids["g"], "guardian_appointment") not in by_case_kind  # cancelled with 14 hours still to run
    assert by_case_kind[(ids["g"], "preliminary_decision")].days_late > 0


def test_a_duty_cancelled_before_its_due_time_stays_out_of_the_rate(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    case_id = refer(ctx, referrer)
    clock.set(clock.now() + HOUR)
    event(
        ctx,
        coordinator,
        case_id,
        "withdraw_consent",
        request={"how": "in_writing", "at": (clock.now() - HOUR / 2).isoformat()},
    )
    clock.set(clock.now() + 30 * DAY)
    row = {r.group: r for r in compliance.compliance(ctx, start=None, end=None, group_by="kind").rows}[
        "preliminary_decision"
    ]
    assert (row.cancelled, row.cancelled_overdue, row.compliance_rate) == (1, 0, None)
    assert list(compliance.breaches(ctx, kind=None, start=None, end=None)) == []
