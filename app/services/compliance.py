"""Deadline compliance for auditors: totals, rates, percentiles, breaches — aggregated by the database.

Definitions (docs/auditing.md explains them in plain words):
- only duties count (someone had to act); rights of the person (reflection period, windows) are never
  late, and the report counts instead the reflection periods cut short;
- a deadline belongs to the period in which it was opened, and to the referring organisation and sector;
- met on time: met at or before its due time; met late: met after it; open and overdue: not met, not
  cancelled, not paused, past due now; open on time: the rest of the open ones (paused ones included);
- cancelled (the case ended, or the duty stopped applying): counted apart; one cancelled before its due time
  is left out of the rate, one cancelled after it (`cancelled_overdue`) stays a breach, late by its time at
  cancellation: closing a case never hides an unmet duty (issue 12, point 1). A paused duty is resumed before
  it is cancelled (`app/workflow/steps.close_deadline`), so its due time already counts the pause out;
- compliance rate = met on time / (met on time + met late + open and overdue + cancelled overdue);
- days to meet = from opening to meeting, minus the time the clock was paused; median and 90th percentile
  by nearest rank, computed identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.expression import ColumnElement

from app.db import read_only
from app.models import Case, Deadline
from app.models.base import UTCDateTime
from app.services.context import ServiceContext
from app.services.sql_time import days_between
from app.services.support import service_deadline_kind
from app.workflow import DeadlineKind, NeedKind

GroupBy = Literal["kind", "organisation", "sector", "region"]
BREACH_PAGE = 2_000


@dataclass(frozen=True)
class ComplianceRow:
    group: str
    total: int
    met_on_time: int
    met_late: int
    open_overdue: int
    open_on_time: int
    paused: int
    cancelled: int
    cancelled_overdue: int
    paused_days: float
    compliance_rate: float | None
    median_days_to_meet: float | None
    p90_days_to_meet: float | None


def _decided(row: Any) -> int:
    """The duties whose outcome counts in the rate: met (on time or late), overdue, or cancelled once overdue."""
    return int(row.met_on_time + row.met_late + row.open_overdue + row.cancelled_overdue)


def _rate(met_on_time: int, decided: int) -> float | None:
    return round(met_on_time / decided, 4) if decided else None


@dataclass(frozen=True)
class ComplianceReport:
    rows: list[ComplianceRow]
    reflection_periods_cut_short: int
    generated_at: datetime

    @property
    def compliance_rate(self) -> float | None:
        """The rate over every row, by the rule each row's rate follows."""
        return _rate(sum(r.met_on_time for r in self.rows), sum(_decided(r) for r in self.rows))


def _group_column(group_by: GroupBy) -> QueryableAttribute[Any]:
    if group_by == "kind":
        return Deadline.kind
    if group_by == "organisation":
        return Case.referring_organisation_id
    if group_by == "region":
        return Case.region
    return Case.referring_sector


def _deadlines_for(group_by: GroupBy) -> Any:
    """Deadlines, joined to their cases only when the grouping needs the case (organisation, sector, region)."""
    if group_by == "kind":
        return Deadline.__table__
    return Deadline.__table__.join(Case.__table__, Case.id == Deadline.case_id)


def _period(query: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        query = query.where(Deadline.opened_at >= start)
    if end is not None:
        query = query.where(Deadline.opened_at < end)
    return query


def _now(now: datetime) -> ColumnElement[datetime]:
    return literal(now, UTCDateTime())


def _cancelled_overdue() -> ColumnElement[bool]:
    """A duty the end of its case (or of its purpose) cancelled once it was already overdue: a breach."""
    return and_(Deadline.met_at.is_(None), Deadline.cancelled_at.is_not(None), Deadline.cancelled_at > Deadline.due_at)


def compliance(
    ctx: ServiceContext, *, start: datetime | None, end: datetime | None, group_by: GroupBy
) -> ComplianceReport:
    now = ctx.clock.now()
    group = _group_column(group_by).label("grp")
    is_open = and_(Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
    met_on_time = and_(Deadline.met_at.is_not(None), Deadline.met_at <= Deadline.due_at)
    met_late = and_(Deadline.met_at.is_not(None), Deadline.met_at > Deadline.due_at)
    overdue = and_(is_open, Deadline.paused_at.is_(None), Deadline.due_at < _now(now))
    cancelled_overdue = _cancelled_overdue()
    paused_days = Deadline.paused_seconds / 86400.0 + case(
        (and_(is_open, Deadline.paused_at.is_not(None)), days_between(Deadline.paused_at, _now(now))), else_=0.0
    )

    def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    totals_query = _period(
        select(
            group,
            func.count().label("total"),
            count_if(met_on_time).label("met_on_time"),
            count_if(met_late).label("met_late"),
            count_if(overdue).label("open_overdue"),
            count_if(and_(is_open, ~overdue)).label("open_on_time"),
            count_if(and_(is_open, Deadline.paused_at.is_not(None))).label("paused"),
            count_if(Deadline.cancelled_at.is_not(None)).label("cancelled"),
            count_if(cancelled_overdue).label("cancelled_overdue"),
            func.coalesce(func.sum(cast(paused_days, Float)), 0.0).label("paused_days"),
        )
        .select_from(_deadlines_for(group_by))
        .where(Deadline.is_duty.is_(True))
        .group_by(group),
        start,
        end,
    )
    with read_only(ctx.read_sessions) as session:
        totals = session.execute(totals_query).all()
        percentiles = _days_to_meet_percentiles(session, group_by, start, end)
        cut_short = session.scalar(_cut_short_query(start, end)) or 0
    rows = []
    for row in sorted(totals, key=lambda r: str(r.grp)):
        decided = _decided(row)
        median, p90 = percentiles.get(str(row.grp), (None, None))
        rows.append(
            ComplianceRow(
                group=str(row.grp),
                total=int(row.total),
                met_on_time=int(row.met_on_time),
                met_late=int(row.met_late),
                open_overdue=int(row.open_overdue),
                open_on_time=int(row.open_on_time),
                paused=int(row.paused),
                cancelled=int(row.cancelled),
                cancelled_overdue=int(row.cancelled_overdue),
                paused_days=round(float(row.paused_days), 3),
                compliance_rate=_rate(row.met_on_time, decided),
                median_days_to_meet=median,
                p90_days_to_meet=p90,
            )
        )
    return ComplianceReport(rows=rows, reflection_periods_cut_short=int(cut_short), generated_at=now)


def _days_to_meet_percentiles(
    session: Any, group_by: GroupBy, start: datetime | None, end: datetime | None
) -> dict[str, tuple[float | None, float | None]]:
    """Median and 90th percentile by nearest rank: the value at position ceil(p * n) once sorted.

    PostgreSQL's `percentile_disc` computes exactly that as one aggregate; SQLite has no ordered-set aggregates,
    so there the same ranks are picked with window functions. The tests check both give the same figures."""
    group = _group_column(group_by).label("grp")
    days_expression = days_between(Deadline.opened_at, Deadline.met_at) - Deadline.paused_seconds / 86400.0
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            _period(
                select(
                    group,
                    func.percentile_disc(0.5).within_group(days_expression),
                    func.percentile_disc(0.9).within_group(days_expression),
                )
                .select_from(_deadlines_for(group_by))
                .where(Deadline.is_duty.is_(True), Deadline.met_at.is_not(None))
                .group_by(group),
                start,
                end,
            )
        ).all()
        return {str(g): (round(float(median), 3), round(float(p90), 3)) for g, median, p90 in rows}
    days = days_expression.label("days")
    ranked = _period(
        select(
            group,
            days,
            func.row_number().over(partition_by=group, order_by=days).label("position"),
            func.count().over(partition_by=group).label("n"),
        )
        .select_from(_deadlines_for(group_by))
        .where(Deadline.is_duty.is_(True), Deadline.met_at.is_not(None)),
        start,
        end,
    ).subquery()
    # Only two rows per group come back: ranks ceil(n / 2) and ceil(0.9 n), in integer arithmetic.
    median_rank = (ranked.c.n + 1) // 2
    p90_rank = (ranked.c.n * 9 + 9) // 10
    picked = session.execute(
        select(ranked.c.grp, ranked.c.days, ranked.c.position, median_rank.label("m"), p90_rank.label("p")).where(
            or_(ranked.c.position == median_rank, ranked.c.position == p90_rank)
        )
    ).all()
    result: dict[str, tuple[float | None, float | None]] = {}
    for row in picked:
        median, p90 = result.get(str(row.grp), (None, None))
        if row.position == row.m:
            median = round(float(row.days), 3)
        if row.position == row.p:
            p90 = round(float(row.days), 3)
        result[str(row.grp)] = (median, p90)
    return result


def _cut_short_query(start: datetime | None, end: datetime | None) -> Select[Any]:
    """Reflection periods cancelled before their end by a formal decision taken without an early request."""
    return _period(
        select(func.count())
        .select_from(Deadline)
        .join(Case, Case.id == Deadline.case_id)
        .where(
            Deadline.kind == DeadlineKind.reflection_period.value,
            # The first formal decision: a review decision taken later never hides that the period was cut short.
            Case.first_formal_decided_at.is_not(None),
            Case.first_formal_decided_at < Deadline.due_at,
            Case.early_decision_requested.is_(False),
        ),
        start,
        end,
    )


def reported_deadline_kinds() -> frozenset[str]:
    """Every kind a deadline row can have: the workflow's, and one per need for service referrals."""
    return frozenset(k.value for k in DeadlineKind) | {service_deadline_kind(n.value) for n in NeedKind}


@dataclass(frozen=True)
class Breach:
    case_id: uuid.UUID
    kind: str
    organisation_id: uuid.UUID
    sector: str
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: Literal["met_late", "overdue", "cancelled_overdue"]
    days_late: float
    cancelled_at: datetime | None = None


def breaches(
    ctx: ServiceContext, *, kind: str | None, start: datetime | None, end: datetime | None
) -> Iterator[Breach]:
    """Late and overdue duties, and duties cancelled once overdue (late by their time at cancellation),
    streamed in keyset pages (constant memory for any number of rows)."""
    now = ctx.clock.now()
    late = and_(Deadline.met_at.is_not(None), Deadline.met_at > Deadline.due_at)
    overdue = and_(
        Deadline.met_at.is_(None),
        Deadline.cancelled_at.is_(None),
        Deadline.paused_at.is_(None),
        Deadline.due_at < _now(now),
    )
    cancelled_overdue = _cancelled_overdue()
    days_late = case(
        (Deadline.met_at.is_not(None), days_between(Deadline.due_at, Deadline.met_at)),
        (Deadline.cancelled_at.is_not(None), days_between(Deadline.due_at, Deadline.cancelled_at)),
        else_=days_between(Deadline.due_at, _now(now)),
    )
    base = (
        select(
            Deadline.id,
            Deadline.case_id,
            Deadline.kind,
            Case.referring_organisation_id,
            Case.referring_sector,
            Deadline.opened_at,
            Deadline.due_at,
            Deadline.met_at,
            Deadline.cancelled_at,
            days_late.label("days_late"),
        )
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.is_duty.is_(True), or_(late, overdue, cancelled_overdue))
    )
    if kind is not None:
        base = base.where(Deadline.kind == kind)
    base = _period(base, start, end)
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = base
        if last is not None:
            query = query.where(or_(Deadline.due_at > last[0], and_(Deadline.due_at == last[0], Deadline.id > last[1])))
        with read_only(ctx.read_sessions) as session:
            page = session.execute(query.order_by(Deadline.due_at, Deadline.id).limit(BREACH_PAGE)).all()
        if not page:
            return
        for row in page:
            yield Breach(
                case_id=row.case_id,
                kind=row.kind,
                organisation_id=row.referring_organisation_id,
                sector=row.referring_sector,
                opened_at=row.opened_at,
                due_at=row.due_at,
                met_at=row.met_at,
                status=_status(row.met_at, row.cancelled_at),
                days_late=round(float(row.days_late), 3),
                cancelled_at=row.cancelled_at,
            )
        last = (page[-1].due_at, page[-1].id)


def _status(
    met_at: datetime | None, cancelled_at: datetime | None
) -> Literal["met_late", "overdue", "cancelled_overdue"]:
    if met_at is not None:
        return "met_late"
    return "cancelled_overdue" if cancelled_at is not None else "overdue"
