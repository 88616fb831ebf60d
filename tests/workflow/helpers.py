"""Builders shared by the workflow tests: actors, members, snapshots, a tiny in-memory service, edited data files."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from app.workflow import (
    Actor,
    CaseSnapshot,
    Decision,
    EventName,
    EventRequest,
    PanelMember,
    PersonRequest,
    Policy,
    Referral,
    Refusal,
    RequestChannel,
    Role,
    Sector,
    State,
    apply_decision,
    decide,
    new_case,
)

REFERRING_ORG = "org-ref"
#: Events that move a case along the identification path; random walks favour them.
FORWARD = {
    EventName.assign_assessor,
    EventName.preliminary_decision,
    EventName.request_reconsideration,
    EventName.convene_panel,
    EventName.cast_vote,
    EventName.formal_decision,
    EventName.request_review,
    EventName.review_decision,
    EventName.report_found,
}
#: Events a caseworker (or the coordinator) sends with an optional note only: protection steps and reviews.
CASEWORKER_STEPS = (
    EventName.child_protection_notified,
    EventName.guardian_appointed,
    EventName.shelter_offered,
    EventName.police_notified,
    EventName.emergency_shelter_provided,
    EventName.support_plan_reviewed,
)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday

COORDINATOR = Actor("u-coord", "org-nrm", Sector.coordination, frozenset({Role.coordinator}))
REFERRER = Actor("u-ref", REFERRING_ORG, Sector.ngo, frozenset({Role.referrer}))
OTHER_REFERRER = Actor("u-ref2", "org-other", Sector.ngo, frozenset({Role.referrer}))
CASEWORKER = Actor("u-cw", "org-shelter", Sector.ngo, frozenset({Role.caseworker}))
AUDITOR = Actor("u-aud", "org-audit", Sector.coordination, frozenset({Role.auditor}))
ADMIN = Actor("u-admin", "org-op", Sector.coordination, frozenset({Role.admin}))


def asked(name: EventName, at: datetime, how: RequestChannel = RequestChannel.in_writing) -> EventRequest:
    """An event that records the person's own request (`request_early_decision`, `withdraw_consent`)."""
    return EventRequest(name, person_request=PersonRequest(how, at))


def assessor(n: int = 1, sector: Sector = Sector.ngo) -> PanelMember:
    return PanelMember(f"u-ass{n}", f"org-ass{n}", sector, frozenset({Role.assessor}))


def assessor_actor(member: PanelMember) -> Actor:
    return Actor(member.user_id, member.organisation_id, member.sector, member.roles)


def member(user_id: str, sector: Sector, org: str | None = None) -> PanelMember:
    return PanelMember(user_id, org or f"org-{user_id}", sector, frozenset({Role.panel_member}))


def member_actor(m: PanelMember) -> Actor:
    return Actor(m.user_id, m.organisation_id, m.sector, m.roles)


FIRST_PANEL = (
    member("p1", Sector.ngo),
    member("p2", Sector.labour_inspection),
    member("p3", Sector.child_protection),
)
REVIEW_PANEL = (
    member("r1", Sector.ngo),
    member("r2", Sector.social_services),
    member("r3", Sector.child_protection),
)
UK_DECISION_MAKER = (member("sca1", Sector.coordination),)
UK_MAAP = (member("m1", Sector.coordination), member("m2", Sector.ngo), member("m3", Sector.police))


def base_case(**changes: object) -> CaseSnapshot:
    case = CaseSnapshot(
        id="c1",
        state=State.referred,
        created_at=T0,
        referring_organisation_id=REFERRING_ORG,
        consent_given=True,
        caseworker_ids=frozenset({CASEWORKER.user_id}),
    )
    return replace(case, **changes)  # type: ignore[arg-type]


@dataclass
class Harness:
    """A pure stand-in for the service layer: it holds one snapshot and applies decisions to it."""

    policy: Policy
    case: CaseSnapshot | None = None
    history: list[Decision] = field(default_factory=list)

    def refer(self, referral: Referral, now: datetime, actor: Actor = REFERRER) -> Decision | Refusal:
        result = decide(None, actor, EventRequest(EventName.referral, referral=referral), now, self.policy)
        if isinstance(result, Decision):
            self.case = replace(
                new_case("c1", actor.organisation_id, referral, result, now),
                caseworker_ids=frozenset({CASEWORKER.user_id}),
            )
            self.history.append(result)
        return result

    def send(self, actor: Actor, event: EventRequest, now: datetime) -> Decision | Refusal:
        assert self.case is not None
        result = decide(self.case, actor, event, now, self.policy)
        if isinstance(result, Decision):
            self.case = apply_decision(self.case, result)
            self.history.append(result)
        return result

    def ok(self, actor: Actor, event: EventRequest, now: datetime) -> Decision:
        result = self.send(actor, event, now)
        assert isinstance(result, Decision), result
        return result


def edited_copy(source: Path, target: Path, old: str, new: str) -> Path:
    """Write to `target` a copy of the shipped data file `source` with the first `old` replaced by `new`."""
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {source.name}: the test no longer edits what it means to"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target
