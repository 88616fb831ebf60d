"""Deadline compliance, breaches and yearly statistics (auditors and coordinators). JSON, or CSV on
`Accept: text/csv`; breach lists are streamed so that a million rows export in constant memory."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.api.deps import Context, authorize
from app.security.permissions import Permission, Principal
from app.services import audit, compliance, statistics
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["audit"])
AuditReader = Annotated[Principal, Depends(authorize(Permission.read_audit))]
StatisticsReader = Annotated[Principal, Depends(authorize(Permission.read_statistics))]


class ComplianceRowOut(BaseModel):
    group: str
    total: int
    met_on_time: int
    met_late: int
    open_overdue: int
    open_on_time: int
    paused: int
    cancelled: int
    paused_days: float
    compliance_rate: float | None
    median_days_to_meet: float | None
    p90_days_to_meet: float | None


class ComplianceOut(BaseModel):
    rows: list[ComplianceRowOut]
    reflection_periods_cut_short: int
    generated_at: datetime


class BreachOut(BaseModel):
    case_id: uuid.UUID
    kind: str
    organisation_id: uuid.UUID
    sector: str
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: Literal["met_late", "overdue"]
    days_late: float


class CellOut(BaseModel):
    value: str
    count: int | None
    suppressed: bool


class TableOut(BaseModel):
    dimension: str
    total: int | None
    total_suppressed: bool
    cells: list[CellOut]


class DecisionTimeOut(BaseModel):
    stage: str
    cases: int | None
    median_days: float | None
    suppressed: bool


class InterviewFigureOut(BaseModel):
    identified_persons: int | None
    interviews_per_person: float | None
    suppressed: bool


class StatisticsOut(BaseModel):
    year: int
    threshold: int
    tables: list[TableOut]
    decision_times: list[DecisionTimeOut]
    interviews: InterviewFigureOut


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` are whole days, both included."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC) if start else None,
        datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1) if end else None,
    )


def _wants_csv(accept: str | None) -> bool:
    return accept is not None and "text/csv" in accept


def _csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _record_export(ctx: ServiceContext, principal: Principal, action: str, details: dict[str, Any]) -> None:
    audit.record(ctx, audit.AuditActor(str(principal.user_id), str(principal.organisation_id)), action, details=details)


CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}


@router.get(
    "/audit/compliance",
    response_model=ComplianceOut,
    responses={200: {"content": CSV_CONTENT}},
    summary="Deadline compliance by kind, organisation or sector",
)
def compliance_report(
    ctx: Context,
    principal: AuditReader,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    group_by: Literal["kind", "organisation", "sector"] = "kind",
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    start, end = _bounds(from_, to)
    report = compliance.compliance(ctx, start=start, end=end, group_by=group_by)
    _record_export(ctx, principal, "report.compliance", {"group_by": group_by, "csv": _wants_csv(accept)})
    if _wants_csv(accept):
        header = list(ComplianceRowOut.model_fields)
        rows = [[getattr(r, name) for name in header] for r in report.rows]
        rows.append(["reflection_periods_cut_short", report.reflection_periods_cut_short] + [None] * (len(header) - 2))
        return StreamingResponse(_csv_lines(header, rows), media_type="text/csv; charset=utf-8")
    return ComplianceOut(
        rows=[ComplianceRowOut(**asdict(r)) for r in report.rows],
        reflection_periods_cut_short=report.reflection_periods_cut_short,
        generated_at=report.generated_at,
    )


@router.get(
    "/audit/breaches",
    response_model=list[BreachOut],
    responses={200: {"content": CSV_CONTENT}},
    summary="Duties met late or overdue, with how late (streamed)",
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
        raise InvalidInput("unknown deadline kind", [FieldProblem(["query", "kind"], "unknown deadline kind")])
    start, end = _bounds(from_, to)
    rows = compliance.breaches(ctx, kind=kind, start=start, end=end)
    _record_export(ctx, principal, "report.breaches", {"kind": kind, "csv": _wants_csv(accept)})
    if _wants_csv(accept):
        header = list(BreachOut.model_fields)
        return StreamingResponse(
            _csv_lines(header, ([_csv_value(getattr(b, name)) for name in header] for b in rows)),
            media_type="text/csv; charset=utf-8",
        )
    return StreamingResponse(
        _json_array(BreachOut(**asdict(b)).model_dump_json() for b in rows), media_type="application/json"
    )


def _csv_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _json_array(items: Iterator[str]) -> Iterator[str]:
    yield "["
    first = True
    for item in items:
        yield item if first else "," + item
        first = False
    yield "]"


@router.get("/statistics", response_model=StatisticsOut, summary="Anonymous yearly statistics, small cells suppressed")
def year_statistics(
    ctx: Context, principal: StatisticsReader, year: Annotated[int, Query(ge=2000, le=2100)]
) -> StatisticsOut:
    result = statistics.year_statistics(ctx, year)
    _record_export(ctx, principal, "statistics.read", {"year": year})
    return StatisticsOut.model_validate(json.loads(json.dumps(asdict(result))))
