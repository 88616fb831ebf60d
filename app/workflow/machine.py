"""The case workflow declared once, as data, and loaded into one module-level `transitions` machine.

The machine holds no model (`model=None`): it is the read-only source of states, events, sources and
destinations. `decide` reads the routes from it and evaluates the guards itself, so concurrent requests share
nothing mutable and nothing is bound per request (which would leak models). Where an event has several
destinations, each transition names the `branch` (its `conditions` entry) that selects it; the branch is
computed by the rules (an outcome, the policy's automatic review, the state a suspended case left).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from app.workflow.states import (
    ACTIVE_STATES,
    OPEN_STATES,
    DeadlineKind,
    EventName,
    Role,
    State,
)

_ACTIVE = sorted(ACTIVE_STATES)
_OPEN = sorted(OPEN_STATES)
E = EventName
S = State
K = DeadlineKind

#: The transitions table: every (event, sources, destination, branch). `dest: None` keeps the state.
TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": E.assign_assessor,
        "source": [S.referred, S.preliminary_assessment],
        "dest": S.preliminary_assessment,
    },
    {
        "trigger": E.preliminary_decision,
        "source": S.preliminary_assessment,
        "dest": S.recovery_period,
        "conditions": "positive",
    },
    {
        "trigger": E.preliminary_decision,
        "source": S.preliminary_assessment,
        "dest": S.preliminary_negative,
        "conditions": "negative",
    },
    {
        "trigger": E.request_reconsideration,
        "source": S.preliminary_negative,
        "dest": S.preliminary_assessment,
    },
    {"trigger": E.convene_panel, "source": S.recovery_period, "dest": S.formal_assessment},
    # Re-convening replaces a panel that conflicts left unable to decide (else the case would stall).
    {"trigger": E.convene_panel, "source": [S.formal_assessment, S.under_review], "dest": None},
    {"trigger": E.request_early_decision, "source": [S.recovery_period, S.formal_assessment], "dest": None},
    {"trigger": E.declare_conflict, "source": [S.formal_assessment, S.under_review], "dest": None},
    {"trigger": E.cast_vote, "source": [S.formal_assessment, S.under_review], "dest": None},
    {
        "trigger": E.formal_decision,
        "source": S.formal_assessment,
        "dest": S.identified,
        "conditions": "identified",
    },
    {
        "trigger": E.formal_decision,
        "source": S.formal_assessment,
        "dest": S.not_identified,
        "conditions": "not_identified",
    },
    # Under a policy with automatic review (uk) a negative formal decision goes straight to review.
    {
        "trigger": E.formal_decision,
        "source": S.formal_assessment,
        "dest": S.under_review,
        "conditions": "automatic_review",
    },
    {"trigger": E.request_review, "source": S.not_identified, "dest": S.under_review},
    {
        "trigger": E.review_decision,
        "source": S.under_review,
        "dest": S.identified,
        "conditions": "identified",
    },
    {
        "trigger": E.review_decision,
        "source": S.under_review,
        "dest": S.not_identified,
        "conditions": "not_identified",
    },
    {"trigger": E.report_missing, "source": _ACTIVE, "dest": S.suspended},
    *[
        {"trigger": E.report_found, "source": S.suspended, "dest": state, "conditions": f"left_{state.value}"}
        for state in _ACTIVE
    ],
    {"trigger": E.withdraw_consent, "source": _OPEN, "dest": S.withdrawn},
    # Closing a suspended case is an addition to domain.md: someone lost or deceased must be closable.
    {
        "trigger": E.close,
        "source": [S.identified, S.preliminary_negative, S.not_identified, S.suspended],
        "dest": S.closed,
    },
    {"trigger": E.age_assessed, "source": _ACTIVE, "dest": None, "conditions": "assessed"},
    # An adult after all, with no consent on record and none given: adult rules say the case cannot go on.
    {
        "trigger": E.age_assessed,
        "source": _ACTIVE,
        "dest": S.withdrawn,
        "conditions": "adult_without_consent",
    },
    {"trigger": E.child_protection_notified, "source": _OPEN, "dest": None},
    {"trigger": E.guardian_appointed, "source": _OPEN, "dest": None},
    {"trigger": E.shelter_offered, "source": _OPEN, "dest": None},
    {"trigger": E.police_notified, "source": _OPEN, "dest": None},
]


@dataclass(frozen=True, slots=True)
class EventSpec:
    """Who may send an event and what it does, for the rules and for docs/workflow.md."""

    roles: frozenset[Role]
    by: str
    rule: str
    opens: tuple[DeadlineKind, ...] = ()
    meets: tuple[DeadlineKind, ...] = ()


_R = Role
EVENT_SPECS: dict[EventName, EventSpec] = {
    E.referral: EventSpec(
        frozenset({_R.referrer}),
        "referrer",
        "adult: informed consent, else file an anonymous notification; a (presumed) child needs none",
        opens=(K.preliminary_decision, K.child_protection_referral, K.guardian_appointment, K.shelter_offer),
    ),
    E.assign_assessor: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "the assessee holds `assessor` in a sector the policy allows; after reconsideration, a new assessor",
    ),
    E.preliminary_decision: EventSpec(
        frozenset({_R.assessor}),
        "the assigned assessor",
        "written reasons; positive opens protection and the reflection period",
        opens=(K.reflection_period, K.panel_convening, K.shelter_offer, K.reconsideration_window),
        meets=(K.preliminary_decision,),
    ),
    E.request_reconsideration: EventSpec(
        frozenset({_R.referrer, _R.caseworker}),
        "referrer of the referring organisation, or an assigned caseworker",
        "window open; new evidence stated; once; a different assessor decides",
        opens=(K.preliminary_decision,),
        meets=(K.reconsideration_window,),
    ),
    E.convene_panel: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "composition rules; a review panel shares no member with the first; re-convene only a panel "
        "that can no longer decide",
        opens=(K.formal_decision,),
        meets=(K.panel_convening,),
    ),
    E.request_early_decision: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator, recording the person's own request",
        "policy allows it; while the reflection period runs",
    ),
    E.declare_conflict: EventSpec(
        frozenset({_R.panel_member}),
        "a member of the current panel",
        "before voting; a reason; the member no longer votes",
    ),
    E.cast_vote: EventSpec(
        frozenset({_R.panel_member}),
        "a member of the current panel",
        "one vote per member, with a rationale; not when conflicted",
    ),
    E.formal_decision: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "quorum and composition hold; outcome from the votes; not before the reflection period ends "
        "unless the person asked for an early decision",
        opens=(K.review_window, K.panel_convening, K.review_decision),
        meets=(K.formal_decision,),
    ),
    E.request_review: EventSpec(
        frozenset({_R.referrer, _R.caseworker}),
        "referrer of the referring organisation, or an assigned caseworker",
        "window open; reasons stated; once",
        opens=(K.panel_convening, K.review_decision),
        meets=(K.review_window,),
    ),
    E.review_decision: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "review panel with no member of the first; same vote rules; final",
        meets=(K.review_decision,),
    ),
    E.report_missing: EventSpec(
        frozenset({_R.coordinator, _R.referrer, _R.caseworker}),
        "coordinator, referrer of the referring organisation, assigned caseworker",
        "duty clocks stop (rights run on); a missing child must be reported to the police",
        opens=(K.missing_child_report,),
    ),
    E.report_found: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "back to the state it left; duty clocks resume with the time that remained",
    ),
    E.withdraw_consent: EventSpec(
        frozenset({_R.coordinator, _R.referrer}),
        "coordinator or referrer of the referring organisation, recording the person's wish",
        "adults only; personal data erased after the policy's grace period",
    ),
    E.close: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator (the system job: lapsed windows only)",
        "a reason; voluntary return needs a risk assessment (a child: a best-interests determination); "
        "after a negative decision only once no reconsideration or review can follow",
    ),
    E.age_assessed: EventSpec(
        frozenset({_R.coordinator}),
        "coordinator",
        "`adult` ends the presumption of minority (consent now required); `child` confirms it",
        opens=(K.child_protection_referral, K.guardian_appointment),
    ),
    E.child_protection_notified: EventSpec(
        frozenset({_R.coordinator, _R.caseworker}),
        "coordinator, assigned caseworker",
        "child protection services were told (a deadline of that kind is open)",
        meets=(K.child_protection_referral,),
    ),
    E.guardian_appointed: EventSpec(
        frozenset({_R.coordinator, _R.caseworker}),
        "coordinator, assigned caseworker",
        "an unaccompanied child has a guardian (a deadline of that kind is open)",
        meets=(K.guardian_appointment,),
    ),
    E.shelter_offered: EventSpec(
        frozenset({_R.coordinator, _R.caseworker}),
        "coordinator, assigned caseworker",
        "a safe place was offered (a deadline of that kind is open)",
        meets=(K.shelter_offer,),
    ),
    E.police_notified: EventSpec(
        frozenset({_R.coordinator, _R.caseworker}),
        "coordinator, assigned caseworker",
        "the police were told a child is missing (a deadline of that kind is open)",
        meets=(K.missing_child_report,),
    ),
}

#: The one machine: states and transitions only, no model, never mutated after import.
MACHINE = Machine(
    model=None,
    states=[state.value for state in State],
    transitions=TRANSITIONS,
    initial=State.referred.value,
    auto_transitions=False,
)


@dataclass(frozen=True, slots=True)
class Route:
    """One way an event can leave a state: its destination (None: stays) and the branch that selects it."""

    dest: State | None
    branch: str | None


def _routes_from_machine() -> dict[tuple[State, EventName], tuple[Route, ...]]:
    routes: dict[tuple[State, EventName], tuple[Route, ...]] = {}
    for state in State:
        for trigger in MACHINE.get_triggers(state.value):
            found = []
            for transition in MACHINE.get_transitions(trigger=trigger, source=state.value):
                func = transition.conditions[0].func if transition.conditions else None
                branch = func if isinstance(func, str) else None
                dest = State(transition.dest) if transition.dest is not None else None
                found.append(Route(dest, branch))
            routes[(state, EventName(trigger))] = tuple(found)
    return routes


#: (state, event) -> routes, read once from the machine so a decision is a dictionary lookup.
ROUTES: dict[tuple[State, EventName], tuple[Route, ...]] = _routes_from_machine()


def events_from(state: State) -> list[EventName]:
    """The events the machine accepts in `state`, whoever sends them."""
    return [event for event in EventName if (state, event) in ROUTES]


def route_for(state: State, event: EventName, branch: str | None = None) -> Route | None:
    """The route of `event` from `state` selected by `branch` (the only one when there is no branch)."""
    for route in ROUTES.get((state, event), ()):
        if route.branch == branch:
            return route
    return None
