"""Who may be given a part on a case: the assessors a coordinator may assign, the members a panel may take, the
caseworkers, and whether proposed members meet each rule of the panel policy, before anything is sent.

Pages offer only these people (a list of every account would show the coordinator names they cannot use);
`send_event` still decides, with the same workflow rules, when the choice is submitted. Read-only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only
from app.models import Case, Organisation, User
from app.security.permissions import Permission, Principal
from app.services.cases.core import load_snapshot, load_visible_case
from app.services.context import ServiceContext
from app.services.errors import Forbidden
from app.workflow import EventName, Role, Sector, State, allowed_events
from app.workflow.authority import Relation, may_hold
from app.workflow.model import CaseSnapshot
from app.workflow.panels import PanelMember, RuleCheck, composition_checks


@dataclass(frozen=True)
class Candidate:
    """A member of staff who may be given a part on the case (no personal data of the person referred)."""

    id: uuid.UUID
    username: str
    organisation: str
    sector: Sector


def _active_staff(session: Session, relation: Relation) -> list[User]:
    users = session.scalars(
        select(User).join(Organisation).where(User.is_active, Organisation.is_active).order_by(User.username)
    )
    return [user for user in users if may_hold(relation, [Role(r) for r in user.roles])]


def _candidate(user: User) -> Candidate:
    return Candidate(user.id, user.username, user.organisation.name, Sector(user.organisation.sector))


def _member(user: User) -> PanelMember:
    return PanelMember(
        str(user.id),
        str(user.organisation_id),
        Sector(user.organisation.sector),
        frozenset(Role(r) for r in user.roles),
    )


def _case_for_step(
    session: Session, ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, event: EventName
) -> tuple[Case, CaseSnapshot]:
    """The case and its snapshot, if this caller may take `event` on it now (else 403: nobody else needs the
    list of people)."""
    case = load_visible_case(session, principal, case_id, for_update=False)
    snapshot = load_snapshot(session, case)
    if event not in allowed_events(snapshot, principal.actor, ctx.clock.now(), ctx.policy):
        raise Forbidden(f"you may not take the step {event.value} on this case now")
    return case, snapshot


def eligible_assessors(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[Candidate]:
    """Active assessors of a sector the policy allows, other than the assessor now assigned and, after a
    reconsideration, those who decided before."""
    with read_only(ctx.read_sessions) as session:
        _, snapshot = _case_for_step(session, ctx, principal, case_id, EventName.assign_assessor)
        excluded = {*snapshot.previous_assessor_ids, snapshot.assessor_id}
        return [
            _candidate(user)
            for user in _active_staff(session, Relation.assigned_assessor)
            if Sector(user.organisation.sector) in ctx.policy.assessor_sectors and str(user.id) not in excluded
        ]


def _is_review(snapshot: CaseSnapshot) -> bool:
    return snapshot.state is State.under_review


def panel_candidates(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[Candidate]:
    """Active panel members the panel may take: of an allowed sector, not of the referring organisation (when
    the policy excludes it), neither conflicted on this case nor, for a review, on the first panel."""
    with read_only(ctx.read_sessions) as session:
        _, snapshot = _case_for_step(session, ctx, principal, case_id, EventName.convene_panel)
        rules = ctx.policy.review_panel if _is_review(snapshot) else ctx.policy.panel
        excluded = set(snapshot.panel.conflicts) if snapshot.panel is not None else set()
        if _is_review(snapshot):
            excluded |= snapshot.first_panel_member_ids
        found = []
        for user in _active_staff(session, Relation.open_panel_member):
            member = _member(user)
            if member.user_id in excluded:
                continue
            if rules.allowed_sectors is not None and member.sector not in rules.allowed_sectors:
                continue
            if rules.exclude_referring_organisation and member.organisation_id == snapshot.referring_organisation_id:
                continue
            found.append(_candidate(user))
        return found


def panel_composition(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, member_ids: Iterable[uuid.UUID]
) -> list[RuleCheck]:
    """Each rule of the panel policy, met or not by these proposed members (unknown ids are left out)."""
    with read_only(ctx.read_sessions) as session:
        _, snapshot = _case_for_step(session, ctx, principal, case_id, EventName.convene_panel)
        wanted = set(member_ids)
        users: list[User] = list(session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
        review = _is_review(snapshot)
        return composition_checks(
            [_member(user) for user in users],
            ctx.policy.review_panel if review else ctx.policy.panel,
            snapshot.referring_organisation_id,
            snapshot.is_child,
            snapshot.first_panel_member_ids if review else None,
        )


def caseworker_candidates(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[Candidate]:
    """Active caseworkers not yet assigned to the case, for the coordinator."""
    if not principal.can(Permission.assign_caseworkers):
        raise Forbidden("only the coordinator assigns caseworkers")
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        return [
            _candidate(user)
            for user in _active_staff(session, Relation.assigned_caseworker)
            if str(user.id) not in case.caseworker_ids
        ]
