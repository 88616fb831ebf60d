"""`nrm demo seed` (run by `make run`) tells its cases through the real use-cases with the clock moved back from
today: it must succeed whatever today is, since a reflection period that ends on a weekend or a public holiday
is extended to the next working day and the demo's panel must still vote after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FrozenClock
from app.services import cases, demo, my_work
from app.services.context import ServiceContext
from app.workflow import State
from tests.web.helpers import principal_named

# A week (every weekday alignment of the demo's steps) and the year's end (Christmas, New Year).
TODAYS = [datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(days=n) for n in range(7)] + [
    datetime(2026, 12, 27, 8, tzinfo=UTC),
    datetime(2027, 1, 3, 8, tzinfo=UTC),
    datetime(2027, 5, 20, 8, tzinfo=UTC),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("today", TODAYS, ids=lambda d: d.date().isoformat())
def test_the_demo_seeds_on_any_day(ctx: ServiceContext, clock: FrozenClock, today: datetime) -> None:
    clock.set(today)
    demo.seed(ctx, None)
    counts = cases.count_by_state(ctx, principal_named(ctx, "coordinator"))
    assert counts[State.identified] == 1 and counts[State.formal_assessment] == 1
    # Every case-work role has something to act on (the caseworker: the identified person's support plan).
    for username in ("coordinator", "assessor-labour", "panel-social", "caseworker"):
        assert my_work.duties_for(ctx, principal_named(ctx, username)).items, username
