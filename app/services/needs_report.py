"""Where the system has gaps: needs unmet, and services refused or late, by region and kind of need.

The associations' annex asks for an assessment that shows "où sont les lacunes et les complexités du système
existant" (a shelter far from any doctor, no debt advice in a region). This report counts, for the needs
recorded in a period (by assessments or on their own), by the case's region and the need's kind:

- `recorded`: needs recorded;
- `unmet`: needs no provider has accepted or delivered yet (a need the person declined is never recorded as a
  need, so it never counts here);
- `no_referral`: needs never referred to any provider (often: no provider of that kind to refer to);
- `refused`: needs for which a provider refused a referral;
- `late`: needs whose service deadline was met late or is overdue now.

Each measure is a region × kind table with the statistics' suppression (`app/services/cross_tables.py`): no
count below the policy's threshold is shown, nor one that could be recomputed from a total. Only codes and
counts: no case, no person, no provider is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select

from app.db import read_only
from app.models import Case, Deadline, ServiceReferral, SupportNeed
from app.models.base import UTCDateTime
from app.security.permissions import Permission, Principal
from app.services import audit
from app.services.context import ServiceContext
from app.services.cross_tables import CrossTable, suppress_cross
from app.services.errors import Forbidden
from app.workflow.states import NeedKind
from app.workflow.support import MEETS_SERVICE_DEADLINE, ServiceStatus

MEASURES = ("recorded", "unmet", "no_referral", "refused", "late")
DIMENSIONS = ("region", "need_kind")


@dataclass(frozen=True)
class NeedsReport:
    """`start`/`end`: the period the needs were recorded in (None: unbounded); counts as of `generated_at`."""

    start: datetime | None
    end: datetime | None
    threshold: int
    generated_at: datetime
    tables: list[CrossTable]


def _referral_where(*conditions: Any) -> Any:
    return exists(select(ServiceReferral.id).where(ServiceReferral.need_id == SupportNeed.id, *conditions))


def needs_report(ctx: ServiceContext, *, start: datetime | None, end: datetime | None) -> NeedsReport:
    """The gaps report for needs recorded in [start, end), counted by the database."""
    now = ctx.clock.now()
    threshold = ctx.policy.statistics_suppression_threshold
    met = _referral_where(ServiceReferral.status.in_(sorted(s.value for s in MEETS_SERVICE_DEADLINE)))
    late = exists(
        select(ServiceReferral.id)
        .join(Deadline, Deadline.id == ServiceReferral.deadline_id)
        .where(
            ServiceReferral.need_id == SupportNeed.id,
            or_(
                and_(Deadline.met_at.is_not(None), Deadline.met_at > Deadline.due_at),
                and_(
                    Deadline.met_at.is_(None),
                    Deadline.cancelled_at.is_(None),
                    Deadline.due_at < literal(now, UTCDateTime()),
                ),
            ),
        )
    )
    conditions = {
        "unmet": ~met,
        "no_referral": ~_referral_where(),
        "refused": _referral_where(ServiceReferral.status == ServiceStatus.refused.value),
        "late": late,
    }
    query = (
        select(
            Case.region,
            SupportNeed.kind,
            func.count().label("recorded"),
            *(func.coalesce(func.sum(case((c, 1), else_=0)), 0).label(name) for name, c in conditions.items()),
        )
        .join(Case, Case.id == SupportNeed.case_id)
        .group_by(Case.region, SupportNeed.kind)
    )
    if start is not None:
        query = query.where(SupportNeed.created_at >= start)
    if end is not None:
        query = query.where(SupportNeed.created_at < end)
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(query).all()
    regions = sorted({row.region for row in rows})
    kinds = [kind.value for kind in NeedKind]
    tables = [
        suppress_cross(
            measure,
            DIMENSIONS,
            regions,
            kinds,
            {(row.region, row.kind): int(getattr(row, measure)) for row in rows},
            threshold,
        )
        for measure in MEASURES
    ]
    return NeedsReport(start, end, threshold, now, tables)


def read_needs_report(
    ctx: ServiceContext, principal: Principal, *, start: datetime | None, end: datetime | None
) -> NeedsReport:
    """The gaps report for someone who reads statistics (coordinators, auditors), audited as
    `statistics.needs_read` with the period asked: what the API route and the web page call."""
    if not principal.can(Permission.read_statistics):
        raise Forbidden("your role does not read statistics")
    report = needs_report(ctx, start=start, end=end)
    audit.record(
        ctx,
        audit.AuditActor(str(principal.user_id), str(principal.organisation_id)),
        "statistics.needs_read",
        details={"from": start.date().isoformat() if start else None, "to": _last_day(end)},
    )
    return report


def _last_day(end: datetime | None) -> str | None:
    """The last day of a period asked as [start, end) in whole days: the day before `end`."""
    return None if end is None else (end - timedelta(days=1)).date().isoformat()
