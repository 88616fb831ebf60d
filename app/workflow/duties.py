"""Who owes what on a case: each open deadline, the step that answers it, and the relations that owe that step.

`DUTIES` is the one table: the coordinator owes the assignment of an assessor (while the case has none), the
panel's convening, the formal and review decisions and the child-protection steps; the assigned assessor owes
the preliminary decision; each member of a sitting panel owes a vote; the assigned caseworker owes the offer of
shelter, the emergency shelter before the preliminary decision and the support plan's reviews (the coordinator,
while no caseworker is assigned); the referring organisation may use the windows for
reconsideration and review, which are rights of the person that someone must act on in time.

`duties_of(case, actor, now, policy)` answers, for one case, what this actor must act on now: the duty's
deadline is open (not met, cancelled or paused; a window not yet over), the actor holds a relation that owes
it, and the workflow would let them take the step now (`allowed_events`: a vote already cast, a decision held
back by the reflection period or a missing quorum is nobody's action yet). The "my work" page lists these;
deadline alerts reuse the same table to know whom to tell (`DUTIES`, `owed_by`).

Service-referral deadlines (`service_<need>`) live beside the case workflow (`app/workflow/support.py`); they
are owed by `SERVICE_DUTY_OWED_BY`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from app.workflow.authority import Relation, relations_of, roles_for, ties_of
from app.workflow.deadlines import find_unclosed
from app.workflow.engine import allowed_events
from app.workflow.model import Actor, CaseSnapshot
from app.workflow.policy import Policy
from app.workflow.states import RIGHT_KINDS, DeadlineKind, EventName, Role
from app.workflow.steps import utc

K = DeadlineKind
E = EventName
R = Relation


def _always(case: CaseSnapshot) -> bool:
    return True


def _no_assessor(case: CaseSnapshot) -> bool:
    return case.assessor_id is None


def _no_caseworker(case: CaseSnapshot) -> bool:
    return not case.caseworker_ids


@dataclass(frozen=True, slots=True)
class DutyRule:
    """The step (`event`) that answers an open deadline of `kind`, owed by the holders of `owed_by` when
    `when` holds for the case."""

    kind: DeadlineKind
    event: EventName
    owed_by: frozenset[Relation]
    when: Callable[[CaseSnapshot], bool] = _always


DUTIES: tuple[DutyRule, ...] = (
    DutyRule(K.preliminary_decision, E.assign_assessor, frozenset({R.coordinator}), _no_assessor),
    DutyRule(K.preliminary_decision, E.preliminary_decision, frozenset({R.assigned_assessor})),
    DutyRule(K.panel_convening, E.convene_panel, frozenset({R.coordinator})),
    DutyRule(K.formal_decision, E.cast_vote, frozenset({R.open_panel_member})),
    DutyRule(K.formal_decision, E.formal_decision, frozenset({R.coordinator})),
    DutyRule(K.review_decision, E.cast_vote, frozenset({R.open_panel_member})),
    DutyRule(K.review_decision, E.review_decision, frozenset({R.coordinator})),
    DutyRule(K.child_protection_referral, E.child_protection_notified, frozenset({R.coordinator})),
    DutyRule(K.guardian_appointment, E.guardian_appointed, frozenset({R.coordinator})),
    DutyRule(K.missing_child_report, E.police_notified, frozenset({R.coordinator})),
    DutyRule(K.shelter_offer, E.shelter_offered, frozenset({R.assigned_caseworker})),
    DutyRule(K.shelter_offer, E.shelter_offered, frozenset({R.coordinator}), _no_caseworker),
    # Tonight's safe place before the preliminary decision, and the support plan's reviews (docs/support.md).
    DutyRule(K.emergency_shelter, E.emergency_shelter_provided, frozenset({R.assigned_caseworker})),
    DutyRule(K.emergency_shelter, E.emergency_shelter_provided, frozenset({R.coordinator}), _no_caseworker),
    DutyRule(K.support_review, E.support_plan_reviewed, frozenset({R.assigned_caseworker})),
    DutyRule(K.support_review, E.support_plan_reviewed, frozenset({R.coordinator}), _no_caseworker),
    DutyRule(K.reconsideration_window, E.request_reconsideration, frozenset({R.referring_organisation})),
    DutyRule(K.review_window, E.request_review, frozenset({R.referring_organisation})),
)

#: Who follows up a service referral until the provider answers (its `service_<need>` deadline).
SERVICE_DUTY_OWED_BY: frozenset[Relation] = frozenset({R.assigned_caseworker})


@dataclass(frozen=True, slots=True)
class Duty:
    """One thing an actor must do on a case, by `due_at`: take `event`, which answers the deadline `kind`."""

    kind: DeadlineKind
    event: EventName
    due_at: datetime


def kinds_owed_by(roles: Iterable[Role]) -> frozenset[DeadlineKind]:
    """The deadline kinds a user with these roles could owe on some case (a filter before the cases are read)."""
    held = frozenset(roles)
    return frozenset(rule.kind for rule in DUTIES if roles_for(rule.owed_by) & held)


def may_owe_service_duties(roles: Iterable[Role]) -> bool:
    """Whether a user with these roles could owe a service referral's follow-up on some case."""
    return bool(roles_for(SERVICE_DUTY_OWED_BY) & frozenset(roles))


def duties_of(case: CaseSnapshot, actor: Actor, now: datetime, policy: Policy) -> list[Duty]:
    """What this actor must act on in this case now, soonest first (see the module docstring)."""
    now = utc(now)
    relations = relations_of(actor, ties_of(case))
    if not relations:
        return []
    allowed: set[EventName] | None = None
    found: dict[tuple[DeadlineKind, EventName], Duty] = {}
    for rule in DUTIES:
        if not (rule.owed_by & relations) or not rule.when(case):
            continue
        deadline = find_unclosed(case.deadlines, rule.kind)
        if deadline is None or deadline.is_paused or (rule.kind in RIGHT_KINDS and now >= deadline.due_at):
            continue
        if allowed is None:
            allowed = set(allowed_events(case, actor, now, policy))
        if rule.event in allowed:
            found.setdefault((rule.kind, rule.event), Duty(rule.kind, rule.event, deadline.due_at))
    return sorted(found.values(), key=lambda duty: duty.due_at)
