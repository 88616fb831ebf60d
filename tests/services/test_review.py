"""The review path through the service layer, on both databases: a negative formal decision, a review asked
for by the referrer, a review panel that may share no member with the first, and a final review decision."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.services.context import ServiceContext
from app.services.errors import Conflict, InvalidInput
from tests.factories import event, principal, refer


def test_negative_formal_decision_reviewed_by_other_members(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    first = [
        principal(ctx, "p-ngo", ["panel_member"], "NGO Three", "ngo"),
        principal(ctx, "p-police", ["panel_member"], "Police", "police"),
        principal(ctx, "p-social", ["panel_member"], "Social services", "social_services"),
    ]
    second = [
        principal(ctx, "r-ngo", ["panel_member"], "NGO Four", "ngo"),
        principal(ctx, "r-labour", ["panel_member"], "Labour inspection", "labour_inspection"),
        principal(ctx, "r-child", ["panel_member"], "Child protection", "child_protection"),
    ]
    case_id = refer(ctx, referrer)
    event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    event(ctx, assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    event(ctx, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in first])
    for member in first:
        event(ctx, member, case_id, "cast_vote", vote="not_identify", rationale="not enough to conclude")
    with pytest.raises(Conflict):  # the reflection period still runs and no early decision was asked for
        event(ctx, coordinator, case_id, "formal_decision")
    clock.advance(timedelta(days=31))
    assert event(ctx, coordinator, case_id, "formal_decision").state == "not_identified"

    view = event(ctx, referrer, case_id, "request_review", reasons="new evidence from the labour inspection")
    assert view.state == "under_review"
    with pytest.raises(InvalidInput):  # a member of the first panel may not sit on the review panel
        event(ctx, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in [first[0], *second[1:]]])
    view = event(ctx, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in second])
    assert view.panel is not None and view.panel.is_review
    for member in second:
        event(ctx, member, case_id, "cast_vote", vote="identify", rationale="the new evidence is convincing")
    final = event(ctx, coordinator, case_id, "review_decision")
    assert final.state == "identified"
    assert "request_review" not in final.allowed_events
    statuses = {d.kind: d.status for d in final.deadlines}
    assert statuses == {
        "preliminary_decision": "met",
        "reflection_period": "met",
        "panel_convening": "met",
        "formal_decision": "met",
        "review_window": "met",  # exercised in time
        "review_decision": "met",
        "support_review": "open",  # identified on review: the support plan starts
    }
