"""Deadline compliance, breaches and yearly statistics (auditors and coordinators). JSON, or CSV on
`Accept: text/csv`; breach lists are streamed so that a million rows export in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter

from app.api.deps import Context, authorize
from app.api.problems import fields_from
from app.api.routing import api_router
from app.security.permissions import Permission, Principal
from app.services import compliance, needs_report, statistics
from app.services.compliance import Breach, ComplianceReport, ComplianceRow
from app.services.errors import FieldProblem, InvalidInput
from app.services.report_exports import REPORT_YEARS, csv_lines, record_export, report_bounds

router = api_router(tags=["audit"])
AuditReader = Annotated[Principal, Depends(authorize(Permission.read_audit))]
StatisticsReader = Annotated[Principal, Depends(authorize(Permission.read_statistics))]


def _wants_csv(accept: str | None) -> bool:
    return accept is not None and "text/csv" in accept


CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
_BREACH: TypeAdapter[Breach] = TypeAdapter(Breach)


@router.get(
    "/audit/compliance",
    response_model=ComplianceReport,
    responses={200: {"content": CSV_CONTENT}},
    summary="Deadline compliance by kind, organisation, sector or region",
    dependencies=[fields_from(query=["from", "to"])],
)
def compliance_report(
    ctx: Context,
    principal: AuditReader,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    group_by: Literal["kind", "organisation", "sector", "region"] = "kind",
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    start, end = report_bounds(from_, to)
    report = compliance.compliance(ctx, start=start, end=end, group_by=group_by)
    record_export(ctx, principal, "report.compliance", {"group_by": group_by, "csv": _wants_csv(accept)})
    if _wants_csv(accept):
        header = [field.name for field in fields(ComplianceRow)]
        rows = [[getattr(r, name) for name in header] for r in report.rows]
        rows.append(["reflection_periods_cut_short", report.reflection_periods_cut_short] + [None] * (len(header) - 2))
        return StreamingResponse(csv_lines(header, rows), media_type="text/csv; charset=utf-8")
    return report


@router.get(
    "/audit/breaches",
    response_model=list[Breach],
    responses={200: {"content": CSV_CONTENT}},
    summary="Duties met late, overdue, or cancelled once overdue, with how late (streamed)",
    dependencies=[fields_from(query=["kind", "from", "to"])],
)
def breach_list(
    ctx: Context,
    principal: AuditReader,
    kind: Annotated[
        str | None,
        Query(max_length=60, description="a deadline kind of the workflow, or service_<need> for a service referral"),
    ] = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    accept: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    if kind is not None and kind not in compliance.reported_deadline_kinds():
        raise InvalidInput("unknown deadline kind", [FieldProblem(("kind",), "unknown deadline kind")])
    start, end = report_bounds(from_, to)
    rows = compliance.breaches(ctx, kind=kind, start=start, end=end)
    record_export(ctx, principal, "report.breaches", {"kind": kind, "csv": _wants_csv(accept)})
    if _wants_csv(accept):
        header = [field.name for field in fields(Breach)]
        return StreamingResponse(
            csv_lines(header, ([getattr(b, name) for name in header] for b in rows)),
            media_type="text/csv; charset=utf-8",
        )
    return StreamingResponse(_json_array(_BREACH.dump_json(b).decode() for b in rows), media_type="application/json")


def _json_array(items: Iterator[str]) -> Iterator[str]:
    yield "["
    first = True
    for item in items:
        yield item if first else "," + item
        first = False
    yield "]"


@router.get(
    "/statistics",
    response_model=statistics.YearStatistics,
    summary="Anonymous yearly statistics, small cells suppressed",
)
def year_statistics(
    ctx: Context, principal: StatisticsReader, year: Annotated[int, Query(ge=REPORT_YEARS[0], le=REPORT_YEARS[-1])]
) -> statistics.YearStatistics:
    result = statistics.year_statistics(ctx, year)
    record_export(ctx, principal, "statistics.read", {"year": year})
    return result


@router.get(
    "/statistics/needs",
    response_model=needs_report.NeedsReport,
    summary="Where the system has gaps: needs unmet, services refused or late, by region and kind (suppressed)",
    dependencies=[fields_from(query=["from", "to"])],
)
def needs_gaps(
    ctx: Context,
    principal: StatisticsReader,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> needs_report.NeedsReport:
    start, end = report_bounds(from_, to)
    return needs_report.read_needs_report(ctx, principal, start=start, end=end)
