"""The case workflow's transitions, read from the events' own records and loaded into one module-level
`transitions` machine.

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

from app.workflow.events import EVENTS
from app.workflow.states import EventName, State

#: The transitions table: every (event, sources, destination, branch), from `app/workflow/events.py`.
#: `dest: None` keeps the state.
TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": rule.name,
        "source": list(row.source),
        "dest": row.dest,
        **({"conditions": row.branch} if row.branch is not None else {}),
    }
    for rule in EVENTS.values()
    for row in rule.transitions
]

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
