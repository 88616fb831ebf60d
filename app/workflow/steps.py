"""The building blocks of event handlers: what an event is decided on, and the effects handlers share.

A handler (`app/workflow/events.py`) reads a `Context` and answers with a `Step` (which branch of the event's
transitions, which effects, which audit facts) or a `Refusal`; `decide` turns the step into a `Decision`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.workflow.calendars import Duration
from app.workflow.deadlines import DeadlineSnapshot, find_unclosed, right_is_running
from app.workflow.model import (
    Actor,
    CancelDeadline,
    CaseSnapshot,
    DissolvePanel,
    Effect,
    EventRequest,
    FactValue,
    MeetDeadline,
    OpenDeadline,
    PauseDeadline,
    RecordNote,
    Refusal,
    ResumeDeadline,
    SetStateBeforeSuspension,
)
from app.workflow.policy import PanelRules, Policy
from app.workflow.states import DeadlineKind, EventName, State


@dataclass(frozen=True, slots=True)
class Context:
    """One event to decide: the case, who sends it, its fields, the time (UTC) and the policy."""

    case: CaseSnapshot
    actor: Actor
    event: EventRequest
    now: datetime
    policy: Policy

    @property
    def state(self) -> State:
        return self.case.state

    def panel_rules(self, is_review: bool) -> PanelRules:
        return self.policy.review_panel if is_review else self.policy.panel


@dataclass(frozen=True, slots=True)
class Step:
    """A handler's answer: the effects to apply in order, the branch of the event's transitions they take
    (None when the event has one), and audit facts beyond those `decide` adds (names and codes only)."""

    effects: tuple[Effect, ...]
    branch: str | None = None
    facts: Mapping[str, FactValue] = field(default_factory=dict)


#: What the case or the time holds back (a `held_back` refusal), before the event's fields are looked at.
Guard = Callable[[Context], Refusal | None]
#: The event's fields and effects: a step, or a refusal (`invalid` for wrong fields).
Handler = Callable[[Context], Step | Refusal]


def step(effects: list[Effect], branch: str | None = None, /, **facts: FactValue) -> Step:
    return Step(tuple(effects), branch, facts)


def utc(now: datetime) -> datetime:
    """The time in UTC. Aware datetimes sharing a zone subtract and add on the wall clock in Python, which
    would bend durations across daylight-saving changes; in UTC the arithmetic is elapsed time."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the workflow needs a timezone-aware time")
    return now.astimezone(UTC)


def text(value: str | None) -> str | None:
    """A free text with content, or None: a string of blanks is no reason at all."""
    if value is None or not value.strip():
        return None
    return value


def day(policy: Policy, due_at: datetime) -> str:
    """The last day of a period, as people read it in the jurisdiction."""
    return policy.calendar.last_day(due_at).isoformat()


def open_deadline(
    case: CaseSnapshot,
    kind: DeadlineKind,
    now: datetime,
    policy: Policy,
    start: datetime | None = None,
    duration: Duration | None = None,
) -> list[Effect]:
    """Open a deadline of `kind` for this person; the clock counts from `start` (default: now) for `duration`
    (default: the policy's for this kind and person)."""
    effects: list[Effect] = []
    due = policy.calendar.due_after(start or now, duration or policy.duration(kind, case.is_child))
    existing = find_unclosed(case.deadlines, kind)
    if existing is not None:
        if existing.is_right and now < existing.due_at and existing.due_at >= due:
            # Opening a right again never shortens it: one still running that ends later stays (a reflection
            # period carried over from a peer mechanism, docs/transfers.md).
            return []
        # Keep the one-non-closed-per-kind invariant: a stale one is closed before a new one opens.
        effects += close_deadline(case, existing, now, policy)
    effects.append(OpenDeadline(kind, now, due))
    return effects


def close_deadline(case: CaseSnapshot, deadline: DeadlineSnapshot, now: datetime, policy: Policy) -> list[Effect]:
    """How a deadline ends when the case (or its purpose) ends: a right whose end has passed was fully had
    (met at its end); anything else is cancelled. A paused duty is first resumed, as `meet` does, so its due
    time says whether it was already overdue when it stopped: a duty cancelled after its due time stays a
    breach in the compliance report (issue 12, point 1), one cancelled before it stays out of the rate."""
    if deadline.is_right and now >= deadline.due_at:
        return [MeetDeadline(deadline.kind, deadline.due_at)]
    resumed = [resume(case, deadline, now, policy)] if deadline.paused_at is not None else []
    return [*resumed, CancelDeadline(deadline.kind, now)]


def resume(case: CaseSnapshot, deadline: DeadlineSnapshot, now: datetime, policy: Policy) -> Effect:
    """Restart a paused duty with what remained of it (`Calendar.resumed_due_at`: days for a day-based duty,
    the exact time for one counted in hours)."""
    assert deadline.paused_at is not None
    paused_at = deadline.paused_at
    # The due time in force at the pause, from the remainder kept then.
    due_at = paused_at + (deadline.remaining or timedelta(0))
    unit = policy.duration(deadline.kind, case.is_child).unit
    return ResumeDeadline(deadline.kind, now, policy.calendar.resumed_due_at(due_at, paused_at, now, unit))


def meet(case: CaseSnapshot, kind: DeadlineKind, now: datetime, policy: Policy) -> list[Effect]:
    """Meet the open deadline of `kind`, if any. A paused duty is first resumed, so lateness is measured
    against what remained of it, not against a due time the suspension made stale."""
    deadline = find_unclosed(case.deadlines, kind)
    if deadline is None:
        return []
    effects: list[Effect] = []
    if deadline.paused_at is not None:
        effects.append(resume(case, deadline, now, policy))
    effects.append(MeetDeadline(kind, now))
    return effects


def end_case(case: CaseSnapshot, now: datetime, policy: Policy) -> list[Effect]:
    """A terminal state keeps no running clock: duties are cancelled, rights met if over, else cancelled."""
    effects: list[Effect] = [e for d in case.deadlines if not d.is_closed for e in close_deadline(case, d, now, policy)]
    if case.state_before_suspension is not None:
        effects.append(SetStateBeforeSuspension(None))
    if case.panel is not None:
        effects.append(DissolvePanel(now))
    return effects


def note(value: str | None) -> list[Effect]:
    """The event's optional note, kept (encrypted) when it says something."""
    cleaned = text(value)
    return [RecordNote(cleaned)] if cleaned is not None else []


def window_lapsed(case: CaseSnapshot, kind: DeadlineKind, done: bool, now: datetime) -> bool:
    """No reconsideration (or review) can follow: it was used, or its window is not running."""
    return done or not right_is_running(case.deadlines, kind, now)


_DEADLINE_FACTS: dict[type, str] = {
    OpenDeadline: "deadlines_opened",
    MeetDeadline: "deadlines_met",
    CancelDeadline: "deadlines_cancelled",
    PauseDeadline: "deadlines_paused",
    ResumeDeadline: "deadlines_resumed",
}


def audit_facts(
    event: EventName,
    from_state: State | None,
    to_state: State,
    effects: tuple[Effect, ...],
    extra: Mapping[str, FactValue],
) -> dict[str, FactValue]:
    """Audit facts: names and codes only. The enums are `str` already (StrEnum), so they are used as is."""
    facts: dict[str, FactValue] = {"event": event, "from_state": from_state, "to_state": to_state}
    groups: dict[str, list[str]] = {}
    for effect in effects:
        key = _DEADLINE_FACTS.get(type(effect))
        if key is not None:
            groups.setdefault(key, []).append(effect.kind)  # type: ignore[union-attr]
    for key, kinds in groups.items():
        facts[key] = tuple(kinds)
    facts.update(extra)
    return facts
