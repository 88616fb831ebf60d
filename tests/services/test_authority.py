"""The one authority, in SQL and in Python: on both databases, for every principal of a small world, every case
and every tie and relation of `app/workflow/authority.py`, the SQL condition lists use (`case_access`) and the
Python check one case uses (`authority`) give the same answer."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.clock import FrozenClock
from app.models import Case, Panel, PanelSeat
from app.security.permissions import Principal
from app.services.case_access import (
    case_ties,
    cases_related,
    personal_data_cases,
    tie_condition,
    visible_cases,
)
from app.services.context import ServiceContext
from app.workflow.authority import RELATIONS, Relation, Tie, is_tied, knows_of, reads_personal_data, relations_of
from tests.factories import World, refer


def _world(ctx: ServiceContext, clock: FrozenClock) -> tuple[list[Principal], list[uuid.UUID]]:
    world = World(ctx)
    referrer = world.principal("referrer", ["referrer"], "NGO One", "ngo")
    other_referrer = world.principal("other-referrer", ["referrer"], "NGO Two", "ngo")
    assessor = world.principal("assessor", ["assessor"], "Social Services", "social_services")
    idle_assessor = world.principal("idle-assessor", ["assessor"], "Social Services", "social_services")
    seated = world.principal("seated", ["panel_member"], "Police", "police")
    conflicted = world.principal("conflicted", ["panel_member"], "Hospital", "health")
    dismissed = world.principal("dismissed", ["panel_member"], "Labour", "labour_inspection")
    caseworker = world.principal("caseworker", ["caseworker"], "Shelter", "ngo")
    idle_caseworker = world.principal("idle-caseworker", ["caseworker"], "Shelter", "ngo")
    coordinator = world.principal("coordinator", ["coordinator"], "Secretariat", "coordination")
    auditor = world.principal("auditor", ["auditor"], "Inspection", "coordination")
    admin = world.principal("admin", ["admin"], "Operator", "coordination")
    # Roles that bring a relation with them and roles that forbid personal data, on one user.
    watching_coordinator = world.principal("both", ["coordinator", "auditor"], "Secretariat", "coordination")
    many_hats = world.principal("hats", ["referrer", "caseworker", "panel_member"], "NGO Two", "ngo")
    principals = [
        referrer,
        other_referrer,
        assessor,
        idle_assessor,
        seated,
        conflicted,
        dismissed,
        caseworker,
        idle_caseworker,
        coordinator,
        auditor,
        admin,
        watching_coordinator,
        many_hats,
    ]

    plain, assessed, paneled = (refer(ctx, referrer) for _ in range(3))
    other = refer(ctx, other_referrer)
    now = clock.now()
    with ctx.sessions.begin() as session:
        session.get_one(Case, assessed).assessor_id = assessor.user_id
        session.get_one(Case, assessed).caseworker_ids = [str(caseworker.user_id)]
        session.get_one(Case, other).caseworker_ids = [str(many_hats.user_id), str(caseworker.user_id)]
        gone = Panel(id=uuid.uuid4(), case_id=paneled, is_review=False, convened_at=now, dissolved_at=now)
        gone.members = [PanelSeat(user_id=dismissed.user_id, organisation_id=dismissed.organisation_id, sector="x")]
        sitting = Panel(id=uuid.uuid4(), case_id=paneled, is_review=False, convened_at=now + timedelta(seconds=1))
        sitting.members = [
            PanelSeat(user_id=p.user_id, organisation_id=p.organisation_id, sector="x")
            for p in (seated, conflicted, many_hats)
        ]
        sitting.members[1].conflict_declared_at = now
        session.add_all([gone, sitting])
    return principals, [plain, assessed, paneled, other]


def test_sql_and_python_agree_on_every_tie_and_relation(ctx: ServiceContext, clock: FrozenClock) -> None:
    principals, case_ids = _world(ctx, clock)
    held: set[Relation] = set()
    missed: set[Relation] = set()
    with ctx.read_sessions() as session:
        cases = {case.id: case for case in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
        ties = {case_id: case_ties(session, case) for case_id, case in cases.items()}

        def matching(condition: object) -> set[uuid.UUID]:
            return set(session.scalars(select(Case.id).where(Case.id.in_(case_ids), condition)))  # type: ignore[arg-type]

        for principal in principals:
            actor = principal.actor
            for tie in Tie:
                expected = {case_id for case_id in case_ids if is_tied(tie, actor, ties[case_id])}
                assert matching(tie_condition(tie, principal)) == expected, (tie, principal)
            for relation in Relation:
                expected = {case_id for case_id in case_ids if relation in relations_of(actor, ties[case_id])}
                assert matching(cases_related(principal, [relation])) == expected, (relation, principal)
                held |= {relation} if expected else set()
                missed |= {relation} if set(case_ids) - expected else set()
            knowing = {case_id for case_id in case_ids if knows_of(actor, ties[case_id])}
            assert matching(visible_cases(principal)) == knowing, principal
            reading = {case_id for case_id in case_ids if reads_personal_data(actor, ties[case_id])}
            assert matching(personal_data_cases(principal)) == reading, principal
    # The world exercises every relation both ways, so a disagreement anywhere would have shown.
    assert held == set(Relation), set(Relation) - held
    assert missed >= set(Relation) - {r for r, rule in RELATIONS.items() if rule.tie is Tie.any_case}


def test_need_to_know_as_the_domain_says(ctx: ServiceContext, clock: FrozenClock) -> None:
    """A few answers written out from domain.md, so the authority's table cannot drift unseen."""
    principals, (plain, assessed, paneled, other) = _world(ctx, clock)
    by_name = dict(
        zip(
            [
                "referrer",
                "other_referrer",
                "assessor",
                "idle_assessor",
                "seated",
                "conflicted",
                "dismissed",
                "caseworker",
                "idle_caseworker",
                "coordinator",
                "auditor",
                "admin",
                "both",
                "hats",
            ],
            principals,
            strict=True,
        )
    )
    with ctx.read_sessions() as session:

        def ties(case_id: uuid.UUID) -> object:
            return case_ties(session, session.get_one(Case, case_id))

        def reads(name: str, case_id: uuid.UUID) -> bool:
            return reads_personal_data(by_name[name].actor, ties(case_id))  # type: ignore[arg-type]

        def knows(name: str, case_id: uuid.UUID) -> bool:
            return knows_of(by_name[name].actor, ties(case_id))  # type: ignore[arg-type]

        assert reads("referrer", plain) and not knows("other_referrer", plain)
        assert reads("assessor", assessed) and not knows("idle_assessor", assessed)
        assert reads("seated", paneled) and reads("conflicted", paneled) and not knows("dismissed", paneled)
        assert reads("caseworker", assessed) and not knows("idle_caseworker", assessed)
        assert reads("coordinator", other) and knows("auditor", other) and not reads("auditor", other)
        assert not knows("admin", plain)
        assert knows("both", plain) and not reads("both", plain)  # an auditor never reads personal data
        assert reads("hats", other) and reads("hats", paneled) and not knows("hats", plain)
