"""Yearly anonymous statistics: cases and anonymous notifications together, with small-cell suppression.

Each dimension is a one-way table with the year's total. Primary suppression hides every count from 1 to
threshold - 1 (a zero discloses no person). Secondary suppression: a table with exactly one hidden cell would
let it be recomputed as total minus the others, so the next smallest shown cell is hidden too. A total
below the threshold hides its whole table. Decision times are shown only when based on at least
`threshold` cases. docs/auditing.md explains this in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from app.db import read_only
from app.models import Case, Interview, Notification
from app.services.context import ServiceContext
from app.services.entitlements import open_entitlement_counts
from app.services.justice import identified_by_proceedings, persons_by_milestone
from app.services.sql_time import days_between
from app.workflow import AgeBand, ExploitationForm, Gender, Sector

OUTCOME_OF_STATE = {
    "identified": "identified",
    "not_identified": "not_identified",
    "under_review": "under_review",
    "preliminary_negative": "preliminary_negative",
    "withdrawn": "withdrawn",
}


@dataclass(frozen=True)
class Cell:
    value: str
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class Table:
    dimension: str
    total: int | None
    total_suppressed: bool
    cells: list[Cell]


@dataclass(frozen=True)
class DecisionTime:
    stage: str
    cases: int | None
    median_days: float | None
    suppressed: bool


@dataclass(frozen=True)
class InterviewFigure:
    """How often identified persons had to tell their story: interviews recorded per identified person."""

    identified_persons: int | None
    interviews_per_person: float | None
    suppressed: bool


@dataclass(frozen=True)
class YearStatistics:
    """`justice`: for the year's cases, the entitlements held open now, the persons with each milestone of
    justice and redress, and the identified persons with and without criminal proceedings (docs/support.md)."""

    year: int
    threshold: int
    tables: list[Table]
    decision_times: list[DecisionTime]
    interviews: InterviewFigure
    justice: list[Table] = field(default_factory=list)


def suppress(dimension: str, counts: dict[str, int], total: int, threshold: int) -> Table:
    """Apply primary and secondary suppression to a one-way table with its total."""
    if total < threshold:
        return Table(dimension, None, True, [Cell(value, None, True) for value in sorted(counts)])
    hidden = {value for value, count in counts.items() if 0 < count < threshold}
    if len(hidden) == 1:
        shown = sorted((count, value) for value, count in counts.items() if value not in hidden and count > 0)
        if shown:
            hidden.add(shown[0][1])
    cells = [
        Cell(value, None if value in hidden else count, value in hidden) for value, count in sorted(counts.items())
    ]
    return Table(dimension, total, False, cells)


def _counts(session: Session, query: Any) -> dict[str, int]:
    return {str(value): int(count) for value, count in session.execute(query).all()}


def _add(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {key: into.get(key, 0) + more.get(key, 0) for key in {*into, *more}}


def year_statistics(ctx: ServiceContext, year: int) -> YearStatistics:
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    threshold = ctx.policy.statistics_suppression_threshold
    in_year_cases = (Case.created_at >= start, Case.created_at < end)
    in_year_notes = (Notification.created_at >= start, Notification.created_at < end)
    with read_only(ctx.read_sessions) as session:
        case_total = session.scalar(select(func.count()).select_from(Case).where(*in_year_cases)) or 0
        note_total = session.scalar(select(func.count()).select_from(Notification).where(*in_year_notes)) or 0
        total = case_total + note_total

        def by(case_column: Any, note_column: Any, values: list[str]) -> dict[str, int]:
            counts = _counts(session, select(case_column, func.count()).where(*in_year_cases).group_by(case_column))
            if note_column is not None:
                counts = _add(
                    counts,
                    _counts(session, select(note_column, func.count()).where(*in_year_notes).group_by(note_column)),
                )
            return {value: counts.get(value, 0) for value in values} | {
                k: v for k, v in counts.items() if k not in values
            }

        forms = [f.value for f in ExploitationForm]
        # A person may suffer several forms: each form is counted once per person, so cells add up to more
        # than the total. One aggregate query per source, one SUM per form.
        form_counts: dict[str, int] = {}
        for model, conditions in ((Case, in_year_cases), (Notification, in_year_notes)):
            text = cast(model.exploitation_forms, String)
            row = session.execute(
                select(*(func.coalesce(func.sum(case((text.like(f'%"{f}"%'), 1), else_=0)), 0) for f in forms)).where(
                    *conditions
                )
            ).one()
            form_counts = _add(form_counts, dict(zip(forms, (int(v) for v in row), strict=True)))

        outcome_column = case(
            *((Case.state == state, label) for state, label in OUTCOME_OF_STATE.items()),
            (Case.close_reason.is_not(None) & Case.formal_outcome.is_not(None), Case.formal_outcome),
            else_="pending",
        )
        outcomes = _counts(session, select(outcome_column, func.count()).where(*in_year_cases).group_by(outcome_column))
        tables = [
            # Cases and notifications are shown as a table of their own, so the same rule protects them.
            suppress("source", {"cases": case_total, "notifications": note_total}, total, threshold),
            suppress("exploitation_form", form_counts, total, threshold),
            suppress("gender", by(Case.gender, Notification.gender, [g.value for g in Gender]), total, threshold),
            suppress(
                "age_band", by(Case.age_band, Notification.age_band, [a.value for a in AgeBand]), total, threshold
            ),
            suppress("nationality", by(Case.nationality, Notification.nationality, []), total, threshold),
            suppress(
                "referring_sector",
                by(Case.referring_sector, Notification.sector, [s.value for s in Sector]),
                total,
                threshold,
            ),
            suppress("outcome", outcomes, case_total, threshold),
        ]
        interviews = _interviews_per_identified_person(session, in_year_cases, threshold)
        decision_times = [
            _median_days(session, "preliminary", Case.preliminary_decided_at, in_year_cases, threshold),
            _median_days(session, "formal", Case.formal_decided_at, in_year_cases, threshold),
        ]
        justice_tables = _justice_tables(session, ctx, in_year_cases, case_total, threshold)
    return YearStatistics(
        year=year,
        threshold=threshold,
        interviews=interviews,
        tables=tables,
        decision_times=decision_times,
        justice=justice_tables,
    )


def _justice_tables(
    session: Session, ctx: ServiceContext, conditions: Any, case_total: int, threshold: int
) -> list[Table]:
    # A person may hold several entitlements and milestones: those cells add up to more than the total.
    open_now = open_entitlement_counts(session, ctx.policy, conditions)
    split, identified = identified_by_proceedings(session, conditions)
    return [
        suppress("entitlement_open", dict(open_now), case_total, threshold),
        suppress("justice_milestone", persons_by_milestone(session, conditions), case_total, threshold),
        suppress("identified_by_criminal_proceedings", split, identified, threshold),
    ]


def _median_days(session: Session, stage: str, decided_at: Any, conditions: Any, threshold: int) -> DecisionTime:
    days = days_between(Case.created_at, decided_at).label("days")
    ranked = (
        select(
            days,
            func.row_number().over(order_by=days).label("position"),
            func.count().over().label("n"),
        )
        .where(*conditions, decided_at.is_not(None))
        .subquery()
    )
    row = session.execute(select(ranked.c.days, ranked.c.n).where(ranked.c.position == (ranked.c.n + 1) // 2)).first()
    if row is None:
        return DecisionTime(stage, 0, None, False)
    count = int(row.n)
    if count < threshold:
        return DecisionTime(stage, None, None, True)
    return DecisionTime(stage, count, round(float(row.days), 2), False)


def _interviews_per_identified_person(session: Session, conditions: Any, threshold: int) -> InterviewFigure:
    identified = select(Case.id).where(*conditions, Case.formal_outcome == "identified").subquery()
    persons = session.scalar(select(func.count()).select_from(identified)) or 0
    if persons < threshold:
        return InterviewFigure(None, None, persons > 0)
    interviews = (
        session.scalar(
            select(func.count()).select_from(Interview).where(Interview.case_id.in_(select(identified.c.id)))
        )
        or 0
    )
    return InterviewFigure(persons, round(interviews / persons, 2), False)
