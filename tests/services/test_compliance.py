"""Compliance figures against a hand-computed timeline, on both databases.

Policy fr; the clock starts Monday 1 March 2027 09:00 UTC, so a referral's preliminary decision (5 working
days) falls due at the end of Monday 8 March, Paris time: 2027-03-08 23:00 UTC.

| case | what happens                                   | preliminary_decision deadline           |
|------|------------------------------------------------|-----------------------------------------|
| A    | positive decision after 1 day                  | met on time, 1 day to meet              |
| B    | positive decision after 10 days                | met late by 2 days 10 hours             |
| C    | nothing                                        | open and overdue at day 20              |
| D    | reported missing after 1 day, still missing    | open on time, paused 19 days            |
| E    | consent withdrawn after 1 day                  | cancelled                               |
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.services import compliance
from app.services.context import ServiceContext
from tests.factories import event, principal, refer

DAY = timedelta(days=1)


@pytest.fixture
def timeline(ctx: ServiceContext, clock: FrozenClock) -> ServiceContext:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    start = clock.now()
    a, b, c, d, e = (refer(ctx, referrer) for _ in range(5))
    for case_id in (a, b):
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    clock.set(start + DAY)
    event(ctx, assessor, a, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    event(ctx, coordinator, d, "report_missing")
    event(
        ctx,
        coordinator,
        e,
        "withdraw_consent",
        note="the person's own wish",
        request={"how": "in_writing", "at": start.isoformat()},
    )
    clock.set(start + 10 * DAY)
    event(ctx, assessor, b, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    clock.set(start + 20 * DAY)
    del c
    return ctx


def test_preliminary_decision_figures_match_the_hand_computed_timeline(timeline: ServiceContext) -> None:
    report = compliance.compliance(timeline, start=None, end=None, group_by="kind")
    rows = {row.group: row for row in report.rows}
    row = rows["preliminary_decision"]
    assert (row.total, row.met_on_time, row.met_late, row.open_overdue, row.open_on_time) == (5, 1, 1, 1, 1)
    assert (row.paused, row.cancelled) == (1, 1)
    assert row.compliance_rate == pytest.approx(1 / 3, abs=1e-4)
    assert row.median_days_to_meet == pytest.approx(1.0, abs=1e-3)
    assert row.p90_days_to_meet == pytest.approx(10.0, abs=1e-3)
    assert row.paused_days == pytest.approx(19.0, abs=1e-3)
    assert report.reflection_periods_cut_short == 0
    # Rights of the person are never "late": they are not in the compliance rows.
    assert "reflection_period" not in rows


def test_breaches_list_how_late(timeline: ServiceContext) -> None:
    found = list(compliance.breaches(timeline, kind="preliminary_decision", start=None, end=None))
    by_status = {b.status: b for b in found}
    assert len(found) == 2
    assert by_status["met_late"].days_late == pytest.approx(2 + 10 / 24, abs=1e-3)
    assert by_status["overdue"].days_late == pytest.approx(12 + 10 / 24, abs=1e-3)


def test_grouping_by_organisation_and_sector_counts_every_duty(timeline: ServiceContext) -> None:
    by_kind = compliance.compliance(timeline, start=None, end=None, group_by="kind")
    by_sector = compliance.compliance(timeline, start=None, end=None, group_by="sector")
    by_organisation = compliance.compliance(timeline, start=None, end=None, group_by="organisation")
    total = sum(row.total for row in by_kind.rows)
    assert [row.group for row in by_sector.rows] == ["ngo"]
    assert by_sector.rows[0].total == total
    assert len(by_organisation.rows) == 1 and by_organisation.rows[0].total == total


def test_period_filter_keeps_deadlines_opened_in_it(timeline: ServiceContext, clock: FrozenClock) -> None:
    later = compliance.compliance(timeline, start=clock.now(), end=None, group_by="kind")
    assert later.rows == []
