"""The records the workflow reads and answers with: actor, case snapshot, event request, decision, refusal.

Everything is a frozen dataclass: the service builds a snapshot from its rows, the workflow answers with a
`Decision` whose effects the service applies one by one, without diffing. Free texts (reasons, rationales,
notes, risk assessments) travel inside effects so the service can store them encrypted; they never appear in
`Decision.facts`, which go to the audit log and the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from app.workflow.deadlines import DeadlineSnapshot
from app.workflow.panels import PanelMember, PanelSnapshot
from app.workflow.states import (
    AgeBand,
    AgeOutcome,
    CloseReason,
    DeadlineKind,
    EventName,
    FormalOutcome,
    PreliminaryOutcome,
    RequestChannel,
    Role,
    Sector,
    State,
    Vote,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends an event: a user of an organisation of some sector, with their roles."""

    user_id: str
    organisation_id: str
    sector: Sector
    roles: frozenset[Role]
    is_system: bool = False


#: The scheduled job: it may only close a case whose reconsideration or review window has lapsed.
SYSTEM = Actor(
    user_id="system",
    organisation_id="system",
    sector=Sector.coordination,
    roles=frozenset(),
    is_system=True,
)


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """What the rules need to know about a case, and nothing personal.

    `first_panel_member_ids` is every member of every first (non-review) panel the case had: a review
    panel shares none of them. `state_before_suspension` is set only while the case is suspended.
    """

    id: str
    state: State
    created_at: datetime
    referring_organisation_id: str
    is_child: bool = False
    age_disputed: bool = False
    age_assessed: AgeOutcome | None = None
    unaccompanied: bool = False
    consent_given: bool = False
    shelter_needed: bool = False
    state_before_suspension: State | None = None
    assessor_id: str | None = None
    previous_assessor_ids: frozenset[str] = frozenset()
    caseworker_ids: frozenset[str] = frozenset()
    early_decision_requested: bool = False
    panel: PanelSnapshot | None = None
    first_panel_member_ids: frozenset[str] = frozenset()
    reconsideration_done: bool = False
    reconsiderations_held: int = 0
    review_done: bool = False
    second_check_pending: bool = False
    deadlines: tuple[DeadlineSnapshot, ...] = ()
    formal_outcome: FormalOutcome | None = None
    close_reason: CloseReason | None = None
    personal_data_erased: bool = False


@dataclass(frozen=True, slots=True)
class Referral:
    """The classification part of a referral: what decides the branch, never who the person is."""

    age_band: AgeBand = AgeBand.unknown
    date_of_birth: date | None = None
    age_disputed: bool = False
    unaccompanied: bool = False
    consent_given: bool = False
    shelter_needed: bool = False


@dataclass(frozen=True, slots=True)
class CarriedOver:
    """What a peer mechanism decided and granted on a case it transfers here, as its signed package says
    (`transfer_in`). Each decision is recorded as such; the policy says which are recognised here.

    `reflection_period_ends_at` is the end of the sender's reflection period if it still ran when the package
    was sealed; `transfer_consent` whether the person consented to the transfer (a child's case moves on a
    best-interests determination instead)."""

    peer: str
    sender_reference: str
    sender_state: State
    is_child: bool
    transfer_consent: bool
    age_assessed: AgeOutcome | None = None
    preliminary_outcome: PreliminaryOutcome | None = None
    preliminary_decided_at: datetime | None = None
    formal_outcome: FormalOutcome | None = None
    formal_decided_at: datetime | None = None
    reflection_period_ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonRequest:
    """The person's own request, as recorded: how it was expressed and when (who recorded it is the actor)."""

    how: RequestChannel
    at: datetime


@dataclass(frozen=True, slots=True)
class EventRequest:
    """An event and its fields (api-contract "events" table), with ids already resolved into records.

    - `assessor`: the user proposed by `assign_assessor`;
    - `outcome`: `positive`/`negative` for `preliminary_decision`, `adult`/`child` for `age_assessed`;
    - `reasons`: written reasons of a decision, or the new evidence of a reconsideration/review request;
    - `members`: the members of a panel being convened; `vote` and `rationale`: a vote; `reason`: a
      conflict's reason or a closure's reason code;
    - `risk_assessment`, `best_interests_determination`: needed for a voluntary return;
    - `consent_given`: stated with `age_assessed` = adult when no consent is on record;
    - `referral`: the classification, for `EventName.referral` and `transfer_in`;
    - `carried`: what the sending mechanism decided and granted, for `transfer_in`;
    - `peer`, `peer_reference`: the peer that accepted a transfer and its case reference, for
      `transfer_completed`;
    - `person_request`: how and when the person asked, for `request_early_decision` and `withdraw_consent`.
    """

    name: EventName
    outcome: PreliminaryOutcome | AgeOutcome | None = None
    reasons: str | None = None
    assessor: PanelMember | None = None
    members: tuple[PanelMember, ...] = ()
    vote: Vote | None = None
    rationale: str | None = None
    reason: str | None = None
    note: str | None = None
    risk_assessment: str | None = None
    best_interests_determination: str | None = None
    consent_given: bool | None = None
    referral: Referral | None = None
    carried: CarriedOver | None = None
    peer: str | None = None
    peer_reference: str | None = None
    person_request: PersonRequest | None = None


# --- Effects: what the service layer applies, in order, inside the event's one transaction. ---


@dataclass(frozen=True, slots=True)
class SetAssessor:
    """Assign (or, with None, unassign) the assessor who takes the reasonable-grounds decision."""

    assessor_id: str | None


@dataclass(frozen=True, slots=True)
class RecordPreviousAssessor:
    """Remember an assessor who decided once: a reconsideration needs a different one."""

    assessor_id: str


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """Open a deadline; the case holds at most one non-closed deadline per kind."""

    kind: DeadlineKind
    opened_at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class MeetDeadline:
    """Mark the non-closed deadline of `kind` met at `at` (late if `at` is after its due time)."""

    kind: DeadlineKind
    at: datetime


@dataclass(frozen=True, slots=True)
class CancelDeadline:
    """Cancel the non-closed deadline of `kind`: the case ended or the duty no longer applies."""

    kind: DeadlineKind
    at: datetime


@dataclass(frozen=True, slots=True)
class PauseDeadline:
    """Stop a duty's clock while the case is suspended, keeping the exact time that remained (negative if
    it was already overdue, so lateness is neither forgiven nor added to)."""

    kind: DeadlineKind
    at: datetime
    remaining: timedelta


@dataclass(frozen=True, slots=True)
class ResumeDeadline:
    """Restart a paused duty: `new_due_at` = resume time + the remaining time; clear pause fields."""

    kind: DeadlineKind
    at: datetime
    new_due_at: datetime


@dataclass(frozen=True, slots=True)
class ConvenePanel:
    """Seat a new panel on the case, replacing any current one (whose votes no longer count)."""

    members: tuple[PanelMember, ...]
    is_review: bool


@dataclass(frozen=True, slots=True)
class DissolvePanel:
    """The current panel's work is over (it decided, or the case ended): it no longer sits."""

    at: datetime


@dataclass(frozen=True, slots=True)
class RecordConflict:
    """A member declares a conflict of interest; `reason` is free text (store encrypted)."""

    user_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecordVote:
    """A member's vote; `rationale` is free text (store encrypted)."""

    user_id: str
    vote: Vote
    rationale: str


@dataclass(frozen=True, slots=True)
class SetEarlyDecisionRequested:
    """The person asked for the formal decision before the end of the reflection period."""

    at: datetime


@dataclass(frozen=True, slots=True)
class SetChild:
    """Whether child rules apply (presumption of minority, or its end after an age assessment)."""

    is_child: bool


@dataclass(frozen=True, slots=True)
class SetAgeAssessed:
    """Record an age assessment's result; the age is no longer disputed."""

    outcome: AgeOutcome


@dataclass(frozen=True, slots=True)
class SetConsent:
    """Record whether the person gives informed consent."""

    given: bool


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """A decision taken by people: `stage` preliminary / formal / review; `reasons` free text, if any."""

    stage: Literal["preliminary", "formal", "review"]
    outcome: str
    reasons: str | None = None


@dataclass(frozen=True, slots=True)
class SetStateBeforeSuspension:
    """Remember where the case was when it was suspended (None once found)."""

    state: State | None


@dataclass(frozen=True, slots=True)
class MarkReconsiderationDone:
    """A reconsideration was requested: `held` counts them. Once `used_up` (the policy's
    `reconsiderations_allowed` reached), a negative decision opens no new window."""

    held: int = 1
    used_up: bool = True


@dataclass(frozen=True, slots=True)
class AwaitSecondCheck:
    """A negative reasonable-grounds decision waits for a second decision maker before it takes effect
    (`pending`), or the second has decided (policy `second_check_of_negative_preliminary`)."""

    pending: bool


@dataclass(frozen=True, slots=True)
class MarkReviewDone:
    """The review has been held: its decision is final."""


@dataclass(frozen=True, slots=True)
class SetClosure:
    """Why the case closed; the texts are free text (store encrypted)."""

    reason: CloseReason
    risk_assessment: str | None = None
    best_interests_determination: str | None = None


@dataclass(frozen=True, slots=True)
class ClearClosure:
    """The closed case is open again (`reopen`): it has no closure reason and no end any more, so nothing
    (erasure after retention, a refused service request) treats it as ended."""


@dataclass(frozen=True, slots=True)
class RecordNote:
    """A free-text note or stated reason attached to the event (store encrypted)."""

    text: str


Effect = (
    SetAssessor
    | RecordPreviousAssessor
    | OpenDeadline
    | MeetDeadline
    | CancelDeadline
    | PauseDeadline
    | ResumeDeadline
    | ConvenePanel
    | DissolvePanel
    | RecordConflict
    | RecordVote
    | SetEarlyDecisionRequested
    | SetChild
    | SetAgeAssessed
    | SetConsent
    | RecordOutcome
    | SetStateBeforeSuspension
    | MarkReconsiderationDone
    | MarkReviewDone
    | AwaitSecondCheck
    | SetClosure
    | ClearClosure
    | RecordNote
)

FactValue = str | int | bool | None | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to an allowed event: the new state, the effects to apply in order, and audit facts
    (event, states, outcome, reason codes, deadline kinds; never personal data)."""

    event: EventName
    from_state: State | None
    new_state: State
    effects: tuple[Effect, ...]
    facts: Mapping[str, FactValue] = field(default_factory=dict)


RefusalKind = Literal["not_allowed_in_state", "forbidden", "held_back", "invalid"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event is refused; the case is unchanged. The kind says what kind of no it is, for every entrance
    to say in its own way (`app/api/problems.py` maps kinds to HTTP statuses):

    - `forbidden`: the role, or the relation to the case, does not allow the event;
    - `not_allowed_in_state`: the state does not accept the event; `allowed_events` are those this actor may
      send now;
    - `held_back`: the case or the time holds the event back (the reflection period runs, a window is closed,
      the quorum is not reached); `decide` also names the events allowed now;
    - `invalid`: the event's own fields are wrong (missing reasons, a panel that breaks the composition rules,
      an adult without consent).

    `code` is a stable machine-readable reason; `message` is for people and holds no personal data.
    """

    kind: RefusalKind
    code: str
    message: str
    state: State | None
    allowed_events: tuple[EventName, ...] = ()


def forbidden(code: str, message: str, state: State | None) -> Refusal:
    return Refusal("forbidden", code, message, state)


def held_back(code: str, message: str, state: State | None) -> Refusal:
    return Refusal("held_back", code, message, state)


def invalid(code: str, message: str, state: State | None) -> Refusal:
    return Refusal("invalid", code, message, state)
