"""The one authority, in SQL and in Python: on both databases, for every principal of a small world, every case
and every tie and relation of `app/workflow/authority.py`, the SQL condition lists use (`case_access`) and the
Python check one case uses (`authority`) give the same answer."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FrozenClock
from app.models import Case, Panel, PanelSeat, Provider, ServiceReferral, SupportNeed
from app.security.permissions import Principal
from app.services.case_access import (
    case_ties,
    cases_related,
    may_read_provider_contact,
    personal_data_cases,
    provider_tie_condition,
    tie_condition,
    visible_cases,
)
from app.services.context import ServiceContext
from app.workflow.authority import (
    RELATIONS,
    ProviderTie,
    ReferralTies,
    Relation,
    Tie,
    is_provider_tied,
    is_tied,
    knows_of,
    locates_provider,
    reads_personal_data,
    relations_of,
)
from app.workflow.states import NeedKind, ProviderKind, ServiceStatus
from tests.factories import World, refer, referral_row


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
        # A declared conflict ends the member's need-to-know (issue 10 point 12).
        assert reads("seated", paneled) and not knows("conflicted", paneled) and not knows("dismissed", paneled)
        assert reads("caseworker", assessed) and not knows("idle_caseworker", assessed)
        assert reads("coordinator", other) and knows("auditor", other) and not reads("auditor", other)
        assert not knows("admin", plain)
        assert knows("both", plain) and not reads("both", plain)  # an auditor never reads personal data
        assert reads("hats", other) and reads("hats", paneled) and not knows("hats", plain)


# --- support providers: who reads a provider's address and phone -----------------------------------------------


def _refer_to(
    session: Session, case_id: uuid.UUID, need: NeedKind, provider: uuid.UUID, status: str, now: datetime
) -> None:
    need_id = uuid.uuid4()
    session.add(
        SupportNeed(
            id=need_id, case_id=case_id, kind=need.value, urgency="immediate", recorded_by=uuid.uuid4(), created_at=now
        )
    )
    referral_row(session, case_id, need_id, provider, status, now)


def _providers(ctx: ServiceContext, clock: FrozenClock, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, ProviderKind]:
    """Providers with referrals of every status, of needs they serve and do not serve, from running, ended and
    erased cases (the caseworker is assigned to `assessed`; the caseworker and `hats` to `other`)."""
    plain, assessed, _paneled, other = case_ids
    now = clock.now()
    kinds = {name: uuid.uuid4() for name in ("shelter", "medical", "lawyer", "unreferred", "ended", "erased")}
    provider_kinds = {
        kinds["shelter"]: ProviderKind.shelter,
        kinds["medical"]: ProviderKind.medical,
        kinds["lawyer"]: ProviderKind.lawyer,
        kinds["unreferred"]: ProviderKind.shelter,
        kinds["ended"]: ProviderKind.shelter,
        kinds["erased"]: ProviderKind.shelter,
    }
    with ctx.read_sessions() as session:
        referrer = _referrer_of(session, plain)
    ended, erased = (refer(ctx, referrer) for _ in range(2))
    with ctx.sessions.begin() as session:
        for provider_id, kind in provider_kinds.items():
            session.add(
                Provider(
                    id=provider_id,
                    name="P",
                    kind=kind.value,
                    kek_id="k",
                    wrapped_key=b"w",
                    address_blob=b"a",
                    created_at=now,
                )
            )
        session.flush()
        for case_id in (ended, erased):
            session.get_one(Case, case_id).caseworker_ids = session.get_one(Case, assessed).caseworker_ids
        session.get_one(Case, ended).ended_at = now
        session.get_one(Case, erased).erased_at = now
        _refer_to(session, assessed, NeedKind.shelter, kinds["shelter"], "requested", now)  # live, matching
        _refer_to(session, other, NeedKind.other, kinds["shelter"], "accepted", now)  # live, not a shelter need
        _refer_to(session, assessed, NeedKind.psychological, kinds["medical"], "refused", now)
        _refer_to(session, other, NeedKind.medical, kinds["medical"], "accepted", now)  # live, matching
        _refer_to(session, assessed, NeedKind.legal, kinds["lawyer"], "delivered", now)
        _refer_to(session, ended, NeedKind.shelter, kinds["ended"], "accepted", now)
        _refer_to(session, erased, NeedKind.shelter, kinds["erased"], "requested", now)
    return provider_kinds


def _referrer_of(session: Session, case_id: uuid.UUID) -> Principal:
    case = session.get_one(Case, case_id)
    return Principal.of(case.referrer_id, case.referring_organisation_id, "ngo", ["referrer"])


def _referral_ties(session: Session, provider_id: uuid.UUID) -> list[ReferralTies]:
    rows = session.execute(
        select(ServiceReferral.status, SupportNeed.kind, Case)
        .join(SupportNeed, SupportNeed.id == ServiceReferral.need_id)
        .join(Case, Case.id == ServiceReferral.case_id)
        .where(ServiceReferral.provider_id == provider_id)
    ).all()
    return [
        ReferralTies(
            case_ties(session, case),
            case.ended_at is None and case.erased_at is None,
            ServiceStatus(status),
            NeedKind(kind),
        )
        for status, kind, case in rows
    ]


def test_sql_and_python_agree_on_who_reads_a_providers_contact(ctx: ServiceContext, clock: FrozenClock) -> None:
    principals, case_ids = _world(ctx, clock)
    providers = _providers(ctx, clock, case_ids)
    answers: dict[ProviderTie, set[bool]] = {tie: set() for tie in ProviderTie}
    with ctx.read_sessions() as session:
        for provider_id, kind in providers.items():
            referrals = _referral_ties(session, provider_id)
            for principal in principals:
                actor = principal.actor
                for relation in Relation:
                    for tie in ProviderTie:
                        expected = is_provider_tied(relation, tie, actor, kind, referrals)
                        condition = provider_tie_condition(relation, tie, principal, provider_id, kind)
                        assert bool(session.scalar(select(condition))) == expected, (relation, tie, principal, kind)
                        answers[tie] |= {expected} if RELATIONS[relation].role in actor.roles else set()
                expected = locates_provider(actor, kind, referrals)
                assert may_read_provider_contact(session, principal, provider_id, kind) == expected, (principal, kind)
    assert all(seen == {True, False} for tie, seen in answers.items() if tie is not ProviderTie.any_provider), answers


def test_a_caseworker_locates_only_through_a_live_matching_referral(ctx: ServiceContext, clock: FrozenClock) -> None:
    """The answers for the caseworker written out (issue 10 point 3), so the rule cannot drift unseen."""
    principals, case_ids = _world(ctx, clock)
    providers = list(_providers(ctx, clock, case_ids))
    caseworker, idle, coordinator, auditor, hats = (principals[i] for i in (7, 8, 9, 10, 13))
    with ctx.read_sessions() as session:

        def located(principal: Principal, index: int) -> bool:
            provider_id = providers[index]
            kind = ProviderKind(session.get_one(Provider, provider_id).kind)
            return may_read_provider_contact(session, principal, provider_id, kind)

        assert [located(caseworker, i) for i in range(6)] == [True, True, False, False, False, False]
        # `hats` is assigned to `other` only: an `other` need opens no shelter; a medical need opens the clinic.
        assert [located(hats, i) for i in range(6)] == [False, True, False, False, False, False]
        assert not any(located(idle, i) for i in range(6)) and not any(located(auditor, i) for i in range(6))
        assert all(located(coordinator, i) for i in range(6))
