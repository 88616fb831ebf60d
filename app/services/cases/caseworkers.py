"""Assign a support provider's caseworker to a case: need-to-know follows the assignment."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.db import transaction
from app.models import CaseHistory, User
from app.security.permissions import Permission, Principal
from app.services.cases.core import append_audit, load_visible_case
from app.services.cases.views import CaseView, case_view
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, Forbidden, InvalidInput
from app.workflow import Role
from app.workflow.authority import Relation, may_hold


def assign_caseworker(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, caseworker_id: uuid.UUID
) -> CaseView:
    """The coordinator assigns a caseworker to the case; assigning one already there changes nothing."""
    if not principal.can(Permission.assign_caseworkers):
        raise Forbidden("only the coordinator assigns caseworkers")
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        version_before = case.version
        user = session.get(User, caseworker_id)
        if user is None or not user.is_active or not may_hold(Relation.assigned_caseworker, _roles(user)):
            raise InvalidInput("not an active caseworker", [FieldProblem(("caseworker_id",), "not a caseworker")])
        if str(user.id) not in case.caseworker_ids:
            case.caseworker_ids = sorted({*case.caseworker_ids, str(user.id)})
            case.version += 1
            case.updated_at = now
            session.add(_history_row(case.id, case.state, principal, user.id, now))
        session.flush()
        view = case_view(session, ctx, case, principal)
        if view.version != version_before:
            append_audit(
                session,
                ctx,
                principal,
                "case.assign_caseworker",
                details={"caseworker_id": str(user.id)},
                now=now,
                case=case,
            )
        return view


def _roles(user: User) -> frozenset[Role]:
    return frozenset(Role(role) for role in user.roles)


def _history_row(
    case_id: uuid.UUID, state: str, principal: Principal, caseworker_id: uuid.UUID, now: datetime
) -> CaseHistory:
    return CaseHistory(
        id=uuid.uuid4(),
        case_id=case_id,
        at=now,
        actor_id=principal.user_id,
        organisation_id=principal.organisation_id,
        event="assign_caseworker",
        from_state=state,
        to_state=state,
        facts={"caseworker_id": str(caseworker_id)},
        text_blob=None,
    )
