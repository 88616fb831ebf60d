"""Bodies of the referral, case, event and notification endpoints (api-contract "Referrals and cases")."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.workflow import (
    AgeBand,
    CloseReason,
    DeadlineKind,
    DeadlineStatus,
    EventName,
    ExploitationForm,
    Gender,
    State,
)
from app.workflow.indicators import indicator_codes

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Nationality = Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}|unknown)$")]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(_Strict):
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    aliases: list[ShortText] = Field(default_factory=list, max_length=20)
    date_of_birth: date | None = None
    phone: ShortText | None = None
    email: ShortText | None = None
    address: ShortText | None = None
    alternative_contact: ShortText | None = None


class PeriodIn(_Strict):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    ongoing: bool = False

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountIn(_Strict):
    what_happened: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    how_it_started: Text | None = None
    living_conditions: Text | None = None
    how_treated: Text | None = None
    why_stayed_or_left: Text | None = None
    period: PeriodIn = Field(default_factory=PeriodIn)
    places: list[ShortText] = Field(default_factory=list, max_length=50)
    exploiters: Text | None = None
    other_victims: Text | None = None
    reported_to_police: bool = False
    police_reference: ShortText | None = None


class NeedsIn(_Strict):
    interpreter_language: Annotated[str, StringConstraints(max_length=40)] | None = None
    communication_aid: Annotated[str, StringConstraints(max_length=200)] | None = None
    dependants: int = Field(default=0, ge=0, le=30)
    support_wanted: bool = True
    shelter_needed: bool = False


class ConsentIn(_Strict):
    given: bool


class ReferralIn(_Strict):
    person: PersonIn
    account: AccountIn
    needs: NeedsIn = Field(default_factory=NeedsIn)
    age_band: AgeBand
    age_disputed: bool = False
    unaccompanied: bool = False
    gender: Gender
    nationality: Nationality
    region: Region
    exploitation_forms: list[ExploitationForm] = Field(min_length=1, max_length=11)
    indicators: list[str] = Field(default_factory=list, max_length=200)
    consent: ConsentIn
    asylum_interview_reference: ShortText | None = None

    @field_validator("indicators")
    @classmethod
    def _known_indicators(cls, codes: list[str]) -> list[str]:
        unknown = sorted(set(codes) - indicator_codes())
        if unknown:
            raise ValueError(f"{len(unknown)} indicator code(s) are not in the catalogue")
        return sorted(set(codes))


class DeadlineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: DeadlineKind
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: DeadlineStatus


class PanelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    is_review: bool
    members: list[uuid.UUID]
    votes_cast: int
    conflicts_declared: int


class CaseOut(BaseModel):
    """A case without personal data."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    state: State
    version: int
    is_child: bool
    age_disputed: bool
    age_band: AgeBand
    gender: Gender
    nationality: str
    region: str
    exploitation_forms: list[ExploitationForm]
    indicators: list[str]
    needs: dict[str, Any]
    referring_organisation_id: uuid.UUID
    assessor_id: uuid.UUID | None
    caseworker_ids: list[uuid.UUID]
    panel: PanelOut | None
    created_at: datetime
    updated_at: datetime
    close_reason: CloseReason | None
    erased: bool
    deadlines: list[DeadlineOut]
    allowed_events: list[EventName]
    interview_count: int = 0
    testimony_documents: int = Field(
        default=0, description="evidence and asylum-interview transcripts on file: read them before interviewing again"
    )


class CasePageOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class EventIn(_Strict):
    """An event and its fields; which fields an event needs is in the API contract's events table."""

    event: EventName
    assessor_id: uuid.UUID | None = None
    outcome: Literal["positive", "negative", "adult", "child"] | None = None
    reasons: Text | None = None
    member_ids: list[uuid.UUID] | None = Field(default=None, max_length=30)
    reason: ShortText | None = None
    vote: Literal["identify", "not_identify", "abstain"] | None = None
    rationale: Text | None = None
    note: Text | None = None
    risk_assessment: Text | None = None
    best_interests_determination: Text | None = None
    consent_given: bool | None = None


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    event: str
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    facts: dict[str, Any]
    has_text: bool = Field(description="reasons or notes were recorded (encrypted, not shown here)")


class IdentityOut(BaseModel):
    person: dict[str, Any]
    account: dict[str, Any]


class ErasureIn(_Strict):
    reason: ShortText = Field(
        description="person_request, withdrawal, retention, court_order or other; any other text is recorded as "
        "`other`, since a free-text reason could name the person"
    )


class CaseworkerIn(_Strict):
    caseworker_id: uuid.UUID


class NotificationIn(_Strict):
    gender: Gender
    age_band: AgeBand
    nationality: Nationality
    region: Region
    exploitation_forms: list[ExploitationForm] = Field(min_length=1, max_length=11)


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    gender: Gender
    age_band: AgeBand
    nationality: str
    region: str
    exploitation_forms: list[ExploitationForm]
    sector: str
    created_at: datetime
