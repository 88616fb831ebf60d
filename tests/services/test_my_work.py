"""My work on both databases: each role's duties, soonest first, from the one table of who owes what
(`app/workflow/duties.py`), and nothing a person may not act on."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FrozenClock
from app.services import my_work, support
from app.services.context import ServiceContext
from app.workflow import EventName
from app.workflow.duties import DUTIES, kinds_owed_by
from app.workflow.states import Role
from tests.factories import World, event, refer


def _actions(ctx: ServiceContext, who: object) -> list[tuple[str, str]]:
    return [(item.reference, item.action) for item in my_work.duties_for(ctx, who).items]  # type: ignore[arg-type]


def test_each_role_sees_what_it_owes_soonest_first(ctx: ServiceContext, clock: FrozenClock) -> None:
    world = World(ctx)
    referrer = world.principal("ref", ["referrer"], "NGO One", "ngo")
    other_referrer = world.principal("ref2", ["referrer"], "NGO Two", "ngo")
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    assessor = world.principal("assess", ["assessor"], "NGO Three", "ngo")
    caseworker = world.principal("worker", ["caseworker"], "Shelter One", "social_services")
    auditor = world.principal("audit", ["auditor"], "Inspection", "coordination")

    adult = refer(ctx, referrer)
    clock.advance(timedelta(hours=1))
    child = refer(ctx, referrer, age_band="15-17", consent_given=False, unaccompanied=True)
    work = my_work.duties_for(ctx, coordinator)
    child_ref = next(i.reference for i in work.items if i.case_id == child)
    adult_ref = next(i.reference for i in work.items if i.case_id == adult)
    actions = _actions(ctx, coordinator)
    # The child's protection steps fall due first (hours), then the assignments; soonest first throughout.
    assert actions[0][0] == child_ref and actions[0][1] in {"child_protection_notified", "guardian_appointed"}
    assert (adult_ref, "assign_assessor") in actions and (child_ref, "assign_assessor") in actions
    assert [i.due_at for i in work.items] == sorted(i.due_at for i in work.items)
    assert _actions(ctx, assessor) == [] and _actions(ctx, referrer) == [] and _actions(ctx, auditor) == []

    event(ctx, coordinator, adult, "assign_assessor", assessor_id=str(assessor.user_id))
    assert _actions(ctx, assessor) == [(adult_ref, "preliminary_decision")]
    assert (adult_ref, "assign_assessor") not in _actions(ctx, coordinator)
    item = my_work.duties_for(ctx, assessor).items[0]
    assert item.working_days and item.deadline_kind == "preliminary_decision"

    event(ctx, assessor, adult, "preliminary_decision", outcome="negative", reasons="test reasons")
    # The referring organisation may now ask for a reconsideration; another organisation sees nothing.
    assert _actions(ctx, referrer) == [(adult_ref, "request_reconsideration")]
    assert _actions(ctx, other_referrer) == []
    assert _actions(ctx, assessor) == []
    clock.advance(timedelta(days=60))  # the window lapsed: nothing left to act on
    assert _actions(ctx, referrer) == []

    # A caseworker assigned to the child follows the service referral until the provider answers.
    from app.services import cases

    cases.assign_caseworker(ctx, coordinator, child, caseworker.user_id)
    need = support.record_need(ctx, caseworker, child, "medical", "immediate", None)
    provider = support.create_provider(ctx, coordinator, "Fictional clinic", "medical", "1 test street", None)
    support.refer_to_service(ctx, caseworker, child, need.id, provider.id)
    follow_up = [i for i in my_work.duties_for(ctx, caseworker).items if i.action == my_work.FOLLOW_UP_SERVICE]
    assert len(follow_up) == 1 and follow_up[0].need_kind == "medical" and follow_up[0].case_id == child


def test_the_list_stops_at_its_limit_and_says_there_is_more(ctx: ServiceContext) -> None:
    world = World(ctx)
    referrer = world.principal("ref", ["referrer"])
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    for _ in range(3):
        refer(ctx, referrer)
    limited = my_work.duties_for(ctx, coordinator, limit=2)
    assert len(limited.items) == 2 and limited.more
    assert not my_work.duties_for(ctx, coordinator, limit=3).more


def test_every_duty_is_an_event_its_owers_may_send() -> None:
    from app.workflow import EVENTS

    for rule in DUTIES:
        assert rule.owed_by <= EVENTS[rule.event].senders, rule
    assert kinds_owed_by([Role.auditor]) == frozenset() and kinds_owed_by([Role.admin]) == frozenset()
    assert EventName.cast_vote in {rule.event for rule in DUTIES}
