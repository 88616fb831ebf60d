"""No case left hanging (issue 12, point 8): a case that can no longer move — a negative preliminary decision
with no reconsideration left, a negative formal or review decision with no review left — is closed by the
worker once the policy's `final_negative_closure_days` have passed since that decision, and waits until then
(or for ever, when the policy sets no delay) in the coordinators' "to close" list.

"Can no longer move" is read from the rows as the workflow leaves them: in `preliminary_negative` or
`not_identified` with no open reconsideration or review window (a window still open is a right of the person;
one that lapsed is closed by the worker's other job, `scheduler.close_lapsed_windows`). The closure itself is
the workflow's `close` event sent by the system, which allows it only once no reconsideration or review can
follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, literal, or_, select, union_all

from app.db import read_only
from app.models import Case, Deadline
from app.security.permissions import Principal
from app.services.case_access import visible_cases
from app.services.cases.queries import decode_cursor, encode_cursor
from app.services.context import ServiceContext
from app.workflow import CloseReason, DeadlineKind, State

#: For each state a case may stop moving in: the window that would let it move on, the reason it closes with
#: (lapsed or final alike), and the column holding the time of the decision that left it there.
FINAL_STATES: dict[State, tuple[DeadlineKind, CloseReason, Any]] = {
    State.preliminary_negative: (
        DeadlineKind.reconsideration_window,
        CloseReason.no_reconsideration,
        Case.preliminary_decided_at,
    ),
    State.not_identified: (DeadlineKind.review_window, CloseReason.no_review, Case.formal_decided_at),
}


@dataclass(frozen=True)
class CaseToClose:
    """A case that can no longer move: the decision that left it there, and when the worker closes it (None:
    the policy sets no delay, a coordinator closes it)."""

    case_id: uuid.UUID
    reference: str
    state: State
    decided_at: datetime
    closes_automatically_at: datetime | None


def _stuck(state: State) -> Any:
    window, _, decided_at = FINAL_STATES[state]
    open_window = exists(
        select(Deadline.id).where(
            Deadline.case_id == Case.id,
            Deadline.kind == window.value,
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
    )
    return and_(Case.state == state.value, ~open_window, decided_at.is_not(None))


def due_for_closure(ctx: ServiceContext, state: State) -> list[uuid.UUID]:
    """The cases in `state` that can no longer move and whose decision is older than the policy's delay."""
    days = ctx.policy.final_negative_closure_days
    if days is None:
        return []
    _, _, decided_at = FINAL_STATES[state]
    limit = ctx.clock.now() - timedelta(days=days)
    with read_only(ctx.read_sessions) as session:
        return list(session.scalars(select(Case.id).where(_stuck(state), decided_at <= limit)))


def cases_to_close(
    ctx: ServiceContext, principal: Principal, *, limit: int | None = None, cursor: str | None = None
) -> list[CaseToClose]:
    """The coordinators' "to close" list: the cases this caller may know of that can no longer move, oldest
    decision first, with when the worker will close it; at most `limit` of them, after `cursor` (the
    `cursor_after` of the previous page's last one). One ordered read per final state, merged by the
    database, so a page of the oldest reads a page whatever the number of cases."""
    days = ctx.policy.final_negative_closure_days
    after = decode_cursor(cursor) if cursor is not None else None
    parts = []
    for state, (_, _, decided_at) in FINAL_STATES.items():
        # The state as a constant, not the column: the partial index then holds every column read, and the
        # walk reads no case row.
        part = select(
            Case.id, Case.reference, literal(state.value).label("state"), decided_at.label("decided_at")
        ).where(visible_cases(principal), _stuck(state))
        if after is not None:
            part = part.where(or_(decided_at > after[0], and_(decided_at == after[0], Case.id > after[1])))
        parts.append(part)
    merged = union_all(*parts).subquery()
    query = select(merged).order_by(merged.c.decided_at, merged.c.id)
    if limit is not None:
        query = query.limit(limit)
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(query).all()
    return [
        CaseToClose(
            row.id,
            row.reference,
            State(row.state),
            row.decided_at,
            row.decided_at + timedelta(days=days) if days is not None else None,
        )
        for row in rows
    ]


def cursor_after(item: CaseToClose) -> str:
    """Where the page after `item` starts."""
    return encode_cursor(item.decided_at, item.case_id)
