"""Send an event to a case: lock it, check the caller's expected version, resolve the ids the event names,
ask the workflow, apply its decision and append the audit entry, in one transaction.

`EventInput` is what any entrance parses an event into: the API takes it as its request body, a web form or
a command builds the same. Its limits (the length of a free text, the size of a panel) are declared on it once,
for every entrance to check with the same `pydantic.TypeAdapter`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import User
from app.security.permissions import Principal
from app.services.case_policy import policy_of
from app.services.cases.core import (
    actor_ids_of,
    append_decision_audit,
    apply_decision,
    audit_actor_of,
    load_snapshot,
    load_visible_case,
)
from app.services.cases.views import CaseView, case_view
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, InvalidInput, PreconditionFailed, refused
from app.workflow import (
    AgeOutcome,
    Decision,
    EventName,
    EventRequest,
    PanelMember,
    PersonRequest,
    PreliminaryOutcome,
    RequestChannel,
    Role,
    Sector,
    Vote,
    decide,
)

#: A free text the service keeps (reasons, rationales, notes, assessments), and a short one (a reason code).
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


@dataclass(frozen=True)
class PersonRequestInput:
    """The person's own request behind `request_early_decision` and `withdraw_consent`: how it was
    expressed and when (a time with its offset); who recorded it is the caller."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    how: RequestChannel
    at: AwareDatetime


@dataclass(frozen=True)
class EventInput:
    """An event and its fields; which fields an event needs is in docs/workflow.md and the API contract's
    events table. Ids are resolved into workflow records by `send_event`, not by the caller."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    event: EventName
    assessor_id: uuid.UUID | None = None
    outcome: Literal["positive", "negative", "adult", "child"] | None = None
    reasons: Text | None = None
    member_ids: Annotated[tuple[uuid.UUID, ...] | None, Field(max_length=30)] = None
    reason: ShortText | None = None
    vote: Vote | None = None
    rationale: Text | None = None
    note: Text | None = None
    risk_assessment: Text | None = None
    best_interests_determination: Text | None = None
    consent_given: bool | None = None
    request: Annotated[
        PersonRequestInput | None,
        Field(
            description="required by request_early_decision and withdraw_consent: how (in_writing, orally, "
            "through_representative) and when the person asked; the caller is recorded as who recorded it"
        ),
    ] = None


def _resolve_user(session: Session, user_id: uuid.UUID, field: str) -> PanelMember:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput("no such active user", [FieldProblem((field,), "no such active user")])
    return PanelMember(
        user_id=str(user.id),
        organisation_id=str(user.organisation_id),
        sector=Sector(user.organisation.sector),
        roles=frozenset(Role(r) for r in user.roles),
    )


def event_request(session: Session, event: EventInput) -> EventRequest:
    """The workflow's request for this input: outcome codes read for the event, user ids resolved."""
    name = event.event
    if name in (EventName.referral, EventName.transfer_in):
        raise InvalidInput(
            f"a {name.value} creates a case; it is not an event of one", [FieldProblem(("event",), "not an event")]
        )
    outcome: PreliminaryOutcome | AgeOutcome | None = None
    if event.outcome is not None:
        try:
            outcome = AgeOutcome(event.outcome) if name is EventName.age_assessed else PreliminaryOutcome(event.outcome)
        except ValueError:
            raise InvalidInput("unknown outcome", [FieldProblem(("outcome",), "unknown outcome")]) from None
    assessor = _resolve_user(session, event.assessor_id, "assessor_id") if event.assessor_id else None
    members = tuple(_resolve_user(session, member_id, "member_ids") for member_id in event.member_ids or ())
    if len({m.user_id for m in members}) != len(members):
        raise InvalidInput("a member is listed twice", [FieldProblem(("member_ids",), "duplicate member")])
    return EventRequest(
        name=name,
        outcome=outcome,
        reasons=event.reasons,
        assessor=assessor,
        members=members,
        vote=event.vote,
        rationale=event.rationale,
        reason=event.reason,
        note=event.note,
        risk_assessment=event.risk_assessment,
        best_interests_determination=event.best_interests_determination,
        consent_given=event.consent_given,
        person_request=PersonRequest(event.request.how, event.request.at) if event.request is not None else None,
    )


def send_event(
    ctx: ServiceContext,
    principal: Principal,
    case_id: uuid.UUID,
    event: EventInput,
    expected_version: int | None = None,
) -> CaseView:
    """Send one event to one case; `expected_version` (the version the caller read) guards against a change
    made in between (else `PreconditionFailed`, with the current version)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        if expected_version is not None and expected_version != case.version:
            raise PreconditionFailed(
                "the case changed since you read it; reload it and try again", current_version=case.version
            )
        request = event_request(session, event)
        decision = decide(load_snapshot(session, case), principal.actor, request, now, policy_of(session, ctx, case))
        if not isinstance(decision, Decision):
            raise refused(decision)
        apply_decision(session, ctx, case, decision, actor_ids_of(principal), now)
        session.flush()
        view = case_view(session, ctx, case, principal)
        append_decision_audit(session, ctx, case, decision, audit_actor_of(principal), now)
        return view
