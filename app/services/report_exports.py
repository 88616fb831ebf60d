"""What every entrance of the auditors' reports shares (the API's JSON/CSV and the web pages): the period's
bounds, the CSV stream, and the audit entry of each export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.security.permissions import Principal
from app.services import audit
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, InvalidInput

#: The years reports and statistics cover: a date outside them names no deadline of this service, and the
#: ends of the calendar overflow the day arithmetic below.
REPORT_YEARS = range(2000, 2101)


def report_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` are whole days, both included, within `REPORT_YEARS`, `from` not after `to`."""
    problems = [
        FieldProblem((name,), f"a date from {REPORT_YEARS[0]} to {REPORT_YEARS[-1]}")
        for name, day in (("from", start), ("to", end))
        if day is not None and day.year not in REPORT_YEARS
    ]
    if not problems and start is not None and end is not None and start > end:
        problems.append(FieldProblem(("to",), "the period ends before it starts"))
    if problems:
        raise InvalidInput("the report period is not valid", problems)
    return (
        datetime.combine(start, time.min, tzinfo=UTC) if start else None,
        datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1) if end else None,
    )


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """A CSV document in chunks of about 64 kB (None as an empty cell, datetimes in ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def record_export(ctx: ServiceContext, principal: Principal, action: str, details: dict[str, Any]) -> None:
    """The audit entry of a report read or exported, whoever asked and through whichever door."""
    audit.record(ctx, audit.AuditActor(str(principal.user_id), str(principal.organisation_id)), action, details=details)
