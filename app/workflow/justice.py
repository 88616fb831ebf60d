"""Justice and entitlements: the milestones of the person's criminal proceedings, compensation, residence permit
and non-punishment, and the entitlements a policy says identification opens.

A milestone is a code and a date (what happened, when), never a name: free text about it is encrypted with the
case key by the service. Entitlements are declared in each policy file (`[[entitlements]]`), each with its
source; `entitlement_status` says, from the case's clear facts, whether one is open for this person.

Protection never depends on any of this (Directive 2011/36 art. 11(3); CETS 197 art. 12(6)): no event of the
workflow reads a milestone. An entitlement that waits on a complaint or a testimony (the French temporary
residence card, CESEDA L.425-1) is shown as `awaiting_condition`: the person may choose, nothing else waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field, model_validator

from app.workflow.datafiles import StrictModel
from app.workflow.states import Language


class Track(StrEnum):
    """What a milestone belongs to (OSCE/ODIHR NRM handbook, 2022: the criminal justice and redress pillar)."""

    criminal_proceedings = "criminal_proceedings"
    compensation = "compensation"
    residence_permit = "residence_permit"
    non_punishment = "non_punishment"  # CETS 197 art. 26; Directive 2011/36 art. 8


class Milestone(StrEnum):
    """One step of a track. Codes are unique across tracks, so a step names its track (`TRACK_OF`)."""

    # criminal proceedings
    complaint_filed = "complaint_filed"
    testimony_given = "testimony_given"
    investigation_opened = "investigation_opened"
    investigation_discontinued = "investigation_discontinued"
    charges_brought = "charges_brought"
    trial_held = "trial_held"
    judgment_conviction = "judgment_conviction"
    judgment_acquittal = "judgment_acquittal"
    appeal_lodged = "appeal_lodged"
    conviction_final = "conviction_final"
    # compensation
    civil_party_joined = "civil_party_joined"
    compensation_claimed = "compensation_claimed"
    compensation_awarded = "compensation_awarded"
    compensation_refused = "compensation_refused"
    compensation_paid = "compensation_paid"
    # residence permit
    reflection_receipt_issued = "reflection_receipt_issued"
    permit_applied = "permit_applied"
    permit_granted = "permit_granted"
    permit_renewed = "permit_renewed"
    permit_refused = "permit_refused"
    resident_card_granted = "resident_card_granted"
    # non-punishment
    non_punishment_raised = "non_punishment_raised"
    non_punishment_applied = "non_punishment_applied"
    non_punishment_not_applied = "non_punishment_not_applied"


_STEPS: Mapping[Track, tuple[Milestone, ...]] = {
    Track.criminal_proceedings: (
        Milestone.complaint_filed,
        Milestone.testimony_given,
        Milestone.investigation_opened,
        Milestone.investigation_discontinued,
        Milestone.charges_brought,
        Milestone.trial_held,
        Milestone.judgment_conviction,
        Milestone.judgment_acquittal,
        Milestone.appeal_lodged,
        Milestone.conviction_final,
    ),
    Track.compensation: (
        Milestone.civil_party_joined,
        Milestone.compensation_claimed,
        Milestone.compensation_awarded,
        Milestone.compensation_refused,
        Milestone.compensation_paid,
    ),
    Track.residence_permit: (
        Milestone.reflection_receipt_issued,
        Milestone.permit_applied,
        Milestone.permit_granted,
        Milestone.permit_renewed,
        Milestone.permit_refused,
        Milestone.resident_card_granted,
    ),
    Track.non_punishment: (
        Milestone.non_punishment_raised,
        Milestone.non_punishment_applied,
        Milestone.non_punishment_not_applied,
    ),
}

#: The track of every milestone.
TRACK_OF: Mapping[Milestone, Track] = {step: track for track, steps in _STEPS.items() for step in steps}
assert set(TRACK_OF) == set(Milestone), "every milestone belongs to one track"


def steps_of(track: Track) -> tuple[Milestone, ...]:
    """The milestones of a track, in the order they usually come."""
    return _STEPS[track]


class IdentificationStage(StrEnum):
    """Which identification opens an entitlement: the preliminary (reasonable grounds) or the formal one."""

    preliminary = "preliminary"
    formal = "formal"


class EntitlementRule(StrictModel):
    """An entitlement a policy lists: what identification opens for the person, with its source.

    - `opened_by`: the preliminary (positive reasonable-grounds decision) or the formal identification;
    - `requires_any`: milestones of which one must be on file too (e.g. a complaint or a testimony);
    - `foreign_nationals_only`: for a person whose nationality is not the policy's country;
    - `to_be_checked`: the source or its reading is not certain; the docs and the view say so.
    """

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$")
    opened_by: IdentificationStage
    title: dict[Language, str]
    requires_any: tuple[Milestone, ...] = ()
    foreign_nationals_only: bool = False
    source: str = Field(min_length=3)
    to_be_checked: bool = False

    @model_validator(mode="after")
    def _every_language(self) -> EntitlementRule:
        missing = [language.value for language in Language if not self.title.get(language, "").strip()]
        if missing:
            raise ValueError(f"{self.code}: a title is needed in {', '.join(missing)}")
        return self


class EntitlementStatus(StrEnum):
    """Where an entitlement stands for one person."""

    not_yet = "not_yet"  # the identification that opens it has not been reached
    open = "open"  # the person holds it now
    awaiting_condition = "awaiting_condition"  # reached, but it also needs a milestone (the person's choice)
    not_applicable = "not_applicable"  # it is for foreign nationals and the person is a national


@dataclass(frozen=True, slots=True)
class EntitlementFacts:
    """What the rule reads about a case: clear facts only.

    `preliminary_positive`: a positive reasonable-grounds decision is on file; `identified`: the last formal
    (or review) decision identified the person; `nationality`: ISO 3166-1 alpha-2 or `unknown`."""

    preliminary_positive: bool
    identified: bool
    nationality: str
    milestones: frozenset[Milestone]


def entitlement_status(rule: EntitlementRule, facts: EntitlementFacts, country: str) -> EntitlementStatus:
    """Whether `rule` is open for this person, under a policy of `country` (its holiday country code).

    An unknown nationality is not taken as the country's: the entitlement is shown rather than hidden."""
    if rule.foreign_nationals_only and facts.nationality.upper() == country.upper():
        return EntitlementStatus.not_applicable
    reached = facts.identified or (rule.opened_by is IdentificationStage.preliminary and facts.preliminary_positive)
    if not reached:
        return EntitlementStatus.not_yet
    if rule.requires_any and not facts.milestones & set(rule.requires_any):
        return EntitlementStatus.awaiting_condition
    return EntitlementStatus.open
