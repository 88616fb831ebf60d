"""Support of the person as data: the vocabulary of needs and providers, and the states of a service referral.

A service referral (a need referred to a provider) has a small life of its own, declared here next to the
case workflow and answered with the same refusal kinds: `requested`, then `accepted` or `refused`, then
`delivered`. Refused and delivered are final (refer again instead). Its deadline (`service_<need kind>`,
app/services/support.py) is met when the provider accepts, or on delivery if it never accepted; a refusal
keeps it open, so changing provider does not restart the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from app.workflow.model import Refusal, held_back
from app.workflow.states import NeedKind


class Urgency(StrEnum):
    """How soon a need must be met."""

    immediate = "immediate"
    long_term = "long_term"


class ProviderKind(StrEnum):
    """What a support provider offers."""

    shelter = "shelter"
    psychologist = "psychologist"
    lawyer = "lawyer"
    interpreter = "interpreter"
    medical = "medical"
    other = "other"


class DocumentKind(StrEnum):
    """What a document of the case is. A `panel_opinion` is the referring organisation's written opinion for
    the panel file; an `asylum_interview` transcript is kept only with the person's consent (or for a child)."""

    evidence = "evidence"
    asylum_interview = "asylum_interview"
    panel_opinion = "panel_opinion"
    other = "other"


#: Statements of the person already on file: read them before interviewing again.
TESTIMONY_KINDS: frozenset[DocumentKind] = frozenset({DocumentKind.evidence, DocumentKind.asylum_interview})


class ServiceStatus(StrEnum):
    """Where a service referral stands."""

    requested = "requested"
    accepted = "accepted"
    refused = "refused"
    delivered = "delivered"


#: From a status, the statuses it may move to; a status absent here is final.
SERVICE_TRANSITIONS: Mapping[ServiceStatus, frozenset[ServiceStatus]] = {
    ServiceStatus.requested: frozenset({ServiceStatus.accepted, ServiceStatus.refused, ServiceStatus.delivered}),
    ServiceStatus.accepted: frozenset({ServiceStatus.delivered, ServiceStatus.refused}),
}

#: Statuses that say the service is offered in time: they meet the referral's deadline.
MEETS_SERVICE_DEADLINE: frozenset[ServiceStatus] = frozenset({ServiceStatus.accepted, ServiceStatus.delivered})

#: The prefix of a service referral's deadline kind: `service_<need kind>`.
SERVICE_DEADLINE_PREFIX = "service_"


def service_deadline_kind(need_kind: NeedKind | str) -> str:
    return SERVICE_DEADLINE_PREFIX + str(need_kind)


def refuse_service_request(case_ended: bool) -> Refusal | None:
    """Why no service may be requested for this case now, if so."""
    if case_ended:
        return held_back("case_ended", "the case has ended; no service can be requested for it", None)
    return None


def refuse_status_change(current: ServiceStatus, new: ServiceStatus) -> Refusal | None:
    """Why a service referral may not move from `current` to `new`, if so."""
    if new not in SERVICE_TRANSITIONS.get(current, frozenset()):
        return Refusal(
            "not_allowed_in_state", "status", f"a {current.value} service referral cannot become {new.value}", None
        )
    return None
