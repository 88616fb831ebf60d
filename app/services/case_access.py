"""Need-to-know against the database: the authority's relations (`app/workflow/authority.py`) bound to rows.

- `cases_related(principal, relations)`: a SQL condition on `Case`, derived from the authority's table, for
  lists and single reads (`visible_cases`: the cases the caller may know of; any other case answers 404);
- `case_ties(session, case)`: the facts of one loaded case the Python checks read (`reads_personal_data`).
`tie_condition` is the SQL twin of `authority.is_tied`; tests/services/test_authority.py holds the two to the
same answer on every tie and relation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import ColumnElement, String, cast, exists, false, or_, select, true
from sqlalchemy.orm import Session

from app.models import Case, Panel, PanelSeat, ServiceReferral
from app.security.permissions import Principal
from app.workflow.authority import (
    KNOWING,
    NEVER_PERSONAL_DATA,
    PROVIDER_CONTACT,
    READING,
    RELATIONS,
    CaseTies,
    Relation,
    Tie,
)


def _sitting_seat(principal: Principal, *, unconflicted: bool) -> ColumnElement[bool]:
    conditions = [Panel.case_id == Case.id, Panel.dissolved_at.is_(None), PanelSeat.user_id == principal.user_id]
    if unconflicted:
        conditions.append(PanelSeat.conflict_declared_at.is_(None))
    return exists(select(PanelSeat.user_id).join(Panel, Panel.id == PanelSeat.panel_id).where(*conditions))


def _json_list_contains(column: object, value: str) -> ColumnElement[bool]:
    # Caseworkers per case are few; a LIKE on the JSON text works alike on SQLite and PostgreSQL.
    return cast(column, String).like(f'%"{value}"%')


def tie_condition(tie: Tie, principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on `Case`: `tie` links the principal to the case (the twin of `authority.is_tied`)."""
    match tie:
        case Tie.any_case:
            return true()
        case Tie.organisation:
            return Case.referring_organisation_id == principal.organisation_id
        case Tie.assessor:
            return Case.assessor_id == principal.user_id
        case Tie.panel_seat:
            return _sitting_seat(principal, unconflicted=False)
        case Tie.unconflicted_panel_seat:
            return _sitting_seat(principal, unconflicted=True)
        case Tie.caseworker:
            return _json_list_contains(Case.caseworker_ids, str(principal.user_id))


def cases_related(principal: Principal, relations: Iterable[Relation]) -> ColumnElement[bool]:
    """A SQL condition on `Case`: the principal holds one of these relations to the case."""
    conditions = [
        tie_condition(RELATIONS[relation].tie, principal)
        for relation in relations
        if RELATIONS[relation].role in principal.roles
    ]
    if any(condition is true() for condition in conditions):
        return true()
    return or_(*conditions) if conditions else false()


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """The cases this caller may know of (lists and single reads alike)."""
    return cases_related(principal, KNOWING)


def personal_data_cases(principal: Principal) -> ColumnElement[bool]:
    """The cases whose personal data this caller may read."""
    if principal.roles & NEVER_PERSONAL_DATA:
        return false()
    return cases_related(principal, READING)


def case_ties(session: Session, case: Case) -> CaseTies:
    """The facts of one case that link people to it, with the seats of every panel that still sits."""
    seats = session.execute(
        select(PanelSeat.user_id, PanelSeat.conflict_declared_at)
        .join(Panel, Panel.id == PanelSeat.panel_id)
        .where(Panel.case_id == case.id, Panel.dissolved_at.is_(None))
    ).all()
    return CaseTies(
        referring_organisation_id=str(case.referring_organisation_id),
        assessor_id=str(case.assessor_id) if case.assessor_id is not None else None,
        panel_member_ids=frozenset(str(user_id) for user_id, _ in seats),
        conflicted_panel_member_ids=frozenset(str(user_id) for user_id, declared in seats if declared is not None),
        caseworker_ids=frozenset(case.caseworker_ids),
    )


def may_read_provider_contact(session: Session, principal: Principal, provider_id: uuid.UUID) -> bool:
    """Whether the principal holds a `PROVIDER_CONTACT` relation to a case referred to this provider (a
    relation tied to any case holds whether or not a case was referred there yet)."""
    if principal.roles & NEVER_PERSONAL_DATA:
        return False
    related = cases_related(principal, PROVIDER_CONTACT)
    if related is true():
        return True
    if related is false():
        return False
    referred = exists(
        select(ServiceReferral.id)
        .join(Case, Case.id == ServiceReferral.case_id)
        .where(ServiceReferral.provider_id == provider_id, related)
    )
    return bool(session.scalar(select(referred)))
