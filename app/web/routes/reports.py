"""The needs-gap report for coordinators and auditors (issue 15): needs recorded, unmet, never referred,
refused and late, by kind of need and region, in counts with the statistics' suppression; a hidden count is
shown as hidden, never as zero. `needs_report.read_needs_report` (the API's) counts and audits the read.

Path: `/reports/needs?from-day=..&from-month=..&from-year=..&to-...` (days only: nothing of a person).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services.cross_tables import CrossTable
from app.services.needs_report import read_needs_report
from app.web.case_pages import parse_day
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for, renderer
from app.web.referral_form import region_names
from app.web.routing import web_router
from app.web.vocabulary import NEEDS

router = web_router()
StatisticsReader = Annotated[Page, Depends(page_for(Permission.read_statistics))]

MEASURES = {
    "recorded": N_("Needs recorded"),
    "unmet": N_("Needs not met yet"),
    "no_referral": N_("Needs never referred to a provider"),
    "refused": N_("Needs a provider refused"),
    "late": N_("Needs whose service came late or is overdue"),
}


def _count(page: Page, count: int | None) -> str:
    """A count in the page's number format, or "hidden" for a suppressed one (never shown as zero)."""
    return page.gettext("hidden") if count is None else renderer(page.request).formats[page.language].number(count)


def _table(page: Page, table: CrossTable, regions: dict[str, str]) -> dict[str, object]:
    """One measure as rows of need kinds and columns of regions (few regions, many kinds: it reads on a phone).
    Rows whose every count is a shown zero are left out."""
    columns = sorted({cell.row for cell in table.cells})
    counts = {(cell.column, cell.row): cell.count for cell in table.cells}
    by_kind = {cell.value: cell.count for cell in table.column_totals}
    rows = []
    for kind in NEEDS:
        values = [counts.get((kind, region), 0) for region in columns]
        if all(v == 0 for v in values) and by_kind.get(kind, 0) == 0:
            continue
        total = by_kind.get(kind, 0)
        rows.append([page.gettext(NEEDS[kind]), *(_count(page, v) for v in values), _count(page, total)])
    return {
        "title": page.gettext(MEASURES[table.measure]),
        "regions": [regions.get(code, code) for code in columns],
        "rows": rows,
        "total": table.total,
    }


@router.get("/reports/needs")
def needs_gaps(page: StatisticsReader) -> Response:
    query = page.request.query_params
    values = {
        f"{end}-{part}": query.get(f"{end}-{part}", "") for end in ("from", "to") for part in ("day", "month", "year")
    }
    errors = FormErrors()
    bounds: dict[str, datetime | None] = {}
    for side in ("from", "to"):
        typed = [values[f"{side}-{part}"] for part in ("day", "month", "year")]
        day = parse_day(*typed) if any(typed) else None
        if any(typed) and day is None:
            errors.add(side, page.gettext("Enter a real day, for example 1 1 2027"))
        bounds[side] = datetime.combine(day, time.min, tzinfo=UTC) if day else None
    start, last = bounds["from"], bounds["to"]
    if start and last and start > last:
        errors.add("to", page.gettext("The end comes before the start"))
    if errors:
        start = last = None
    # Whole days, both included, as the API reads `from` and `to`.
    report = read_needs_report(page.ctx, page.principal, start=start, end=last + timedelta(days=1) if last else None)
    regions = region_names(page.ctx.policy.holidays.country)
    return page.render(
        "pages/support/needs_report.html",
        status_code=422 if errors else 200,
        report=report,
        last_day=last,
        tables=[_table(page, table, regions) for table in report.tables],
        values={
            "from": {p: values[f"from-{p}"] for p in ("day", "month", "year")},
            "to": {p: values[f"to-{p}"] for p in ("day", "month", "year")},
        },
        errors=errors,
    )
