"""Every (state, event, role) combination against a hand-written table, independent of the machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.workflow import (
    SYSTEM,
    Actor,
    CaseSnapshot,
    CloseReason,
    Decision,
    EventName,
    EventRequest,
    PanelSnapshot,
    Refusal,
    Role,
    Sector,
    State,
    allowed_events,
    decide,
    load_policy,
)
from tests.workflow.helpers import FIRST_PANEL, REFERRING_ORG, T0, base_case, member

S = State
E = EventName
R = Role
ACTIVE = {
    S.referred,
    S.preliminary_assessment,
    S.recovery_period,
    S.preliminary_negative,
    S.formal_assessment,
    S.identified,
    S.not_identified,
    S.under_review,
}
OPEN = ACTIVE | {S.suspended}

# Written from domain.md's events table (plus the documented additions), not read from the machine.
SOURCES: dict[EventName, set[State]] = {
    E.assign_assessor: {S.referred, S.preliminary_assessment},
    E.preliminary_decision: {S.preliminary_assessment},
    E.request_reconsideration: {S.preliminary_negative},
    E.convene_panel: {S.recovery_period, S.formal_assessment, S.under_review},
    E.request_early_decision: {S.recovery_period, S.formal_assessment},
    E.declare_conflict: {S.formal_assessment, S.under_review},
    E.cast_vote: {S.formal_assessment, S.under_review},
    E.formal_decision: {S.formal_assessment},
    E.request_review: {S.not_identified},
    E.review_decision: {S.under_review},
    E.report_missing: ACTIVE,
    E.report_found: {S.suspended},
    E.withdraw_consent: OPEN,
    E.close: {S.identified, S.preliminary_negative, S.not_identified, S.suspended},
    E.age_assessed: ACTIVE,
    E.child_protection_notified: OPEN,
    E.guardian_appointed: OPEN,
    E.shelter_offered: OPEN,
    E.police_notified: OPEN,
    E.emergency_shelter_provided: OPEN,
    E.support_plan_reviewed: {S.identified},
    E.reopen: {S.closed},
    E.transfer_in: set(),  # it creates a case (tests/workflow/test_transfers.py)
    E.transfer_completed: OPEN,
}
ROLES: dict[EventName, set[Role]] = {
    E.assign_assessor: {R.coordinator},
    E.preliminary_decision: {R.assessor},
    E.request_reconsideration: {R.referrer, R.caseworker},
    E.convene_panel: {R.coordinator},
    E.request_early_decision: {R.coordinator},
    E.declare_conflict: {R.panel_member},
    E.cast_vote: {R.panel_member},
    E.formal_decision: {R.coordinator},
    E.request_review: {R.referrer, R.caseworker},
    E.review_decision: {R.coordinator},
    E.report_missing: {R.coordinator, R.referrer, R.caseworker},
    E.report_found: {R.coordinator},
    E.withdraw_consent: {R.coordinator, R.referrer},
    E.close: {R.coordinator},
    E.age_assessed: {R.coordinator},
    E.child_protection_notified: {R.coordinator, R.caseworker},
    E.guardian_appointed: {R.coordinator, R.caseworker},
    E.shelter_offered: {R.coordinator, R.caseworker},
    E.police_notified: {R.coordinator, R.caseworker},
    E.emergency_shelter_provided: {R.coordinator, R.caseworker},
    E.support_plan_reviewed: {R.coordinator, R.caseworker},
    E.reopen: {R.coordinator},
    E.transfer_in: {R.coordinator},
    E.transfer_completed: set(),  # the system only, on a peer's signed receipt
}
CASE_EVENTS = [e for e in EventName if e is not E.referral]
POLICY = load_policy("fr")
NOW = T0 + timedelta(days=400)


def _actor(role: Role) -> Actor:
    return Actor(f"u-{role.value}", REFERRING_ORG, Sector.ngo, frozenset({role}))


def _snapshot(state: State, actor: Actor) -> CaseSnapshot:
    """A case in `state` to which the actor has every relation its role could need."""
    panel = PanelSnapshot(members=(*FIRST_PANEL, member(actor.user_id, Sector.health)))
    return base_case(
        state=state,
        assessor_id=actor.user_id,
        caseworker_ids=frozenset({actor.user_id}),
        panel=panel,
        state_before_suspension=S.recovery_period if state is S.suspended else None,
    )


def test_the_hand_written_table_covers_every_event() -> None:
    assert set(SOURCES) == set(CASE_EVENTS) == set(ROLES)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", CASE_EVENTS)
@pytest.mark.parametrize("role", list(Role))
def test_every_state_event_role(state: State, event: EventName, role: Role) -> None:
    actor = _actor(role)
    snapshot = _snapshot(state, actor)
    result = decide(snapshot, actor, EventRequest(event), NOW, POLICY)
    if role not in ROLES[event]:
        assert isinstance(result, Refusal) and result.kind == "forbidden", result  # HTTP 403
    elif state not in SOURCES[event]:
        assert isinstance(result, Refusal) and result.kind == "not_allowed_in_state", result  # HTTP 409
        assert result.state is state
        assert event not in result.allowed_events
        assert list(result.allowed_events) == allowed_events(snapshot, actor, NOW, POLICY)
    else:
        # Allowed by role and state: only a guard (state or fields) may still hold it back.
        assert isinstance(result, Decision) or result.kind in ("held_back", "invalid"), result
    # The answer never depends on anything but the inputs.
    assert decide(snapshot, actor, EventRequest(event), NOW, POLICY) == result


@pytest.mark.parametrize("state", list(State))
def test_allowed_events_are_within_the_table(state: State) -> None:
    for role in Role:
        actor = _actor(role)
        for event in allowed_events(_snapshot(state, actor), actor, NOW, POLICY):
            assert state in SOURCES[event] and role in ROLES[event]


@pytest.mark.parametrize("event", CASE_EVENTS)
def test_system_actor_may_only_close(event: EventName) -> None:
    """The scheduled job closes lapsed windows; a peer's receipt of acceptance closes a transferred case."""
    snapshot = base_case(state=S.preliminary_negative)
    request = EventRequest(
        event, reason=CloseReason.no_reconsideration.value, peer="peer-b", peer_reference="MNR-2027-00042"
    )
    result = decide(snapshot, SYSTEM, request, NOW, POLICY)
    if event in (E.close, E.transfer_completed):
        assert isinstance(result, Decision) and result.new_state is S.closed
    else:
        assert isinstance(result, Refusal) and result.kind == "forbidden"


@pytest.mark.parametrize(
    "event",
    [E.request_reconsideration, E.request_review, E.report_missing, E.withdraw_consent],
)
def test_a_referrer_of_another_organisation_is_forbidden(event: EventName) -> None:
    stranger = Actor("u-x", "org-elsewhere", Sector.ngo, frozenset({R.referrer}))
    state = next(iter(sorted(SOURCES[event] & ACTIVE)))
    result = decide(base_case(state=state), stranger, EventRequest(event, reasons="r"), NOW, POLICY)
    assert isinstance(result, Refusal) and result.kind == "forbidden" and result.code == "relation"


def test_an_unassigned_assessor_or_caseworker_is_forbidden() -> None:
    other = Actor("u-other", "org-x", Sector.ngo, frozenset({R.assessor, R.caseworker, R.panel_member}))
    snapshot = base_case(state=S.preliminary_assessment, assessor_id="u-ass1")
    for event in (E.preliminary_decision, E.report_missing):
        result = decide(snapshot, other, EventRequest(event), NOW, POLICY)
        assert isinstance(result, Refusal) and result.kind == "forbidden"
    in_panel = base_case(state=S.formal_assessment, panel=PanelSnapshot(members=FIRST_PANEL))
    result = decide(in_panel, other, EventRequest(E.cast_vote), NOW, POLICY)
    assert isinstance(result, Refusal) and result.kind == "forbidden"
