"""Reading cases: one case, a page of cases, a case's history, the steps a case holds back, counts per state.
Read-only sessions: no lock, no write."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, true
from sqlalchemy.orm import aliased, selectinload

from app.db import read_only
from app.models import Case, CaseHistory, Deadline
from app.security.permissions import Principal
from app.services import state_counts
from app.services.case_access import visible_cases
from app.services.cases.core import load_snapshot, load_visible_case
from app.services.cases.views import CasePage, CaseView, HistoryView, case_view, view_extras
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, InvalidInput
from app.workflow import EventName, State, held_back_events
from app.workflow.references import normalise_reference


def get_case(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> CaseView:
    with read_only(ctx.read_sessions) as session:
        return case_view(session, ctx, load_visible_case(session, principal, case_id, for_update=False), principal)


@dataclass(frozen=True)
class HeldStep:
    """A step this caller could take on the case in its state, held back for now: `code` says why (the
    workflow's refusal code, e.g. `reflection_period_running`), `detail` in English for logs and the API."""

    event: EventName
    code: str
    detail: str


def held_back_steps(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[HeldStep]:
    """The steps the case holds back for this caller now, each with the workflow's reason."""
    with read_only(ctx.read_sessions) as session:
        snapshot = load_snapshot(session, load_visible_case(session, principal, case_id, for_update=False))
        refusals = held_back_events(snapshot, principal.actor, ctx.clock.now(), ctx.policy)
        return [HeldStep(event, refusal.code, refusal.message) for event, refusal in refusals]


def count_by_state(ctx: ServiceContext, principal: Principal) -> dict[State, int]:
    """How many cases this caller may know of stand in each state (every state, zeros included): for a caller
    who may know of every case, the counts kept by the database (`state_counts`), else counted here."""
    visible = visible_cases(principal)
    with read_only(ctx.read_sessions) as session:
        if visible is true():
            counts = state_counts.totals(session)
        else:
            rows = session.execute(select(Case.state, func.count()).where(visible).group_by(Case.state)).all()
            counts = {state: int(n) for state, n in rows}
    return {state: counts.get(state.value, 0) for state in State}


def encode_cursor(when: datetime, row_id: uuid.UUID) -> str:
    """A keyset cursor: the (time, id) of the last row of a page, opaque to the caller."""
    raw = json.dumps([when.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, case_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created)
        if when.utcoffset() is None:  # a time without offset compares with no stored time
            raise ValueError("naive time")
        return when, uuid.UUID(case_id)
    except (ValueError, TypeError):
        raise InvalidInput("the cursor is not valid", [FieldProblem(("cursor",), "not a cursor")]) from None


def overdue_condition(now: datetime) -> Any:
    """A case has an overdue duty: open, not paused, past its due time (rights are never overdue). On an alias
    of the deadlines, so that a query already reading deadlines can ask it of their case."""
    duty = aliased(Deadline)
    return exists(
        select(duty.id).where(
            duty.case_id == Case.id,
            duty.is_duty.is_(True),
            duty.met_at.is_(None),
            duty.cancelled_at.is_(None),
            duty.paused_at.is_(None),
            duty.due_at < now,
        )
    )


def list_cases(
    ctx: ServiceContext,
    principal: Principal,
    *,
    state: State | None = None,
    overdue: bool | None = None,
    organisation_id: uuid.UUID | None = None,
    reference: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CasePage:
    """The cases this caller may know of, newest first, a page at a time (`cursor`: the previous page's).
    `reference` finds one case by what a person typed (`mnr 2027 42`); a case the caller may not know of is
    not found, exactly as an unknown reference."""
    now = ctx.clock.now()
    query = select(Case).where(visible_cases(principal))
    if reference is not None:
        stored = normalise_reference(reference)
        if stored is None:
            raise InvalidInput(
                "not a case reference", [FieldProblem(("reference",), "a reference looks like MNR-2027-00042")]
            )
        query = query.where(Case.reference == stored)
    if state is not None:
        query = query.where(Case.state == State(state).value)
    if organisation_id is not None:
        query = query.where(Case.referring_organisation_id == organisation_id)
    if overdue is True:
        query = query.where(overdue_condition(now))
    elif overdue is False:
        query = query.where(~overdue_condition(now))
    if cursor is not None:
        created, last_id = decode_cursor(cursor)
        query = query.where((Case.created_at < created) | and_(Case.created_at == created, Case.id < last_id))
    query = query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    with read_only(ctx.read_sessions) as session:
        cases = list(session.scalars(query.options(selectinload(Case.deadlines))))
        page, more = cases[:limit], len(cases) > limit
        extras = view_extras(session, [case.id for case in page])
        return CasePage(
            items=[case_view(session, ctx, case, principal, extras[case.id]) for case in page],
            next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more and page else None,
        )


def history(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[HistoryView]:
    """State changes and actions on the case, without personal data (texts only say that there are some)."""
    with read_only(ctx.read_sessions) as session:
        load_visible_case(session, principal, case_id, for_update=False)
        rows = session.scalars(
            select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(CaseHistory.at, CaseHistory.id)
        )
        return [
            HistoryView(
                r.at,
                r.event,
                r.from_state,
                r.to_state,
                r.actor_id,
                r.organisation_id,
                r.facts,
                r.text_blob is not None,
            )
            for r in rows
        ]
