"""The auditor's pages: deadline compliance by kind, organisation, sector or region for a period (charts drawn
on the server, the same figures in tables, CSV), the breach list (filters, CSV), a year's statistics with
suppressed cells shown as such, the audit log and the chain check.

Every figure comes from the report services (`app/services/compliance.py`, `statistics.py`, `audit.py`), the
ones the API serves: a change of what a report counts shows here without a change of this module. Each read
and export is audited as the API's are (`report_exports.record_export`).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response, StreamingResponse

from app.security.audit_chain import ChainHead
from app.security.permissions import Permission
from app.services import accounts, audit, compliance, statistics
from app.services.compliance import ComplianceReport, ComplianceRow
from app.services.errors import InvalidInput
from app.services.report_exports import REPORT_YEARS, csv_lines, record_export, report_bounds
from app.web import charts
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.referral_form import nationality_names, region_names
from app.web.routing import web_router
from app.web.vocabulary import AGE_BANDS, EXPLOITATION_FORMS, GENDERS, OUTCOMES, SECTORS, deadline_name

router = web_router()
Auditor = Annotated[Page, Depends(page_for(Permission.read_audit))]
StatisticsReader = Annotated[Page, Depends(page_for(Permission.read_statistics))]

#: The groupings the compliance service offers, in its own words (a new one shows up here by itself).
GROUPINGS: tuple[str, ...] = typing.get_args(compliance.GroupBy)
GROUPING_NAMES = {
    "kind": N_("Kind of deadline"),
    "organisation": N_("Referring organisation"),
    "sector": N_("Referring sector"),
    "region": N_("Region"),
}
BREACHES_SHOWN = 100
LOG_PAGE = 100
TREND_MONTHS = 24

SERIES = (
    charts.Series(N_("Met on time"), "success"),
    charts.Series(N_("Met late"), "warning"),
    charts.Series(N_("Overdue"), "danger"),
)
DAYS_SERIES = (charts.Series(N_("Median"), "info"), charts.Series(N_("90th percentile"), "neutral"))

DIMENSIONS = {
    "source": N_("Cases and anonymous notifications"),
    "exploitation_form": N_("Form of exploitation"),
    "gender": N_("Gender"),
    "age_band": N_("Age"),
    "nationality": N_("Nationality"),
    "referring_sector": N_("Referring sector"),
    "outcome": N_("Outcome of the cases"),
    "entitlement_open": N_("Entitlements open now"),
    "justice_milestone": N_("Justice and redress"),
    "identified_by_criminal_proceedings": N_("Identified persons, by criminal proceedings"),
}
SOURCES = {"cases": N_("Cases"), "notifications": N_("Anonymous notifications")}
STAGES = {"preliminary": N_("Preliminary decision"), "formal": N_("Formal decision")}


# ------------------------------------------------------------------------------------------------ the period


@dataclass(frozen=True)
class Period:
    """The period a report covers: whole days, both included (the API's `from` and `to`)."""

    start: date
    end: date

    @property
    def query(self) -> str:
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}"


def _period(page: Page, errors: FormErrors) -> Period:
    """The period in the query (`from`, `to`), this year to today by default; errors for unreadable dates."""
    today = page.ctx.policy.calendar.local_date(page.ctx.clock.now())
    chosen: dict[str, date] = {}
    for name, default in (("from", date(today.year, 1, 1)), ("to", today)):
        text = page.request.query_params.get(name, "").strip()
        try:
            chosen[name] = date.fromisoformat(text) if text else default
        except ValueError:
            errors.add(name, page.gettext("Enter a real date, like 2027-03-31"))
            chosen[name] = default
    if not errors:
        try:
            report_bounds(chosen["from"], chosen["to"])
        except InvalidInput as invalid:
            for problem in invalid.errors:
                name = str(problem.loc[-1])
                if chosen["from"] > chosen["to"]:
                    errors.add(name, page.gettext("The end of the period must not be before its start"))
                else:
                    errors.add(name, page.gettext("Enter a date from 2000 to 2100"))
    if errors:
        return Period(date(today.year, 1, 1), today)
    return Period(chosen["from"], chosen["to"])


def _bounds(period: Period) -> tuple[datetime | None, datetime | None]:
    return report_bounds(period.start, period.end)


# ------------------------------------------------------------------------------------------------ labels


def deadline_label(page: Page, kind: str) -> str:
    return deadline_name(page.gettext, kind)


def _group_labels(page: Page, group_by: str) -> dict[str, str]:
    if group_by == "organisation":
        return {str(org.id): org.name for org in accounts.list_organisations(page.ctx)}
    if group_by == "sector":
        return {code: page.gettext(label) for code, label in SECTORS.items()}
    if group_by == "region":
        return region_names(page.ctx.policy.holidays.country)
    return {}


def _group_label(page: Page, group_by: str, labels: dict[str, str], group: str) -> str:
    if group_by == "kind":
        return deadline_label(page, group)
    return labels.get(group, group)


# ------------------------------------------------------------------------------------------------ compliance


def _grouping(page: Page, errors: FormErrors) -> str:
    group_by = page.request.query_params.get("group_by", "kind")
    if group_by not in GROUPINGS:
        errors.add("group_by", page.gettext("Choose how to group the deadlines"))
        return "kind"
    return group_by


def _months(period: Period) -> Iterator[tuple[date, date]]:
    """The calendar months the period touches (the last `TREND_MONTHS`), each cut to the period."""
    first = date(period.start.year, period.start.month, 1)
    months = []
    while first <= period.end:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        months.append((max(first, period.start), min(following - timedelta(days=1), period.end)))
        first = following
    yield from months[-TREND_MONTHS:]


def _trend(page: Page, period: Period) -> list[tuple[str, float | None, str]]:
    """The compliance rate of each month of the period, from the same service as the tables."""
    formats = page.formats
    points = []
    for start, end in _months(period):
        low, high = report_bounds(start, end)
        report = compliance.compliance(page.ctx, start=low, end=high, group_by="kind")
        rate = report.compliance_rate
        label = formats.month(start)
        points.append((label, rate, formats.percent(rate) if rate is not None else page.gettext("no deadline")))
    return points


@router.get("/audit/compliance")
def compliance_page(page: Auditor) -> Response:
    errors = FormErrors()
    period = _period(page, errors)
    group_by = _grouping(page, errors)
    start, end = _bounds(period)
    report = compliance.compliance(page.ctx, start=start, end=end, group_by=group_by)  # type: ignore[arg-type]
    record_export(page.ctx, page.principal, "report.compliance", {"group_by": group_by, "csv": False, "web": True})
    labels = _group_labels(page, group_by)
    rows = [(row, _group_label(page, group_by, labels, row.group)) for row in report.rows]
    formats = page.formats
    grouping_name = page.gettext(GROUPING_NAMES.get(group_by, group_by))
    series = tuple(charts.Series(page.gettext(s.label), s.tone) for s in SERIES)
    status_chart = charts.stacked_bars(
        page.gettext("Deadlines met on time, met late and overdue, by %(grouping)s", grouping=grouping_name.lower()),
        page.gettext("The same figures are in the table below the chart."),
        series,
        [
            charts.Bar(label, (row.met_on_time, row.met_late, row.open_overdue + row.cancelled_overdue), ())
            for row, label in rows
        ],
    )
    trend = _trend(page, period)
    trend_chart = charts.rate_line(
        page.gettext("Compliance rate by month"),
        page.gettext("The same figures are in the table below the chart."),
        trend,
    )
    days_series = tuple(charts.Series(page.gettext(s.label), s.tone) for s in DAYS_SERIES)
    days_chart = charts.grouped_bars(
        page.gettext("Days to meet a deadline: median and 90th percentile"),
        page.gettext("The same figures are in the table below the chart."),
        days_series,
        [
            charts.Bar(
                label,
                (row.median_days_to_meet, row.p90_days_to_meet),
                tuple(
                    formats.number(v) if v is not None else "–" for v in (row.median_days_to_meet, row.p90_days_to_meet)
                ),
            )
            for row, label in rows
        ],
    )
    return page.render(
        "pages/audit/compliance.html",
        errors=errors,
        period=period,
        group_by=group_by,
        groupings=[{"value": g, "label": page.gettext(GROUPING_NAMES.get(g, g))} for g in GROUPINGS],
        grouping_name=grouping_name,
        report=report,
        rows=rows,
        status_rows=[
            [
                label,
                *(
                    formats.number(n)
                    for n in (
                        r.total,
                        r.met_on_time,
                        r.met_late,
                        r.open_overdue,
                        r.cancelled_overdue,
                        r.open_on_time,
                        r.paused,
                        r.cancelled - r.cancelled_overdue,
                    )
                ),
                formats.percent(r.compliance_rate) if r.compliance_rate is not None else "–",
            ]
            for r, label in rows
        ],
        trend_rows=[[label, text] for label, _rate, text in trend],
        days_rows=[
            [label, *(formats.number(v) if v is not None else "–" for v in (r.median_days_to_meet, r.p90_days_to_meet))]
            for r, label in rows
        ],
        status_chart=status_chart,
        trend_chart=trend_chart,
        days_chart=days_chart,
    )


@router.get("/audit/compliance.csv")
def compliance_csv(page: Auditor) -> Response:
    errors = FormErrors()
    period = _period(page, errors)
    group_by = _grouping(page, errors)
    if errors:
        return page.redirect("/audit/compliance")
    start, end = _bounds(period)
    report: ComplianceReport = compliance.compliance(page.ctx, start=start, end=end, group_by=group_by)  # type: ignore[arg-type]
    record_export(page.ctx, page.principal, "report.compliance", {"group_by": group_by, "csv": True, "web": True})
    labels = _group_labels(page, group_by)
    names = [f.name for f in fields(ComplianceRow)]
    lines = [
        [row.group, _group_label(page, group_by, labels, row.group), *(getattr(row, n) for n in names[1:])]
        for row in report.rows
    ]
    lines.append(["reflection_periods_cut_short", "", report.reflection_periods_cut_short])
    return _csv(
        f"compliance-{group_by}-{period.start.isoformat()}-{period.end.isoformat()}.csv",
        csv_lines(["group", "label", *names[1:]], lines),
    )


def _csv(filename: str, lines: Iterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ------------------------------------------------------------------------------------------------ breaches


def _breach_filter(page: Page, errors: FormErrors) -> str | None:
    kind = page.request.query_params.get("kind", "").strip() or None
    if kind is not None and kind not in compliance.reported_deadline_kinds():
        errors.add("kind", page.gettext("Choose a kind of deadline from the list"))
        return None
    return kind


@router.get("/audit/breaches")
def breaches_page(page: Auditor) -> Response:
    errors = FormErrors()
    period = _period(page, errors)
    kind = _breach_filter(page, errors)
    start, end = _bounds(period)
    found = list(islice(compliance.breaches(page.ctx, kind=kind, start=start, end=end), BREACHES_SHOWN + 1))
    record_export(page.ctx, page.principal, "report.breaches", {"kind": kind, "csv": False, "web": True})
    organisations = _group_labels(page, "organisation")
    kinds = sorted(compliance.reported_deadline_kinds(), key=lambda k: deadline_label(page, k))
    return page.render(
        "pages/audit/breaches.html",
        errors=errors,
        period=period,
        kind=kind or "",
        kinds=[{"value": "", "label": page.gettext("Every kind")}]
        + [{"value": k, "label": deadline_label(page, k)} for k in kinds],
        breaches=found[:BREACHES_SHOWN],
        breach_rows=[
            [
                deadline_label(page, b.kind),
                organisations.get(str(b.organisation_id), str(b.organisation_id)),
                page.gettext(SECTORS[b.sector]) if b.sector in SECTORS else b.sector,
                page.formats.date(b.opened_at),
                page.formats.datetime(b.due_at),
                page.gettext("Met late") if b.status == "met_late" else page.gettext("Overdue"),
                page.formats.number(round(b.days_late, 1)),
                str(b.case_id)[:8],
            ]
            for b in found[:BREACHES_SHOWN]
        ],
        more=len(found) > BREACHES_SHOWN,
        shown=BREACHES_SHOWN,
        csv_query=period.query + (f"&kind={kind}" if kind else ""),
    )


@router.get("/audit/breaches.csv")
def breaches_csv(page: Auditor) -> Response:
    errors = FormErrors()
    period = _period(page, errors)
    kind = _breach_filter(page, errors)
    if errors:
        return page.redirect("/audit/breaches")
    start, end = _bounds(period)
    record_export(page.ctx, page.principal, "report.breaches", {"kind": kind, "csv": True, "web": True})
    names = [f.name for f in fields(compliance.Breach)]
    rows = ([getattr(b, n) for n in names] for b in compliance.breaches(page.ctx, kind=kind, start=start, end=end))
    return _csv(f"breaches-{period.start.isoformat()}-{period.end.isoformat()}.csv", csv_lines(names, rows))


# ------------------------------------------------------------------------------------------------ statistics


def _value_labels(page: Page) -> dict[str, dict[str, str]]:
    translated = {
        "source": SOURCES,
        "exploitation_form": EXPLOITATION_FORMS,
        "gender": GENDERS,
        "age_band": AGE_BANDS,
        "referring_sector": SECTORS,
        "outcome": OUTCOMES,
    }
    labels = {name: {code: page.gettext(label) for code, label in table.items()} for name, table in translated.items()}
    labels["nationality"] = nationality_names(page.language)
    return labels


@router.get("/audit/statistics")
def statistics_page(page: StatisticsReader) -> Response:
    errors = FormErrors()
    this_year = page.ctx.policy.calendar.local_date(page.ctx.clock.now()).year
    text = page.request.query_params.get("year", "").strip()
    year = this_year
    if text:
        if text.isdigit() and int(text) in REPORT_YEARS:
            year = int(text)
        else:
            errors.add("year", page.gettext("Enter a year from 2000 to 2100"))
    result = statistics.year_statistics(page.ctx, year)
    record_export(page.ctx, page.principal, "statistics.read", {"year": year, "web": True})
    hidden = page.gettext("suppressed")
    formats = page.formats
    labels = _value_labels(page)

    def shown(count: float | None, suppressed: bool) -> str:
        return hidden if suppressed else "–" if count is None else formats.number(count)

    tables = []
    for table in [*result.tables, *result.justice]:
        named = labels.get(table.dimension, {})
        rows = [[named.get(cell.value, cell.value), shown(cell.count, cell.suppressed)] for cell in table.cells]
        rows.append([page.gettext("Total"), shown(table.total, table.total_suppressed)])
        tables.append(
            {
                "title": page.gettext(DIMENSIONS[table.dimension])
                if table.dimension in DIMENSIONS
                else table.dimension,
                "rows": rows,
            }
        )
    return page.render(
        "pages/audit/statistics.html",
        errors=errors,
        year=year,
        year_text=text or str(year),
        result=result,
        tables=tables,
        decision_rows=[
            [
                page.gettext(STAGES[t.stage]) if t.stage in STAGES else t.stage,
                shown(t.cases, t.suppressed),
                shown(t.median_days, t.suppressed),
            ]
            for t in result.decision_times
        ],
        suppressed_text=hidden,
    )


# ------------------------------------------------------------------------------------------------ audit log


@router.get("/audit/log")
def audit_log_page(page: Auditor) -> Response:
    text = page.request.query_params.get("after", "").strip()
    after = int(text) if text.isdigit() and len(text) < 19 else 0
    entries = audit.list_entries(page.ctx, case_id=None, after=after, limit=LOG_PAGE + 1)
    return page.render(
        "pages/audit/log.html",
        entries=entries[:LOG_PAGE],
        rows=[
            [
                str(e.sequence),
                page.formats.datetime(e.time),
                e.action,
                e.actor_id[:8],
                (e.organisation_id or "–")[:8],
                (e.case_id or "–")[:8],
                json.dumps(e.details, sort_keys=True, ensure_ascii=False) if e.details else "",
            ]
            for e in entries[:LOG_PAGE]
        ],
        after=after,
        next_after=entries[LOG_PAGE - 1].sequence if len(entries) > LOG_PAGE else None,
        previous_after=max(after - LOG_PAGE, 0) if after else None,
    )


@router.get("/audit/chain")
def audit_chain_page(page: Auditor) -> Response:
    """Check the whole chain; with `expected`, a head copied earlier, check the log still holds it unchanged."""
    errors = FormErrors()
    expected_text = page.request.query_params.get("expected", "").strip()
    expected = None
    if expected_text:
        try:
            expected = ChainHead.parse(expected_text[:100])
        except ValueError:
            errors.add(
                "expected",
                page.gettext("Enter a head as copied from this page: a number, a colon, 64 letters and digits"),
            )
    result = audit.verify(page.ctx, expected)
    record_export(
        page.ctx, page.principal, "audit.verified", {"valid": result.valid, "with_head": expected is not None}
    )
    return page.render(
        "pages/audit/chain.html",
        errors=errors,
        result=result,
        head=f"{result.entries}:{result.head}" if result.valid and result.head else None,
        expected=expected_text[:100],
        checked_at=page.ctx.clock.now(),
    )
