"""A case keeps the policy it was referred under (issue 12, point 9) and its region's calendar (point 5),
through the services, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.clock import FrozenClock
from app.config import load_settings
from app.models import Case, PolicyVersion
from app.services import cases
from app.services.case_policy import PolicyVersionReused, recorded_version_problem
from app.services.context import ServiceContext
from app.workflow.policy import POLICY_DIR
from tests.factories import event, principal, refer
from tests.workflow.helpers import edited_copy

PARIS = ZoneInfo("Europe/Paris")
_VERSION_1 = "version = 1 "
_PANEL_IN_10_DAYS = 'adult = { value = 10, unit = "working_days" }'  # the first one is panel_convening's


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


def _due(ctx: ServiceContext, case_id: uuid.UUID, kind: str) -> datetime:
    view = cases.get_case(
        ctx, principal(ctx, f"reader-{uuid.uuid4().hex[:8]}", ["coordinator"], "Sec", "coordination"), case_id
    )
    return next(d.due_at for d in view.deadlines if d.kind.value == kind and d.met_at is None)


def _fr_file(tmp_path: Path, version: int, panel_days: int) -> Path:
    """A copy of the shipped `fr` with its version and the adult panel_convening duration changed."""
    path = edited_copy(
        POLICY_DIR / "fr.toml", tmp_path / f"fr-{version}-{panel_days}.toml", _VERSION_1, f"version = {version} "
    )
    return edited_copy(path, path, _PANEL_IN_10_DAYS, f'adult = {{ value = {panel_days}, unit = "working_days" }}')


@pytest.fixture
def other_context(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[list[ServiceContext]]:
    """Contexts opened on the same database under other policies (as after a change of NRM_POLICY)."""
    opened: list[ServiceContext] = []
    yield opened
    for context in opened:
        context.close()


def _context(ctx: ServiceContext, policy: Path, opened: list[ServiceContext]) -> ServiceContext:
    settings = load_settings(database_url=ctx.settings.database_url, key_file=ctx.settings.key_file, policy=str(policy))
    context = ServiceContext.build(settings, ctx.clock)
    opened.append(context)
    return context


def test_sat_20_dec_2025_plus_5_working_days_in_paris_and_in_metz(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    clock.set(datetime(2025, 12, 20, 10, 0, tzinfo=PARIS))
    paris, metz = refer(ctx, referrer, region="FR-75"), refer(ctx, referrer, region="FR-57")
    # The preliminary decision: 5 working days. Paris: 22, 23, 24, 26, 29 December. Moselle also keeps
    # 26 December: 22, 23, 24, 29, 30.
    assert _due(ctx, paris, "preliminary_decision") == end_of(date(2025, 12, 29))
    assert _due(ctx, metz, "preliminary_decision") == end_of(date(2025, 12, 30))
    # Guadeloupe (FR-971) counts in its own time zone: 24:00 there is 04:00 in Paris.
    guadeloupe = refer(ctx, referrer, region="FR-971")
    due = _due(ctx, guadeloupe, "preliminary_decision")
    assert due == datetime.combine(date(2025, 12, 30), time(0), tzinfo=ZoneInfo("America/Guadeloupe"))


def test_a_case_keeps_its_policy_version_after_nrm_policy_changes(
    ctx: ServiceContext, clock: FrozenClock, tmp_path: Path, other_context: list[ServiceContext]
) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=PARIS))  # a Monday
    under_v1 = refer(ctx, referrer)
    assert cases.get_case(ctx, referrer, under_v1).policy is not None
    assert (
        cases.get_case(ctx, referrer, under_v1).policy.name,
        cases.get_case(ctx, referrer, under_v1).policy.version,
    ) == ("fr", 1)

    # The operator moves to version 2 of `fr`, where a panel sits within 3 working days instead of 10.
    v2 = _context(ctx, _fr_file(tmp_path, 2, 3), other_context)
    under_v2 = refer(v2, referrer)
    view = cases.get_case(v2, referrer, under_v2)
    assert view.policy is not None and view.policy.version == 2
    for case_id in (under_v1, under_v2):
        event(v2, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
        event(v2, assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    # Version 1 still governs the first case: 10 working days from Monday 1 March; the second gets 3.
    assert _due(v2, under_v1, "panel_convening") == end_of(date(2027, 3, 15))
    assert _due(v2, under_v2, "panel_convening") == end_of(date(2027, 3, 4))
    assert cases.get_case(v2, referrer, under_v1).policy.version == 1  # type: ignore[union-attr]

    # Both versions are archived with their values.
    with ctx.sessions() as session:
        rows = session.scalars(select(PolicyVersion).order_by(PolicyVersion.version)).all()
        assert [(r.name, r.version) for r in rows] == [("fr", 1), ("fr", 2)]
        assert session.get(Case, under_v1).policy_version == 1  # type: ignore[union-attr]


def test_an_edited_policy_reusing_its_version_is_refused_and_the_archive_wins(
    ctx: ServiceContext, clock: FrozenClock, tmp_path: Path, other_context: list[ServiceContext]
) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=PARIS))
    case_id = refer(ctx, referrer)
    # The file is edited (panel within 3 working days) but still says version 1.
    edited = _context(ctx, _fr_file(tmp_path, 1, 3), other_context)
    with pytest.raises(PolicyVersionReused, match="version 1"):
        refer(edited, referrer)
    # The case referred under the real version 1 follows the archived values, not the edited file.
    event(edited, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    event(edited, assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    assert _due(edited, case_id, "panel_convening") == end_of(date(2027, 3, 15))
    # `nrm policy validate` refuses the edited file against this database's archive, not the real version 1.
    assert "needs a new version" in (recorded_version_problem(ctx.settings.database_url, edited.policy) or "")
    assert recorded_version_problem(ctx.settings.database_url, ctx.policy) is None
