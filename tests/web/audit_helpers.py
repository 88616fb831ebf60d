"""A season of deadlines for the auditor's pages (TestClient and browser tests): cases referred in March and April
2027 whose preliminary decisions were taken on time, late, or not at all, through the services and the test
clock. Everything is fictional."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.clock import FrozenClock
from app.services.context import ServiceContext
from tests.factories import World, event, refer

DAY = timedelta(days=1)


def season_of_deadlines(ctx: ServiceContext, clock: FrozenClock) -> World:
    """Three cases per month in March and April 2027: one decided the next day, one after 10 days, one never;
    the clock ends on 20 May 2027. Returns the world (users "referrer", "coordinator", "assessor")."""
    world = World(ctx)
    referrer = world.principal("referrer", ["referrer"], "Association Fictive Exemple", "ngo")
    coordinator = world.principal("coordinator", ["coordinator"], "Secrétariat du MNR (fictif)", "coordination")
    assessor = world.principal("assessor", ["assessor"], "Association Fictive Deux", "ngo")
    for month in (3, 4):
        start = datetime(2027, month, 1, 9, tzinfo=clock.now().tzinfo)
        clock.set(start)
        on_time, late, never = (refer(ctx, referrer) for _ in range(3))
        for case_id in (on_time, late, never):
            event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
        clock.set(start + DAY)
        event(ctx, assessor, on_time, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
        clock.set(start + 10 * DAY)
        event(ctx, assessor, late, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    clock.set(datetime(2027, 5, 20, 9, tzinfo=clock.now().tzinfo))
    return world
