"""What the workflow says about a case leaving for a peer mechanism (docs/transfers.md, "Case rules").

The sending case changes only when the peer's signed receipt of acceptance arrives (`transfer_completed`, in
`events.py`); the receiving case is made by `transfer_in` when a coordinator accepts the package. This module
holds the rules of the request itself: which case may leave and on what basis (an adult's consent to the
transfer, a child's best-interests determination), and which of its clocks travel with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.workflow.model import CaseSnapshot, Refusal, invalid
from app.workflow.states import RIGHT_KINDS, TERMINAL_STATES, DeadlineKind
from app.workflow.steps import text, utc


class ConsentMethod(StrEnum):
    """How the person gave their consent to the transfer."""

    in_writing = "in_writing"
    orally = "orally"
    through_representative = "through_representative"


class TransferReason(StrEnum):
    """Why a case moves to another mechanism; a code, since it is audited on both sides."""

    person_relocated = "person_relocated"  # the person lives, or is going to live, in the peer's country
    exploited_there = "exploited_there"  # the exploitation took place in the peer's country
    family_there = "family_there"  # family or a support network is in the peer's country
    safety = "safety"  # the person is not safe in this country
    person_request = "person_request"  # the person asked for it
    other = "other"


@dataclass(frozen=True, slots=True)
class TransferConsent:
    """The person's consent to the transfer: how and when it was given (who took it down is the caller)."""

    method: ConsentMethod
    given_at: datetime


def transfer_refusal(
    case: CaseSnapshot, consent: TransferConsent | None, best_interests: str | None, now: datetime
) -> Refusal | None:
    """Why this case may not leave now, or None. An ended case does not move; an adult's case moves only with
    the person's consent to the transfer, given no later than now; a (presumed) child's case only with a
    recorded best-interests determination (consent, if recorded too, is kept but not enough)."""
    now = utc(now)
    if case.state in TERMINAL_STATES:
        return Refusal("not_allowed_in_state", "state", f"a {case.state.value} case is not transferred", case.state)
    if case.is_child:
        if text(best_interests) is None:
            return invalid(
                "best_interests_missing",
                "a child's case moves only with a recorded best-interests determination",
                case.state,
            )
    elif consent is None:
        return invalid(
            "consent_required",
            "an adult's case moves only with the person's consent to the transfer: say how and when it was given",
            case.state,
        )
    if consent is not None and utc(consent.given_at) > now:
        return invalid("consent_in_future", "the consent cannot have been given after now", case.state)
    return None


@dataclass(frozen=True, slots=True)
class RunningClock:
    """A deadline or right still running on a case, with the time that remains (negative when overdue; a
    paused duty keeps the time that remained when the case was suspended)."""

    kind: DeadlineKind
    opened_at: datetime
    due_at: datetime
    remaining: timedelta
    paused: bool

    @property
    def is_right(self) -> bool:
        return self.kind in RIGHT_KINDS


def running_clocks(case: CaseSnapshot, now: datetime) -> list[RunningClock]:
    """The duties not yet met and the rights not yet over: what a transfer package says runs."""
    now = utc(now)
    clocks = []
    for deadline in case.deadlines:
        if deadline.is_closed or (deadline.is_right and now >= deadline.due_at):
            continue
        paused = deadline.paused_at is not None
        remaining = deadline.remaining if paused and deadline.remaining is not None else deadline.due_at - now
        clocks.append(RunningClock(deadline.kind, deadline.opened_at, deadline.due_at, remaining, paused))
    return clocks
