"""What a case looks like to its readers: the views the use-cases return, and how they are built.

The views are the API's response schemas too (`response_model=CaseView`): their field types are the domain's
enums, so the OpenAPI document lists every value, and there is no second copy to keep in step. `CASE_VIEW`
turns a view into JSON and back (the idempotency record keeps a referral's view that way).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import Case, Document, Interview, JusticeMilestone, Panel
from app.security.permissions import Principal
from app.services.case_policy import policy_of
from app.services.cases.core import deadline_snapshots, snapshot_of
from app.services.context import ServiceContext
from app.services.entitlements import EntitlementView, entitlements_of, facts_of
from app.workflow import (
    AgeBand,
    CloseReason,
    DeadlineKind,
    DeadlineStatus,
    EventName,
    ExploitationForm,
    ExploitationScope,
    Gender,
    State,
    allowed_events,
    deadline_status,
)
from app.workflow.support import TESTIMONY_KINDS


@dataclass(frozen=True)
class DeadlineView:
    kind: DeadlineKind
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: DeadlineStatus


@dataclass(frozen=True)
class PanelView:
    id: uuid.UUID
    is_review: bool
    members: list[uuid.UUID]
    votes_cast: int
    conflicts_declared: int


@dataclass(frozen=True)
class CasePolicyView:
    """The policy governing a case: the name and version in force at its referral."""

    name: str
    version: int
    effective_from: date


@dataclass(frozen=True)
class CaseView:
    """A case without personal data."""

    id: uuid.UUID
    reference: Annotated[str, Field(description="what people say on the phone, e.g. MNR-2027-00042")]
    state: State
    version: int
    is_child: bool
    age_disputed: bool
    age_band: AgeBand
    gender: Gender
    nationality: str
    region: str
    exploitation_forms: list[ExploitationForm]
    exploitation_scope: ExploitationScope
    indicators: list[str]
    needs: dict[str, Any]
    referring_organisation_id: uuid.UUID
    assessor_id: uuid.UUID | None
    caseworker_ids: list[uuid.UUID]
    panel: PanelView | None
    created_at: datetime
    updated_at: datetime
    close_reason: CloseReason | None
    erased: bool
    deadlines: list[DeadlineView]
    allowed_events: list[EventName]
    interview_count: int = 0
    testimony_documents: Annotated[
        int, Field(description="evidence and asylum-interview transcripts on file: read them before interviewing again")
    ] = 0
    entitlements: Annotated[
        list[EntitlementView],
        Field(description="what the policy says identification opens, and where each stands for this person"),
    ] = field(default_factory=list)
    policy: Annotated[
        CasePolicyView | None,
        Field(description="the policy and version governing the case: those in force at its referral"),
    ] = None


@dataclass(frozen=True)
class HistoryView:
    at: datetime
    event: str
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    facts: dict[str, Any]
    has_text: Annotated[bool, Field(description="reasons or notes were recorded (encrypted, not shown here)")]


@dataclass(frozen=True)
class CasePage:
    items: list[CaseView]
    next_cursor: str | None


#: A case view to JSON and back (the API's body, the idempotency record's result).
CASE_VIEW: TypeAdapter[CaseView] = TypeAdapter(CaseView)


@dataclass(frozen=True)
class CaseRow:
    """What a list's row shows of a case, built from its row and deadlines alone: a `CaseView` runs the
    workflow's rules for the allowed events and reads panels, counts and milestones, which a row never shows
    (half the time of the queue page at a million cases)."""

    id: uuid.UUID
    reference: str
    state: State
    is_child: bool
    deadlines: list[DeadlineView]


def case_row(case: Case, now: datetime) -> CaseRow:
    return CaseRow(
        id=case.id,
        reference=case.reference,
        state=State(case.state),
        is_child=case.is_child,
        deadlines=[
            DeadlineView(d.kind, d.opened_at, d.due_at, d.met_at, deadline_status(d, now))
            for d in deadline_snapshots(case)
        ],
    )


@dataclass(frozen=True)
class RowPage:
    items: list[CaseRow]
    next_cursor: str | None


@dataclass(frozen=True)
class ViewExtras:
    """What a case view needs beyond the case row and its deadlines."""

    panel: Panel | None = None
    interviews: int = 0
    testimony: int = 0
    milestones: frozenset[str] = frozenset()


def view_extras(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, ViewExtras]:
    """Panels, counts and milestones for a whole page of cases in two statements, not a few per case."""
    if not case_ids:
        return {}
    panels: dict[uuid.UUID, Panel] = {}
    open_panels = session.scalars(
        select(Panel)
        .options(selectinload(Panel.members))
        .where(Panel.case_id.in_(case_ids), Panel.dissolved_at.is_(None))
        .order_by(Panel.convened_at)
    )
    for panel in open_panels:
        panels[panel.case_id] = panel  # the latest open one wins, as in `current_panel`
    interviews = select(func.count()).where(Interview.case_id == Case.id).scalar_subquery()
    testimony = (
        select(func.count())
        .where(Document.case_id == Case.id, Document.kind.in_(sorted(TESTIMONY_KINDS)), Document.content.is_not(None))
        .scalar_subquery()
    )
    # The milestones on file, in the same statement as the counts (codes, so a space separates them).
    milestones = (
        select(func.aggregate_strings(JusticeMilestone.step, " "))
        .where(JusticeMilestone.case_id == Case.id)
        .scalar_subquery()
    )
    counts = session.execute(select(Case.id, interviews, testimony, milestones).where(Case.id.in_(case_ids))).all()
    return {
        case_id: ViewExtras(panels.get(case_id), int(n), int(t), frozenset(steps.split()) if steps else frozenset())
        for case_id, n, t, steps in counts
    }


def case_view(
    session: Session, ctx: ServiceContext, case: Case, principal: Principal | None, extras: ViewExtras | None = None
) -> CaseView:
    """The view of one case for this caller (whose allowed events it lists); `extras` from `view_extras`
    when a page of cases is built at once."""
    now = ctx.clock.now()
    if extras is None:
        extras = view_extras(session, [case.id])[case.id]
    panel = extras.panel
    snapshot = snapshot_of(case, panel)
    policy = policy_of(session, ctx, case)
    events = [] if principal is None else allowed_events(snapshot, principal.actor, now, policy)
    return CaseView(
        id=case.id,
        reference=case.reference,
        state=State(case.state),
        version=case.version,
        is_child=case.is_child,
        age_disputed=case.age_disputed,
        age_band=AgeBand(case.age_band),
        gender=Gender(case.gender),
        nationality=case.nationality,
        region=case.region,
        exploitation_forms=[ExploitationForm(form) for form in case.exploitation_forms],
        exploitation_scope=ExploitationScope(case.exploitation_scope),
        indicators=list(case.indicators),
        needs=dict(case.needs),
        referring_organisation_id=case.referring_organisation_id,
        assessor_id=case.assessor_id,
        caseworker_ids=[uuid.UUID(c) for c in case.caseworker_ids],
        panel=None
        if panel is None
        else PanelView(
            id=panel.id,
            is_review=panel.is_review,
            members=[seat.user_id for seat in panel.members],
            votes_cast=sum(1 for seat in panel.members if seat.vote is not None),
            conflicts_declared=sum(1 for seat in panel.members if seat.conflict_declared_at is not None),
        ),
        created_at=case.created_at,
        updated_at=case.updated_at,
        close_reason=CloseReason(case.close_reason) if case.close_reason else None,
        erased=case.erased_at is not None,
        deadlines=[
            DeadlineView(d.kind, d.opened_at, d.due_at, d.met_at, deadline_status(d, now)) for d in snapshot.deadlines
        ],
        allowed_events=events,
        interview_count=extras.interviews,
        testimony_documents=extras.testimony,
        entitlements=entitlements_of(policy, facts_of(case, extras.milestones)),
        policy=CasePolicyView(policy.name, policy.version, policy.effective_from),
    )
