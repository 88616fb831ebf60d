"""`decide`: given a case snapshot, an actor, an event and the time, answer with a decision or a refusal.

Order of checks, so each refusal says the most useful thing first (each event's record is in
`app/workflow/events.py`, the relations in `app/workflow/authority.py`):
1. the actor's roles can hold none of the event's sender relations → `forbidden`;
2. the machine does not accept the event in this state → `not_allowed_in_state` (with the allowed events);
3. the actor holds none of the sender relations to this case (assigned assessor, panel member, referring
   organisation, assigned caseworker) → `forbidden`;
4. the event's guard: what the case and the time hold back (reflection period, windows, quorum) → `held_back`;
5. the event's handler: its own fields (reasons, members, outcome) → `invalid`, else the effects.
`allowed_events` is the set of events passing 1-4: what the case view offers this actor now.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.workflow.authority import describe, relations_of, roles_for, ties_of
from app.workflow.events import EVENTS, EventRule, is_presumed_child
from app.workflow.machine import ROUTES, route_for
from app.workflow.model import (
    Actor,
    CarriedOver,
    CaseSnapshot,
    Decision,
    EventRequest,
    Referral,
    Refusal,
    forbidden,
)
from app.workflow.policy import Policy
from app.workflow.states import EventName, State
from app.workflow.steps import Context, Step, audit_facts, utc

__all__ = ["allowed_events", "decide", "decide_referral", "decide_transfer_in", "held_back_events", "is_presumed_child"]


def _may_ever_send(actor: Actor, rule: EventRule) -> bool:
    if actor.is_system:
        return rule.system
    return bool(actor.roles & roles_for(rule.senders))


def _check(ctx: Context) -> Refusal | None:
    """Checks 1-4 of the module docstring."""
    name, state = ctx.event.name, ctx.state
    rule = EVENTS[name]
    if not _may_ever_send(ctx.actor, rule):
        return forbidden("role", f"your role may not send {name.value}", state)
    if (state, name) not in ROUTES:
        allowed = tuple(allowed_events(ctx.case, ctx.actor, ctx.now, ctx.policy))
        message = f"{name.value} is not allowed in state {state.value}"
        return Refusal("not_allowed_in_state", "state", message, state, allowed)
    if not ctx.actor.is_system and not relations_of(ctx.actor, ties_of(ctx.case)) & rule.senders:
        return forbidden("relation", f"only {describe(rule.senders)} may send this event", state)
    return rule.guard(ctx) if rule.guard is not None else None


def _decision(ctx: Context, answer: Step) -> Decision:
    route = route_for(ctx.state, ctx.event.name, answer.branch)
    assert route is not None, f"no route {ctx.state}/{ctx.event.name}/{answer.branch}"
    new_state = route.dest if route.dest is not None else ctx.state
    return Decision(
        event=ctx.event.name,
        from_state=ctx.state,
        new_state=new_state,
        effects=answer.effects,
        facts=audit_facts(ctx.event.name, ctx.state, new_state, answer.effects, answer.facts),
    )


def decide(
    snapshot: CaseSnapshot | None, actor: Actor, event: EventRequest, now: datetime, policy: Policy
) -> Decision | Refusal:
    """Decide one event on one case: a `Decision` (new state, effects, facts) or a `Refusal`.

    Pure: the same inputs always give the same answer. `now` must be timezone-aware. With
    `EventName.referral` the snapshot is None and `event.referral` carries the classification. A refusal
    the case holds back (`held_back`) names the events this actor may send now, as `not_allowed_in_state` does.
    """
    now = utc(now)
    if event.name is EventName.referral:
        if snapshot is not None:
            return Refusal("not_allowed_in_state", "state", "a referral creates a new case", snapshot.state)
        return decide_referral(actor, event.referral or Referral(), now, policy)
    if event.name is EventName.transfer_in and snapshot is None:
        return _create(actor, event, now, policy)
    if snapshot is None:
        raise ValueError(f"{event.name.value} needs a case snapshot")
    ctx = Context(snapshot, actor, event, now, policy)
    answer = _check(ctx) or EVENTS[event.name].handler(ctx)
    if isinstance(answer, Step):
        return _decision(ctx, answer)
    if answer.kind == "held_back":
        return replace(answer, allowed_events=tuple(allowed_events(snapshot, actor, now, policy)))
    return answer


def _checks(
    snapshot: CaseSnapshot, actor: Actor, now: datetime, policy: Policy
) -> list[tuple[EventName, Refusal | None]]:
    """Checks 1-4 of every event the machine accepts in the case's state and the actor's roles may send."""
    return [
        (name, _check(Context(snapshot, actor, EventRequest(name), now, policy)))
        for name, rule in EVENTS.items()
        if name is not EventName.referral and (snapshot.state, name) in ROUTES and _may_ever_send(actor, rule)
    ]


def allowed_events(snapshot: CaseSnapshot, actor: Actor, now: datetime, policy: Policy) -> list[EventName]:
    """The events this actor may send on this case now (role, state, relation and guards all pass);
    the fields an event needs are not judged here."""
    return [name for name, refusal in _checks(snapshot, actor, utc(now), policy) if refusal is None]


def held_back_events(
    snapshot: CaseSnapshot, actor: Actor, now: datetime, policy: Policy
) -> list[tuple[EventName, Refusal]]:
    """The events this actor could send on this case in its state, but which the case holds back now (a
    reflection period running, a window not yet lapsed, a missing quorum), each with the workflow's refusal:
    what a page shows as "not yet, because ..." beside the steps it offers."""
    return [
        (name, refusal)
        for name, refusal in _checks(snapshot, actor, utc(now), policy)
        if refusal is not None and refusal.kind == "held_back"
    ]


def decide_referral(actor: Actor, referral: Referral, now: datetime, policy: Policy) -> Decision | Refusal:
    """Create a case: the initial state `referred` and the deadlines to open, or a refusal.

    An adult without informed consent is refused (`invalid`): file an anonymous notification instead. A
    (presumed) child needs no consent; child protection, a guardian when unaccompanied, and shelter when
    needed are due from the referral itself (protection from *pre*-identification).
    """
    return _create(actor, EventRequest(EventName.referral, referral=referral), utc(now), policy)


def decide_transfer_in(
    actor: Actor, referral: Referral, carried: CarriedOver, now: datetime, policy: Policy
) -> Decision | Refusal:
    """Create a case from a package a peer mechanism sent, as the coordinator accepting it: the state the
    recognised decisions give (`policy.transfers`), the reflection period carried over, this policy's
    deadlines from now; an adult's case without the person's consent to the transfer is refused (`invalid`).
    """
    return _create(actor, EventRequest(EventName.transfer_in, referral=referral, carried=carried), utc(now), policy)


def _create(actor: Actor, request: EventRequest, now: datetime, policy: Policy) -> Decision | Refusal:
    """An event that makes a new case (its record's `creates`): role, then the handler on an empty case."""
    rule = EVENTS[request.name]
    if not _may_ever_send(actor, rule):
        return forbidden("role", f"your role may not send {request.name.value}", None)
    empty = CaseSnapshot(id="", state=State.referred, created_at=now, referring_organisation_id=actor.organisation_id)
    answer = rule.handler(Context(empty, actor, request, now, policy))
    if isinstance(answer, Refusal):
        return answer
    state = State(answer.branch) if answer.branch is not None else rule.creates[0]
    assert state in rule.creates, f"{request.name.value} may not create a case in {state.value}"
    facts = audit_facts(request.name, None, state, answer.effects, answer.facts)
    return Decision(request.name, None, state, answer.effects, facts)
