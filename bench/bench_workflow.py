"""Micro-benchmark of `decide` (not a test): mean time per decision over a mix of events.

.venv/bin/python bench/bench_workflow.py [ITERATIONS]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A standalone script: make the repository importable when run as `python bench/bench_workflow.py`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.workflow import (
    Actor,
    AgeBand,
    CaseSnapshot,
    Decision,
    EventName,
    EventRequest,
    PanelMember,
    PreliminaryOutcome,
    Referral,
    Role,
    Sector,
    Vote,
    apply_decision,
    decide,
    load_policy,
    new_case,
)

POLICY = load_policy("fr")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
COORDINATOR = Actor("coord", "nrm", Sector.coordination, frozenset({Role.coordinator}))
REFERRER = Actor("ref", "org-ref", Sector.ngo, frozenset({Role.referrer}))
ASSESSOR = PanelMember("ass", "org-ass", Sector.ngo, frozenset({Role.assessor}))
PANEL = tuple(
    PanelMember(f"p{i}", f"org-p{i}", sector, frozenset({Role.panel_member}))
    for i, sector in enumerate((Sector.ngo, Sector.labour_inspection, Sector.child_protection))
)


def _as_actor(member: PanelMember) -> Actor:
    return Actor(member.user_id, member.organisation_id, member.sector, member.roles)


def scenario() -> list[tuple[CaseSnapshot, Actor, EventRequest, datetime]]:
    """A case walked from referral to formal decision; each step is one benchmarked decision."""
    referral = Referral(age_band=AgeBand.band_25_34, consent_given=True, shelter_needed=True)
    first = decide(None, REFERRER, EventRequest(EventName.referral, referral=referral), T0, POLICY)
    assert isinstance(first, Decision)
    case = new_case("c1", REFERRER.organisation_id, referral, first, T0)
    steps: list[tuple[Actor, EventRequest, datetime]] = [
        (COORDINATOR, EventRequest(EventName.assign_assessor, assessor=ASSESSOR), T0),
        (
            _as_actor(ASSESSOR),
            EventRequest(EventName.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="r"),
            T0 + timedelta(days=1),
        ),
        (COORDINATOR, EventRequest(EventName.report_missing), T0 + timedelta(days=2)),
        (COORDINATOR, EventRequest(EventName.report_found), T0 + timedelta(days=3)),
        (COORDINATOR, EventRequest(EventName.convene_panel, members=PANEL), T0 + timedelta(days=4)),
        *[
            (_as_actor(m), EventRequest(EventName.cast_vote, vote=Vote.identify, rationale="r"), T0 + timedelta(days=5))
            for m in PANEL
        ],
        (COORDINATOR, EventRequest(EventName.formal_decision), T0 + timedelta(days=40)),
    ]
    calls = []
    for actor, request, now in steps:
        calls.append((case, actor, request, now))
        result = decide(case, actor, request, now, POLICY)
        assert isinstance(result, Decision), result
        case = apply_decision(case, result)
    return calls


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    calls = scenario()
    for call in calls:  # warm the holiday and zone caches
        decide(*call, POLICY)
    start = time.perf_counter()
    for _ in range(iterations):
        for case, actor, request, now in calls:
            decide(case, actor, request, now, POLICY)
    elapsed = time.perf_counter() - start
    count = iterations * len(calls)
    print(f"decide: {count} decisions, mean {elapsed / count * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
