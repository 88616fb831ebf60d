"""The support plan of one person, as a page shows it: the periods of support (identification to closure,
and again after each reopening), the reviews held and the next one due, the needs assessments, the needs and
their service referrals, the justice milestones and the entitlements.

The rules live elsewhere: the recurring review duty (`support_review`) is opened by identification and by
`reopen` and moved on by the event `support_plan_reviewed` (`app/workflow/events.py`, durations from the
policy's `[support_plan]`); this module only reads, for a reader with need-to-know.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.db import read_only
from app.models import CaseHistory
from app.security.permissions import Principal
from app.services import assessments, justice, support
from app.services.assessments import AssessmentView
from app.services.case_policy import policy_of
from app.services.cases.core import load_visible_case, require_need_to_know, snapshot_of
from app.services.cases.views import DeadlineView
from app.services.context import ServiceContext
from app.services.entitlements import EntitlementView, entitlements_of, facts_of, milestones_by_case
from app.services.justice import MilestoneView
from app.services.support import NeedView, ServiceView
from app.workflow import TERMINAL_STATES, DeadlineKind, EventName, State, deadline_status
from app.workflow.deadlines import find_unclosed

__all__ = ["ReviewView", "SupportPeriod", "SupportPlanView", "support_plan"]


@dataclass(frozen=True)
class SupportPeriod:
    """From an identification (or a reopening) to the closure that ended it, if any."""

    started_at: datetime
    started_by: EventName
    ended_at: datetime | None
    end_state: State | None
    close_reason: str | None


@dataclass(frozen=True)
class ReviewView:
    at: datetime
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    late: bool
    has_note: bool


@dataclass(frozen=True)
class SupportPlanView:
    """`active`: the person is identified and supported now; `next_review`: the open review duty, if any."""

    case_id: uuid.UUID
    state: State
    active: bool
    periods: list[SupportPeriod]
    reviews: list[ReviewView]
    next_review: DeadlineView | None
    assessments: list[AssessmentView]
    needs: list[NeedView]
    services: list[ServiceView]
    milestones: list[MilestoneView]
    entitlements: list[EntitlementView]


def _periods(rows: list[CaseHistory]) -> list[SupportPeriod]:
    periods: list[SupportPeriod] = []
    current: tuple[datetime, EventName] | None = None
    for row in rows:
        if row.from_state == row.to_state:
            continue  # an action that left the state as it was (a caseworker assigned, a review held)
        to_state = State(row.to_state)
        if to_state is State.identified and current is None:
            current = (row.at, EventName(row.event))
        elif to_state in TERMINAL_STATES and current is not None:
            reason = row.facts.get("reason") if to_state is State.closed else None
            periods.append(SupportPeriod(current[0], current[1], row.at, to_state, reason))
            current = None
    if current is not None:
        periods.append(SupportPeriod(current[0], current[1], None, None, None))
    return periods


def support_plan(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> SupportPlanView:
    """Everything about the person's support on one case, for a reader with need-to-know."""
    now = ctx.clock.now()
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, "this case's support plan")
        history = list(
            session.scalars(
                select(CaseHistory).where(CaseHistory.case_id == case.id).order_by(CaseHistory.at, CaseHistory.id)
            )
        )
        review = find_unclosed(snapshot_of(case, None).deadlines, DeadlineKind.support_review)
        steps = milestones_by_case(session, [case.id])[case.id]
        state, entitled = State(case.state), entitlements_of(policy_of(session, ctx, case), facts_of(case, steps))
    return SupportPlanView(
        case_id=case_id,
        state=state,
        active=state is State.identified,
        periods=_periods(history),
        reviews=[
            ReviewView(r.at, r.actor_id, r.organisation_id, bool(r.facts.get("late")), r.text_blob is not None)
            for r in history
            if r.event == EventName.support_plan_reviewed.value
        ],
        next_review=None
        if review is None
        else DeadlineView(review.kind, review.opened_at, review.due_at, review.met_at, deadline_status(review, now)),
        assessments=assessments.list_assessments(ctx, principal, case_id),
        needs=support.list_needs(ctx, principal, case_id),
        services=support.list_services(ctx, principal, case_id),
        milestones=justice.list_milestones(ctx, principal, case_id),
        entitlements=entitled,
    )
