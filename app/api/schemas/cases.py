"""Request bodies of the referral, case and notification endpoints (api-contract "Referrals and cases").

Responses are the services' views themselves (`app/services/cases/views.py`), and an event's body is the
service's `EventInput`: neither is copied here.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.services.cases.events import ShortText, Text
from app.workflow import AgeBand, ExploitationForm, ExploitationScope, Gender
from app.workflow.communication import CommunicationAid, language_code
from app.workflow.indicators import indicator_codes

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


LanguageCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2,3}$"),
    AfterValidator(language_code),
    Field(description="a BCP 47 primary language subtag: ISO 639-1 (`ti`), else ISO 639-3 (`prs`)"),
]


class NeedsIn(_Strict):
    """Kept in clear and shown to auditors: codes only; anything descriptive goes into `note` (encrypted)."""

    interpreter_language: LanguageCode | None = None
    communication_aid: CommunicationAid | None = None
    dependants: int = Field(default=0, ge=0, le=30)
    support_wanted: bool = True
    shelter_needed: bool = False
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)] | None = Field(
        default=None,
        description="what the codes cannot say (a dialect, an interpreter's gender...): encrypted with the case "
        "key, returned by the identity endpoint as `account.needs_note`",
    )


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
    exploitation_scope: ExploitationScope = Field(
        default=ExploitationScope.unknown,
        description="internal (within the country) or cross_border; unknown when the referrer cannot say",
    )
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
