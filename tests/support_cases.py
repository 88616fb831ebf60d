"""A cast of accounts and an identified case with its caseworker, through the real use-cases: what the tests of
support after identification start from (tests/services/test_beyond_support.py, tests/web, tests/e2e)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import FrozenClock
from app.security.permissions import Principal
from app.services import cases
from app.services.context import ServiceContext
from tests.factories import World, event, refer


@dataclass
class Cast:
    referrer: Principal
    coordinator: Principal
    caseworker: Principal
    assessor: Principal
    auditor: Principal
    panel: list[Principal]


def support_cast(ctx: ServiceContext) -> Cast:
    """The accounts, made through the services (usernames as the names of the fields)."""
    world = World(ctx)
    return Cast(
        referrer=world.principal("referrer", ["referrer"], "NGO One", "ngo"),
        coordinator=world.principal("coordinator", ["coordinator"], "Secretariat", "coordination"),
        caseworker=world.principal("caseworker", ["caseworker"], "Support NGO", "ngo"),
        assessor=world.principal("assessor", ["assessor"], "Social services", "social_services"),
        auditor=world.principal("auditor", ["auditor"], "Inspection", "coordination"),
        panel=[
            world.principal("p-ngo", ["panel_member"], "NGO Two", "ngo"),
            world.principal("p-police", ["panel_member"], "Police", "police"),
            world.principal("p-health", ["panel_member"], "Hospital", "health"),
        ],
    )


def identify(ctx: ServiceContext, clock: FrozenClock, cast: Cast, **referral: object) -> uuid.UUID:
    """Refer, decide on reasonable grounds, let the reflection period run, identify; assign the caseworker.
    A minute passes between steps, so the history reads in the order things happened."""
    case_id = refer(ctx, cast.referrer, **referral)
    steps = [
        (cast.coordinator, "assign_assessor", {"assessor_id": str(cast.assessor.user_id)}),
        (cast.assessor, "preliminary_decision", {"outcome": "positive", "reasons": "reasonable grounds"}),
        (cast.coordinator, "convene_panel", {"member_ids": [str(m.user_id) for m in cast.panel]}),
        *((m, "cast_vote", {"vote": "identify", "rationale": "consistent account"}) for m in cast.panel),
    ]
    for who, name, fields in steps:
        clock.advance(timedelta(minutes=1))
        event(ctx, who, case_id, name, **fields)
    clock.advance(timedelta(days=35))  # past the reflection period, holidays and week-ends included
    view = event(ctx, cast.coordinator, case_id, "formal_decision")
    assert view.state == "identified"
    cases.assign_caseworker(ctx, cast.coordinator, case_id, cast.caseworker.user_id)
    return case_id


def move_to(clock: FrozenClock, when: datetime) -> None:
    """Move the clock forward to `when` (never back)."""
    assert when >= clock.now()
    clock.advance(when - clock.now())
