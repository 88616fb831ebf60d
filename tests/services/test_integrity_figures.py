"""Issue 12 through the services, on both databases: decisions overturned stay visible (point 2), the year's
statistics count the persons followed during the policy's year (point 3), no case is left hanging (point 8),
compliance by region and the exploitation's scope (point 11).

Policy fr (Europe/Paris, statistics threshold 5) unless a test edits a copy of it; the clock starts Monday
1 March 2027 09:00 UTC."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.config import get_settings, load_settings
from app.migrate import downgrade, upgrade
from app.models import Case
from app.security.permissions import Principal
from app.services import cases, closure, compliance, scheduler, statistics
from app.services.cases import NotificationInput
from app.services.context import ServiceContext
from app.services.cross_tables import CrossTable
from app.workflow.policy import POLICY_DIR
from tests.factories import event, principal, refer
from tests.workflow.helpers import edited_copy

DAY = timedelta(days=1)


@pytest.fixture
def lenient_ctx(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[ServiceContext]:
    """fr with no small-cell suppression (threshold 1), so single cases show in the figures."""
    policy = edited_copy(
        POLICY_DIR / "fr.toml",
        tmp_path / "fr-lenient.toml",
        "statistics_suppression_threshold = 5",
        "statistics_suppression_threshold = 1",
    )
    settings = load_settings(database_url=database_url, key_file=tmp_path / "keys" / "nrm.keys", policy=str(policy))
    context = ServiceContext.build(settings, clock)
    yield context
    context.close()


class People:
    def __init__(self, ctx: ServiceContext) -> None:
        self.referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
        self.coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
        self.assessors = [principal(ctx, f"assessor{n}", ["assessor"], "NGO Two", "ngo") for n in (1, 2)]
        self.first = [
            principal(ctx, "p-ngo", ["panel_member"], "NGO Three", "ngo"),
            principal(ctx, "p-police", ["panel_member"], "Police", "police"),
            principal(ctx, "p-social", ["panel_member"], "Social services", "social_services"),
        ]
        self.second = [
            principal(ctx, "r-ngo", ["panel_member"], "NGO Four", "ngo"),
            principal(ctx, "r-labour", ["panel_member"], "Labour inspection", "labour_inspection"),
            principal(ctx, "r-child", ["panel_member"], "Child protection", "child_protection"),
        ]


def _panel(ctx: ServiceContext, who: People, case_id: uuid.UUID, members: list[Principal], vote: str) -> None:
    event(ctx, who.coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in members])
    for member in members:
        event(ctx, member, case_id, "cast_vote", vote=vote, rationale="stated")


def _row(ctx: ServiceContext, case_id: uuid.UUID) -> Case:
    with ctx.read_sessions() as session:
        row = session.scalar(select(Case).where(Case.id == case_id))
        assert row is not None
        session.expunge(row)
        return row


# --- point 2 --------------------------------------------------------------------------------------------


def test_decisions_overturned_on_reconsideration_and_review_stay_apart(
    lenient_ctx: ServiceContext, clock: FrozenClock
) -> None:
    ctx, who = lenient_ctx, People(lenient_ctx)
    start = clock.now()
    case_id = refer(ctx, who.referrer)
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[0].user_id))
    event(ctx, who.assessors[0], case_id, "preliminary_decision", outcome="negative", reasons="no grounds yet")
    clock.set(start + DAY)
    event(ctx, who.referrer, case_id, "request_reconsideration", reasons="new evidence")
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[1].user_id))
    clock.set(start + 2 * DAY)
    event(ctx, who.assessors[1], case_id, "preliminary_decision", outcome="positive", reasons="grounds")
    _panel(ctx, who, case_id, who.first, "not_identify")
    clock.set(start + 40 * DAY)
    event(ctx, who.coordinator, case_id, "formal_decision")
    event(ctx, who.referrer, case_id, "request_review", reasons="new facts")
    _panel(ctx, who, case_id, who.second, "identify")
    clock.set(start + 50 * DAY)
    assert event(ctx, who.coordinator, case_id, "review_decision").state == "identified"

    row = _row(ctx, case_id)
    assert (row.first_preliminary_outcome, row.first_preliminary_decided_at) == ("negative", start)
    assert (row.preliminary_outcome, row.preliminary_decided_at) == ("positive", start + 2 * DAY)
    assert (row.first_formal_outcome, row.first_formal_decided_at) == ("not_identified", start + 40 * DAY)
    assert (row.review_outcome, row.review_decided_at) == ("identified", start + 50 * DAY)
    assert (row.formal_outcome, row.reconsiderations_held) == ("identified", 1)  # the decision that stands

    result = statistics.year_statistics(ctx, 2027)
    tables = {t.dimension: {c.value: c.count for c in t.cells} for t in result.tables}
    assert tables["reconsideration"] == {"overturned": 1, "upheld": 0}
    assert tables["review"] == {"overturned": 1, "upheld": 0}
    assert tables["outcome"]["identified"] == 1
    times = {t.stage: t.median_days for t in result.decision_times}
    # Each stage's first decision: the reconsideration and the review are decisions of their own.
    assert times == {"preliminary": 0.0, "formal": 40.0}


# --- point 3 --------------------------------------------------------------------------------------------


def _cell(table: CrossTable, row: str, column: str) -> tuple[int | None, bool]:
    found = next(c for c in table.cells if (c.row, c.column) == (row, column))
    return found.count, found.suppressed


def test_a_year_counts_the_persons_followed_in_it_with_bounds_in_the_policy_time_zone(
    ctx: ServiceContext, clock: FrozenClock
) -> None:
    """| referred (UTC)        | Paris               | ended      | scope        | 2025 | 2026 | 2027 |
    |-----------------------|---------------------|------------|--------------|------|------|------|
    | 5 on 2025-06-01 09:00 | 2025                | 2025-06-02 | unknown      | yes  | no   | no   |
    | 5 on 2026-06-01 09:00 | 2026                | open       | cross_border | no   | yes  | yes  |
    | 5 on 2026-12-31 23:30 | 2027-01-01 00:30    | open       | internal     | no   | no   | yes  |
    """
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    clock.set(datetime(2025, 6, 1, 9, tzinfo=UTC))
    old = [refer(ctx, referrer) for _ in range(5)]
    clock.set(datetime(2025, 6, 2, 9, tzinfo=UTC))
    for case_id in old:
        event(ctx, coordinator, case_id, "withdraw_consent", request={"how": "orally", "at": clock.now().isoformat()})
    clock.set(datetime(2026, 6, 1, 9, tzinfo=UTC))
    for _ in range(5):
        refer(ctx, referrer, exploitation_scope="cross_border")
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    for _ in range(5):
        refer(ctx, referrer, exploitation_scope="internal")
    clock.set(datetime(2027, 3, 1, 9, tzinfo=UTC))

    def tables(year: int) -> dict[str, dict[str, int | None]]:
        result = statistics.year_statistics(ctx, year)
        return {t.dimension: {c.value: c.count for c in t.cells} for t in result.tables}

    assert tables(2025)["source"] == {"cases": 5, "notifications": 0}
    assert tables(2026)["source"] == {"cases": 5, "notifications": 0}
    in_2027 = tables(2027)
    assert in_2027["source"] == {"cases": 10, "notifications": 0}
    assert in_2027["followed"] == {"referred_in_year": 5, "referred_before": 5}
    assert in_2027["exploitation_scope"] == {"internal": 5, "cross_border": 5, "unknown": 0}


def test_form_by_gender_and_age_band_are_suppressed_across_rows_and_columns(ctx: ServiceContext) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    for _ in range(6):
        refer(ctx, referrer)  # female, 25-34, sexual exploitation
    for gender in ("male", "male"):
        cases.notify(ctx, referrer, NotificationInput(gender, "35-44", "RO", "FR-13", ["forced_labour"]))
    result = statistics.year_statistics(ctx, 2027)
    by_gender, by_age = (
        next(t for t in result.cross_tables if t.column_dimension == d) for d in ("gender", "age_band")
    )
    assert by_gender.total == 8 and by_gender.row_dimension == "exploitation_form"
    # forced labour x male is 2: hidden; so is the cell that would give it back from its row or column.
    assert _cell(by_gender, "forced_labour", "male") == (None, True)
    assert _cell(by_gender, "sexual_exploitation", "female")[1] is True
    assert _cell(by_gender, "sexual_exploitation", "male") == (0, False)
    assert _cell(by_age, "forced_labour", "35-44") == (None, True)
    for table in (by_gender, by_age):
        for line in [*(table.row_totals), *(table.column_totals)]:
            assert line.suppressed or line.count == 0 or (line.count or 0) >= result.threshold
        # No line with a shown total hides exactly one cell.
        for row in {c.row for c in table.cells}:
            hidden = [c for c in table.cells if c.row == row and c.suppressed]
            total = next(t for t in table.row_totals if t.value == row)
            assert total.suppressed or len(hidden) != 1


# --- point 8 --------------------------------------------------------------------------------------------


def test_a_case_that_can_no_longer_move_waits_in_the_list_then_the_worker_closes_it(
    ctx: ServiceContext, clock: FrozenClock
) -> None:
    who = People(ctx)
    start = clock.now()
    case_id = refer(ctx, who.referrer)
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[0].user_id))
    event(ctx, who.assessors[0], case_id, "preliminary_decision", outcome="negative", reasons="no grounds yet")
    event(ctx, who.referrer, case_id, "request_reconsideration", reasons="new evidence")
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[1].user_id))
    clock.set(start + DAY)
    view = event(ctx, who.assessors[1], case_id, "preliminary_decision", outcome="negative", reasons="still none")
    # fr allows one reconsideration: the second negative decision opens no window; the case cannot move.
    assert view.state == "preliminary_negative" and "request_reconsideration" not in view.allowed_events
    waiting = closure.cases_to_close(ctx, who.coordinator)
    assert [(c.case_id, c.decided_at) for c in waiting] == [(case_id, start + DAY)]
    assert waiting[0].closes_automatically_at == start + DAY + timedelta(
        days=ctx.policy.final_negative_closure_days or 0
    )
    assert closure.cases_to_close(ctx, principal(ctx, "other", ["referrer"], "NGO Nine", "ngo")) == []
    clock.set(start + 30 * DAY)
    assert scheduler.close_final_negatives(ctx) == 0  # 29 days after the decision
    clock.set(start + 31 * DAY)
    assert scheduler.close_final_negatives(ctx) == 1
    assert scheduler.close_final_negatives(ctx) == 0  # run twice, changes nothing more
    row = _row(ctx, case_id)
    assert (row.state, row.close_reason) == ("closed", "no_reconsideration")
    assert closure.cases_to_close(ctx, who.coordinator) == []


# --- point 11 -------------------------------------------------------------------------------------------


def test_compliance_by_region(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    refer(ctx, referrer, region="FR-75")
    refer(ctx, referrer, region="FR-57")
    refer(ctx, referrer, region="FR-57")
    clock.set(clock.now() + 20 * DAY)
    rows = {r.group: r for r in compliance.compliance(ctx, start=None, end=None, group_by="region").rows}
    assert sorted(rows) == ["FR-57", "FR-75"]
    assert (rows["FR-57"].total, rows["FR-57"].open_overdue) == (2, 2)
    assert (rows["FR-75"].total, rows["FR-75"].open_overdue) == (1, 1)


def test_stats_export_writes_the_cross_tables(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    for _ in range(5):
        refer(ctx, referrer)
    monkeypatch.setenv("NRM_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("NRM_KEY_FILE", str(ctx.settings.key_file))
    monkeypatch.setenv("NRM_POLICY", "fr")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["stats", "export", "--year", "2027"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    assert "exploitation_form_by_gender,sexual_exploitation|female,5,False" in lines
    assert "exploitation_form_by_age_band,*|25-34,5,False" in lines
    assert "exploitation_scope,unknown,5,False" in lines


def test_the_migration_fills_the_decisions_apart_from_the_history(
    database_url: str, lenient_ctx: ServiceContext, clock: FrozenClock
) -> None:
    """Decisions taken before the columns existed: going down one revision drops them, going up fills them
    again from each decision's history row."""
    ctx, who = lenient_ctx, People(lenient_ctx)
    start = clock.now()
    case_id = refer(ctx, who.referrer)
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[0].user_id))
    event(ctx, who.assessors[0], case_id, "preliminary_decision", outcome="positive", reasons="grounds")
    _panel(ctx, who, case_id, who.first, "not_identify")
    clock.set(start + 40 * DAY)
    event(ctx, who.coordinator, case_id, "formal_decision")
    event(ctx, who.referrer, case_id, "request_review", reasons="new facts")
    _panel(ctx, who, case_id, who.second, "identify")
    clock.set(start + 50 * DAY)
    event(ctx, who.coordinator, case_id, "review_decision")
    ctx.engine.dispose()
    downgrade(database_url, "hardening2_needs_codes")
    upgrade(database_url, "head")
    row = _row(ctx, case_id)
    assert (row.first_preliminary_outcome, row.first_preliminary_decided_at) == ("positive", start)
    assert (row.first_formal_outcome, row.first_formal_decided_at) == ("not_identified", start + 40 * DAY)
    assert (row.review_outcome, row.review_decided_at) == ("identified", start + 50 * DAY)
    assert (row.formal_outcome, row.exploitation_scope, row.reconsiderations_held) == ("identified", "unknown", 0)
