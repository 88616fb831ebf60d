"""Where a case stands in the mechanism, as a list of stages drawn on the server (no script): done, current,
still to come. A suspended case shows the stage it left (the history says which)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.cases.views import HistoryView
from app.web.i18n import N_
from app.workflow import State

STAGES: tuple[str, ...] = (
    N_("Referral"),
    N_("Preliminary identification"),
    N_("Reflection period and protection"),
    N_("Formal identification by a multi-agency panel"),
    N_("Decision"),
    N_("Support, then closure"),
)

#: The stage (an index of `STAGES`) each state belongs to.
STAGE_OF: dict[State, int] = {
    State.referred: 0,
    State.preliminary_assessment: 1,
    State.preliminary_negative: 1,
    State.recovery_period: 2,
    State.formal_assessment: 3,
    State.under_review: 3,
    State.not_identified: 4,
    State.identified: 5,
    State.closed: 5,
    State.withdrawn: 5,
}


@dataclass(frozen=True)
class Stage:
    label: str
    status: str  # done, current, to_come


def stage_state(state: State, history: Sequence[HistoryView]) -> State:
    """The state whose stage is shown: a suspended case's is the one it left."""
    if state is State.suspended:
        for row in reversed(history):
            if row.to_state == State.suspended.value and row.from_state and row.from_state != State.suspended.value:
                return State(row.from_state)
        return State.referred
    return state


def stages(state: State, history: Sequence[HistoryView]) -> list[Stage]:
    current = STAGE_OF[stage_state(state, history)]
    ended = state in (State.closed, State.withdrawn)
    return [
        Stage(
            label,
            "done" if index < current or (ended and index == current) else "current" if index == current else "to_come",
        )
        for index, label in enumerate(STAGES)
    ]
