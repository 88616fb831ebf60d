"""The vocabulary of the mechanism: states, events, roles, sectors, deadline kinds and classification codes.

Every name is the domain's own word (`docs/workflow.md`, `domain.md`), so that a log line, an API field and a
sentence of the associations' proposal say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class State(StrEnum):
    """Where a case stands in the double identification."""

    referred = "referred"
    preliminary_assessment = "preliminary_assessment"
    recovery_period = "recovery_period"
    preliminary_negative = "preliminary_negative"
    formal_assessment = "formal_assessment"
    identified = "identified"
    not_identified = "not_identified"
    under_review = "under_review"
    suspended = "suspended"
    closed = "closed"
    withdrawn = "withdrawn"


#: States in which the person is in contact and the case moves.
ACTIVE_STATES: frozenset[State] = frozenset(
    {
        State.referred,
        State.preliminary_assessment,
        State.recovery_period,
        State.preliminary_negative,
        State.formal_assessment,
        State.identified,
        State.not_identified,
        State.under_review,
    }
)
#: States that end a case: the clocks stop and nothing else happens to it. Only `reopen` leaves `closed`, when a
#: person identified and closed as supported (or out of contact) needs support again: the history continues.
TERMINAL_STATES: frozenset[State] = frozenset({State.closed, State.withdrawn})
#: Every state that is not terminal (active or suspended).
OPEN_STATES: frozenset[State] = frozenset(set(State) - TERMINAL_STATES)


class EventName(StrEnum):
    """The verbs of the API: what a person does to a case. `referral` creates one."""

    referral = "referral"
    assign_assessor = "assign_assessor"
    preliminary_decision = "preliminary_decision"
    request_reconsideration = "request_reconsideration"
    convene_panel = "convene_panel"
    request_early_decision = "request_early_decision"
    declare_conflict = "declare_conflict"
    cast_vote = "cast_vote"
    formal_decision = "formal_decision"
    request_review = "request_review"
    review_decision = "review_decision"
    report_missing = "report_missing"
    report_found = "report_found"
    withdraw_consent = "withdraw_consent"
    close = "close"
    age_assessed = "age_assessed"
    child_protection_notified = "child_protection_notified"
    guardian_appointed = "guardian_appointed"
    shelter_offered = "shelter_offered"
    police_notified = "police_notified"
    emergency_shelter_provided = "emergency_shelter_provided"
    support_plan_reviewed = "support_plan_reviewed"
    reopen = "reopen"
    # Cross-border transfers (docs/transfers.md): a case accepted from a peer mechanism, and the sender's case
    # closed once the peer's signed receipt says it accepted it.
    transfer_in = "transfer_in"
    transfer_completed = "transfer_completed"


class Role(StrEnum):
    """What a user may do; a user may hold several."""

    referrer = "referrer"
    assessor = "assessor"
    coordinator = "coordinator"
    panel_member = "panel_member"
    caseworker = "caseworker"
    auditor = "auditor"
    admin = "admin"


class Sector(StrEnum):
    """The sector of an organisation: who the first responders and panel members are."""

    ngo = "ngo"
    police = "police"
    labour_inspection = "labour_inspection"
    social_services = "social_services"
    child_protection = "child_protection"
    health = "health"
    education = "education"
    asylum = "asylum"
    prosecution = "prosecution"
    coordination = "coordination"


class DeadlineKind(StrEnum):
    """Each clock a case can run. Duties are someone's obligation; rights belong to the person."""

    preliminary_decision = "preliminary_decision"
    child_protection_referral = "child_protection_referral"
    guardian_appointment = "guardian_appointment"
    shelter_offer = "shelter_offer"
    panel_convening = "panel_convening"
    formal_decision = "formal_decision"
    review_decision = "review_decision"
    missing_child_report = "missing_child_report"
    reflection_period = "reflection_period"
    reconsideration_window = "reconsideration_window"
    review_window = "review_window"
    emergency_shelter = "emergency_shelter"
    support_review = "support_review"


#: Rights of the person: nothing cuts them short, suspension does not pause them.
RIGHT_KINDS: frozenset[DeadlineKind] = frozenset(
    {DeadlineKind.reflection_period, DeadlineKind.reconsideration_window, DeadlineKind.review_window}
)
#: Duties: someone must act; their clocks stop while the case is suspended.
DUTY_KINDS: frozenset[DeadlineKind] = frozenset(set(DeadlineKind) - RIGHT_KINDS)
#: Duties that exist only because the person is (presumed) a child.
CHILD_DUTY_KINDS: frozenset[DeadlineKind] = frozenset(
    {
        DeadlineKind.child_protection_referral,
        DeadlineKind.guardian_appointment,
        DeadlineKind.missing_child_report,
    }
)


class DeadlineStatus(StrEnum):
    """The status the API shows; `overdue` is derived from the time, never stored."""

    open = "open"
    overdue = "overdue"
    met = "met"
    met_late = "met_late"
    paused = "paused"
    cancelled = "cancelled"


class DurationUnit(StrEnum):
    """How a policy counts a duration."""

    hours = "hours"
    calendar_days = "calendar_days"
    working_days = "working_days"


class PreliminaryOutcome(StrEnum):
    """The reasonable-grounds decision."""

    positive = "positive"
    negative = "negative"


class FormalOutcome(StrEnum):
    """The conclusive decision, computed from the votes."""

    identified = "identified"
    not_identified = "not_identified"


class Vote(StrEnum):
    """A panel member's vote; an abstention counts for the quorum, not for the majority."""

    identify = "identify"
    not_identify = "not_identify"
    abstain = "abstain"


class ExploitationScope(StrEnum):
    """Where the exploitation took place: within the country, or across a border (the associations stress
    trafficking within France, which a count of cross-border cases alone would hide). `unknown` for a
    referral that does not say (and for cases referred before it was asked)."""

    internal = "internal"
    cross_border = "cross_border"
    unknown = "unknown"


class RequestChannel(StrEnum):
    """How the person expressed a request the workflow must not assume (an early formal decision, the
    withdrawal of consent): recorded with its time and who recorded it (issue 12, point 7)."""

    in_writing = "in_writing"
    orally = "orally"
    through_representative = "through_representative"


class AgeOutcome(StrEnum):
    """The result of an age assessment."""

    adult = "adult"
    child = "child"


class CloseReason(StrEnum):
    """Why a case was closed."""

    support_completed = "support_completed"
    voluntary_return = "voluntary_return"
    lost_contact = "lost_contact"
    transferred = "transferred"
    deceased = "deceased"
    no_reconsideration = "no_reconsideration"
    no_review = "no_review"
    other = "other"


class ReopenReason(StrEnum):
    """Why a closed case is reopened (`reopen`): the person needs support again, years later perhaps."""

    support_needed_again = "support_needed_again"  # health, housing or work: support ended too soon
    re_exploited = "re_exploited"  # the person was exploited again, or the exploiters found them
    proceedings = "proceedings"  # a trial, a compensation claim or a permit step needs support
    contact_restored = "contact_restored"  # a case closed as lost_contact: the person is back in touch
    other = "other"


class ExploitationForm(StrEnum):
    """Forms of exploitation (French penal code art. 225-4-1; Directive 2024/1712)."""

    sexual_exploitation = "sexual_exploitation"
    forced_labour = "forced_labour"
    domestic_servitude = "domestic_servitude"
    slavery_servitude = "slavery_servitude"
    forced_begging = "forced_begging"
    forced_criminality = "forced_criminality"
    organ_removal = "organ_removal"
    forced_marriage = "forced_marriage"
    illegal_adoption = "illegal_adoption"
    surrogacy_exploitation = "surrogacy_exploitation"
    other = "other"


class AgeBand(StrEnum):
    """Age bands kept in clear for statistics (the date of birth is personal data)."""

    band_0_11 = "0-11"
    band_12_14 = "12-14"
    band_15_17 = "15-17"
    band_18_24 = "18-24"
    band_25_34 = "25-34"
    band_35_44 = "35-44"
    band_45_54 = "45-54"
    band_55_plus = "55+"
    unknown = "unknown"


#: Bands that say the person is under 18.
CHILD_AGE_BANDS: frozenset[AgeBand] = frozenset({AgeBand.band_0_11, AgeBand.band_12_14, AgeBand.band_15_17})


class Gender(StrEnum):
    """Gender as recorded for statistics."""

    female = "female"
    male = "male"
    non_binary = "non_binary"
    unknown = "unknown"


class NeedKind(StrEnum):
    """Kinds of support need; each has a service-referral deadline in the policy. The areas of a needs
    assessment group them (`app/workflow/needs.py`): `financial` is subsistence, `employment` work and
    training, `medical` and `psychological` health."""

    shelter = "shelter"
    medical = "medical"
    psychological = "psychological"
    legal = "legal"
    interpreter = "interpreter"
    financial = "financial"
    education = "education"
    employment = "employment"
    other = "other"
    safety = "safety"
    dependants = "dependants"
    debt = "debt"
    documents = "documents"
    housing = "housing"


class ProviderKind(StrEnum):
    """What a support provider offers."""

    shelter = "shelter"
    psychologist = "psychologist"
    lawyer = "lawyer"
    interpreter = "interpreter"
    medical = "medical"
    other = "other"


#: The needs each kind of provider serves. A need is referred only to a provider that serves it, and a
#: caseworker locates a provider only through the referral of such a need (`authority.PROVIDER_CONTACT`):
#: a need of kind `other` never opens a shelter's address.
NEEDS_SERVED: Mapping[ProviderKind, frozenset[NeedKind]] = {
    # A shelter's address is the most sought: only the needs a shelter meets (a bed tonight, a safe place, a
    # longer stay) open it.
    ProviderKind.shelter: frozenset({NeedKind.shelter, NeedKind.safety, NeedKind.housing}),
    ProviderKind.psychologist: frozenset({NeedKind.psychological}),
    ProviderKind.lawyer: frozenset({NeedKind.legal, NeedKind.debt, NeedKind.documents}),
    ProviderKind.interpreter: frozenset({NeedKind.interpreter}),
    ProviderKind.medical: frozenset({NeedKind.medical, NeedKind.psychological}),
    ProviderKind.other: frozenset(
        {
            NeedKind.financial,
            NeedKind.education,
            NeedKind.employment,
            NeedKind.dependants,
            NeedKind.debt,
            NeedKind.documents,
            NeedKind.housing,
            NeedKind.other,
        }
    ),
}


class ServiceStatus(StrEnum):
    """Where a service referral stands (its life is declared in `app/workflow/support.py`)."""

    requested = "requested"
    accepted = "accepted"
    refused = "refused"
    delivered = "delivered"


#: A referral the provider has neither refused nor completed: the person is expected there, or is there.
LIVE_SERVICE_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.requested, ServiceStatus.accepted})


class Purpose(StrEnum):
    """Why someone opens a person's data (identity, documents). It is written to the audit log, which holds no
    personal data, so it is one of these codes and never free text (api-contract.md, issue 10 point 4)."""

    assessment = "assessment"
    panel_review = "panel_review"
    safeguarding = "safeguarding"
    support_planning = "support_planning"
    service_referral = "service_referral"
    legal_proceedings = "legal_proceedings"
    data_subject_request = "data_subject_request"
    correction = "correction"


class Language(StrEnum):
    """The languages of the service's pages and content (French by default)."""

    fr = "fr"
    en = "en"
