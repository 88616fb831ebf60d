"""Yearly anonymous statistics: cases and anonymous notifications together, with small-cell suppression.

The year is the policy's: from 1 January 00:00 to the next 1 January 00:00 in the policy's time zone. Its
cases are the persons followed during it: a case referred before its end and not ended before its start
(open at any moment of the year), not only those referred in it (issue 12, point 3); its notifications are
those filed in it (a notification follows nobody).

Each dimension is a one-way table with its total, suppressed by `app/services/suppression.suppress` (primary
and secondary suppression); form of exploitation by gender and by age band are two-way tables suppressed
across rows and columns by `app/services/cross_tables.suppress_cross`. Decision times are shown only when
based on at least `threshold` cases. docs/auditing.md explains this in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from app.db import read_only
from app.models import Case, Interview, Notification
from app.services.context import ServiceContext
from app.services.cross_tables import CrossTable, suppress_cross
from app.services.entitlements import open_entitlement_counts
from app.services.justice import identified_by_proceedings, persons_by_milestone
from app.services.sql_time import days_between
from app.services.suppression import Cell, Table, suppress
from app.workflow import AgeBand, ExploitationForm, ExploitationScope, Gender, PreliminaryOutcome, Sector

__all__ = ["Cell", "Table", "YearStatistics", "suppress", "year_statistics"]

OUTCOME_OF_STATE = {
    "identified": "identified",
    "not_identified": "not_identified",
    "under_review": "under_review",
    "preliminary_negative": "preliminary_negative",
    "withdrawn": "withdrawn",
}


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
    justice and redress, and the identified persons with and without criminal proceedings (docs/support.md).
    `cross_tables`: persons by form of exploitation and gender, and by form and age band (a person suffering
    several forms counts under each)."""

    year: int
    threshold: int
    tables: list[Table]
    decision_times: list[DecisionTime]
    interviews: InterviewFigure
    justice: list[Table] = field(default_factory=list)
    cross_tables: list[CrossTable] = field(default_factory=list)


def _counts(session: Session, query: Any) -> dict[str, int]:
    return {str(value): int(count) for value, count in session.execute(query).all()}


def _add(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {key: into.get(key, 0) + more.get(key, 0) for key in {*into, *more}}


def year_bounds(ctx: ServiceContext, year: int) -> tuple[datetime, datetime]:
    """1 January 00:00 of `year` and of the next year, in the policy's time zone."""
    zone = ZoneInfo(ctx.policy.time_zone)
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


def followed_during(start: datetime, end: datetime) -> tuple[Any, ...]:
    """The cases open at some moment of [start, end): referred before its end, not ended before its start."""
    return (Case.created_at < end, or_(Case.ended_at.is_(None), Case.ended_at >= start))


def year_statistics(ctx: ServiceContext, year: int) -> YearStatistics:
    start, end = year_bounds(ctx, year)
    threshold = ctx.policy.statistics_suppression_threshold
    in_year_cases = followed_during(start, end)
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
        for (_, _), row in _forms_by(session, forms, in_year_cases, in_year_notes, None, None).items():
            form_counts = _add(form_counts, row)

        outcome_column = case(
            *((Case.state == state, label) for state, label in OUTCOME_OF_STATE.items()),
            (Case.close_reason.is_not(None) & Case.formal_outcome.is_not(None), Case.formal_outcome),
            else_="pending",
        )
        outcomes = _counts(session, select(outcome_column, func.count()).where(*in_year_cases).group_by(outcome_column))
        referred_in_year = (
            session.scalar(select(func.count()).select_from(Case).where(*in_year_cases, Case.created_at >= start)) or 0
        )
        tables = [
            # Cases and notifications are shown as a table of their own, so the same rule protects them.
            suppress("source", {"cases": case_total, "notifications": note_total}, total, threshold),
            suppress(
                "followed",
                {"referred_in_year": referred_in_year, "referred_before": case_total - referred_in_year},
                case_total,
                threshold,
            ),
            suppress("exploitation_form", form_counts, total, threshold),
            suppress(
                "exploitation_scope",
                by(Case.exploitation_scope, None, [s.value for s in ExploitationScope]),
                case_total,
                threshold,
            ),
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
            *_overturned_tables(session, in_year_cases, threshold),
        ]
        interviews = _interviews_per_identified_person(session, in_year_cases, threshold)
        decision_times = [
            # The first decision of each stage: a reconsideration or a review is a decision of its own.
            _median_days(session, "preliminary", Case.first_preliminary_decided_at, in_year_cases, threshold),
            _median_days(session, "formal", Case.first_formal_decided_at, in_year_cases, threshold),
        ]
        justice_tables = _justice_tables(session, ctx, in_year_cases, case_total, threshold)
        cross = [
            _form_cross_table(session, forms, dimension, values, in_year_cases, in_year_notes, threshold)
            for dimension, values in (
                ("gender", [g.value for g in Gender]),
                ("age_band", [a.value for a in AgeBand]),
            )
        ]
    return YearStatistics(
        year=year,
        threshold=threshold,
        interviews=interviews,
        tables=tables,
        decision_times=decision_times,
        justice=justice_tables,
        cross_tables=cross,
    )


def _forms_by(
    session: Session,
    forms: list[str],
    case_conditions: Any,
    note_conditions: Any,
    case_column: Any,
    note_column: Any,
) -> dict[tuple[str, str], dict[str, int]]:
    """Persons by form, per (source, value of the column): one aggregate query per source, one SUM per form.
    Without a column, one row per source."""
    result: dict[tuple[str, str], dict[str, int]] = {}
    for source, model, column, conditions in (
        ("cases", Case, case_column, case_conditions),
        ("notifications", Notification, note_column, note_conditions),
    ):
        text = cast(model.exploitation_forms, String)
        sums = [func.coalesce(func.sum(case((text.like(f'%"{f}"%'), 1), else_=0)), 0) for f in forms]
        if column is None:
            rows = [("", *session.execute(select(*sums).where(*conditions)).one())]
        else:
            rows = [tuple(r) for r in session.execute(select(column, *sums).where(*conditions).group_by(column))]
        for value, *counts in rows:
            result[(source, str(value))] = dict(zip(forms, (int(c) for c in counts), strict=True))
    return result


def _form_cross_table(
    session: Session,
    forms: list[str],
    dimension: str,
    values: list[str],
    case_conditions: Any,
    note_conditions: Any,
    threshold: int,
) -> CrossTable:
    """Persons (cases and notifications) by form of exploitation and `dimension`, suppressed across rows and
    columns."""
    counts: dict[tuple[str, str], int] = {}
    found = _forms_by(
        session, forms, case_conditions, note_conditions, getattr(Case, dimension), getattr(Notification, dimension)
    )
    for (_, value), by_form in found.items():
        for form, count in by_form.items():
            counts[(form, value)] = counts.get((form, value), 0) + count
    columns = values + sorted({value for _, value in counts} - set(values))
    return suppress_cross("persons", ("exploitation_form", dimension), forms, columns, counts, threshold)


def _overturned_tables(session: Session, conditions: Any, threshold: int) -> list[Table]:
    """Decisions upheld and overturned: the reconsidered preliminary decision against the first, the review
    decision against the first formal decision (issue 12, point 2)."""
    reconsidered = and_(
        Case.first_preliminary_decided_at.is_not(None),
        Case.preliminary_decided_at > Case.first_preliminary_decided_at,
    )
    reviewed = Case.review_outcome.is_not(None)
    tables = []
    for dimension, decided, overturned in (
        (
            "reconsideration",
            reconsidered,
            and_(reconsidered, Case.preliminary_outcome == PreliminaryOutcome.positive.value),
        ),
        ("review", reviewed, and_(reviewed, Case.review_outcome != Case.first_formal_outcome)),
    ):
        row = session.execute(
            select(
                func.coalesce(func.sum(case((decided, 1), else_=0)), 0),
                func.coalesce(func.sum(case((overturned, 1), else_=0)), 0),
            ).where(*conditions)
        ).one()
        held, changed = int(row[0]), int(row[1])
        tables.append(suppress(dimension, {"upheld": held - changed, "overturned": changed}, held, threshold))
    return tables


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
