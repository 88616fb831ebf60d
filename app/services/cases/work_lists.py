"""The coordinator's lists by urgency, at any number of cases: cases ordered by the deadline that falls first.

A case's next deadline is its running deadline (open and not paused) due first, ties broken by the deadline's
id. The lists read open deadlines in due order along the partial index `ix_deadlines_open_due` and keep, for
each case, only that first one (`_first_running_of_its_case`: no running deadline of the same case comes
before it), so a page stops after `limit` cases whatever the size of the database, and the next page starts
after the last row's (due_at, id) with no case repeated or skipped. Sorting every case by a computed "next
deadline" would read them all (607 ms for the queue page at a million cases, docs/benchmarks.md).

- `by_next_deadline(state=..., kinds=...)`: the cases in a state, the most urgent first by the deadlines of
  these kinds (overdue ones come first, since they are due earliest); a case in that state with none running
  is not in this list (the state's full list, `queries.list_cases`, has every case). The kinds keep the walk
  short: at a million cases the open deadlines of other states' cases come first in due order (13,372 of them
  before the 26th referred case in the generated data), while an open `preliminary_decision` belongs to a case
  awaiting or making that decision;
- `by_next_deadline(overdue=True)`: the cases with an overdue duty, the longest overdue first.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased, selectinload

from app.db import read_only
from app.models import Case, Deadline
from app.security.permissions import Principal
from app.services.case_access import visible_cases
from app.services.cases.queries import decode_cursor, encode_cursor, overdue_condition
from app.services.cases.views import RowPage, case_row
from app.services.context import ServiceContext
from app.workflow import DeadlineKind, State


def _running(deadline: Any) -> Any:
    return and_(deadline.met_at.is_(None), deadline.cancelled_at.is_(None), deadline.paused_at.is_(None))


def _first_running_of_its_case(kinds: Collection[DeadlineKind] | None) -> Any:
    earlier = aliased(Deadline)
    conditions = [
        earlier.case_id == Deadline.case_id,
        _running(earlier),
        or_(earlier.due_at < Deadline.due_at, and_(earlier.due_at == Deadline.due_at, earlier.id < Deadline.id)),
    ]
    if kinds is not None:
        conditions.append(earlier.kind.in_(sorted(kind.value for kind in kinds)))
    return ~exists(select(earlier.id).where(*conditions))


def by_next_deadline(
    ctx: ServiceContext,
    principal: Principal,
    *,
    state: State | None = None,
    overdue: bool = False,
    kinds: Collection[DeadlineKind] | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> RowPage:
    """A page of the cases this caller may know of (rows, not whole views), the most urgent first (see the
    module's docstring); `kinds`: only deadlines of these kinds count (a case with none running is not
    listed); `cursor`: the previous page's `next_cursor`."""
    now = ctx.clock.now()
    query = (
        select(Deadline.id, Deadline.due_at, Deadline.case_id)
        .join(Case, Case.id == Deadline.case_id)
        .where(_running(Deadline), _first_running_of_its_case(kinds), visible_cases(principal))
    )
    if kinds is not None:
        query = query.where(Deadline.kind.in_(sorted(kind.value for kind in kinds)))
    if state is not None:
        query = query.where(Case.state == state.value)
    if overdue:
        # Every case with an overdue duty has its first running deadline in the past; the condition on the
        # case keeps out those whose only past deadlines are the person's rights (never overdue).
        query = query.where(Deadline.due_at < now, overdue_condition(now))
    if cursor is not None:
        due, last_id = decode_cursor(cursor)
        query = query.where(or_(Deadline.due_at > due, and_(Deadline.due_at == due, Deadline.id > last_id)))
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(query.order_by(Deadline.due_at, Deadline.id).limit(limit + 1)).all()
        page, more = rows[:limit], len(rows) > limit
        ids: list[uuid.UUID] = [row.case_id for row in page]
        loaded = {
            case.id: case
            for case in session.scalars(select(Case).where(Case.id.in_(ids)).options(selectinload(Case.deadlines)))
        }
        return RowPage(
            items=[case_row(loaded[case_id], now) for case_id in ids],
            next_cursor=encode_cursor(page[-1].due_at, page[-1].id) if more and page else None,
        )
