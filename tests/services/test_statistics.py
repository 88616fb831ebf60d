"""Yearly statistics: small cells suppressed, and no suppressed cell recomputable from its table's total."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from app.clock import FrozenClock
from app.models import Case, Interview
from app.security.permissions import Principal
from app.services import cases, statistics
from app.services.cases import NotificationInput
from app.services.context import ServiceContext
from app.services.statistics import Table, suppress
from tests.factories import principal, refer


def _notify(ctx: ServiceContext, who: Principal, gender: str) -> None:
    cases.notify(ctx, who, NotificationInput(gender, "25-34", "RO", "FR-13", ["forced_labour"]))


def assert_safe(table: Table, threshold: int) -> None:
    shown = [c.count for c in table.cells if not c.suppressed]
    assert all(count == 0 or count >= threshold for count in shown if count is not None), table
    if table.total is not None:
        hidden = [c for c in table.cells if c.suppressed]
        assert len(hidden) != 1, f"{table.dimension}: one hidden cell is total minus the others"


def test_primary_and_secondary_suppression() -> None:
    table = suppress("gender", {"female": 6, "male": 3, "non_binary": 0, "unknown": 0}, 9, 5)
    cells = {c.value: c for c in table.cells}
    assert cells["male"].suppressed and cells["male"].count is None
    # female would be 9 - 3 - 0 - 0: it is hidden too.
    assert cells["female"].suppressed
    assert cells["non_binary"].count == 0 and not cells["non_binary"].suppressed
    assert_safe(table, 5)


def test_a_small_total_hides_the_whole_table() -> None:
    table = suppress("gender", {"female": 3, "male": 1}, 4, 5)
    assert table.total is None and table.total_suppressed
    assert all(c.suppressed for c in table.cells)


def test_two_small_cells_hide_each_other_without_more() -> None:
    table = suppress("gender", {"female": 6, "male": 3, "non_binary": 1}, 10, 5)
    cells = {c.value: c for c in table.cells}
    assert cells["female"].count == 6
    assert cells["male"].suppressed and cells["non_binary"].suppressed
    assert_safe(table, 5)


def test_year_statistics_combine_cases_and_notifications(ctx: ServiceContext) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    for _ in range(6):
        refer(ctx, referrer)
    for _ in range(3):
        _notify(ctx, referrer, "male")
    result = statistics.year_statistics(ctx, 2027)
    tables = {t.dimension: t for t in result.tables}
    assert tables["gender"].total == 9
    for table in result.tables:
        assert_safe(table, result.threshold)
    source = {c.value: c for c in tables["source"].cells}
    assert source["notifications"].suppressed and source["cases"].suppressed
    forms = {c.value: c for c in tables["exploitation_form"].cells}
    # forced labour (3) is below the threshold; sexual exploitation (6) would be 9 - 3: hidden as well.
    assert forms["forced_labour"].suppressed and forms["sexual_exploitation"].suppressed
    ages = {c.value: c for c in tables["age_band"].cells}
    assert ages["25-34"].count == 9 and not ages["25-34"].suppressed
    assert statistics.year_statistics(ctx, 2026).tables[0].total is None


@pytest.mark.parametrize("counts", [{"a": 7, "b": 2, "c": 9, "d": 0}, {"a": 1, "b": 1, "c": 30}, {"a": 50, "b": 4}])
def test_suppression_is_safe_for_several_tables(counts: dict[str, int]) -> None:
    assert_safe(suppress("x", counts, sum(counts.values()), 5), 5)


def test_interviews_per_identified_person(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    case_ids = [refer(ctx, referrer) for _ in range(5)]
    assert statistics.year_statistics(ctx, 2027).interviews.interviews_per_person is None
    # The formal decision is the workflow's business (tested through the API); here only its record matters.
    with ctx.sessions.begin() as session:
        session.execute(update(Case).where(Case.id.in_(case_ids[:4])).values(formal_outcome="identified"))
        for case_id, count in zip(case_ids, (1, 2, 3, 4, 9), strict=True):
            for _ in range(count):
                session.add(
                    Interview(
                        id=uuid.uuid4(),
                        case_id=case_id,
                        interviewer_organisation_id=referrer.organisation_id,
                        held_at=clock.now(),
                        recorded_by=referrer.user_id,
                        created_at=clock.now(),
                    )
                )
    small = statistics.year_statistics(ctx, 2027).interviews
    assert small.suppressed and small.identified_persons is None  # four identified persons: below five
    with ctx.sessions.begin() as session:
        session.execute(update(Case).where(Case.id == case_ids[4]).values(formal_outcome="identified"))
    figure = statistics.year_statistics(ctx, 2027).interviews
    assert (figure.identified_persons, figure.interviews_per_person, figure.suppressed) == (5, 3.8, False)
