"""Who may know of a case, and who may read its personal data: need-to-know, written once.

A case the caller may not know of is answered as if it did not exist (404). Reading personal data needs
more: a role with need-to-know on this very case. Auditors and admins never read personal data, whatever
other role they also hold.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, String, cast, exists, false, or_, select, true

from app.models import Case, Panel, PanelSeat
from app.security.permissions import Principal

NEVER_PERSONAL_DATA = frozenset({"auditor", "admin"})


def _open_panel_member(principal: Principal) -> ColumnElement[bool]:
    return exists(
        select(PanelSeat.user_id)
        .join(Panel, Panel.id == PanelSeat.panel_id)
        .where(Panel.case_id == Case.id, Panel.dissolved_at.is_(None), PanelSeat.user_id == principal.user_id)
    )


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on `Case`: the cases this caller may know of (lists and single reads alike)."""
    roles = principal.roles
    if roles & {"coordinator", "auditor"}:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if "referrer" in roles:
        conditions.append(Case.referring_organisation_id == principal.organisation_id)
    if "assessor" in roles:
        conditions.append(Case.assessor_id == principal.user_id)
    if "panel_member" in roles:
        conditions.append(_open_panel_member(principal))
    if "caseworker" in roles:
        conditions.append(_json_list_contains(Case.caseworker_ids, str(principal.user_id)))
    return or_(*conditions) if conditions else false()


def _json_list_contains(column: object, value: str) -> ColumnElement[bool]:
    # Caseworkers per case are few; a LIKE on the JSON text works alike on SQLite and PostgreSQL.
    return cast(column, String).like(f'%"{value}"%')


def may_read_personal_data(principal: Principal, case: Case, open_panel_member_ids: set[uuid.UUID]) -> bool:
    roles = principal.roles
    if roles & NEVER_PERSONAL_DATA:
        return False
    return (
        "coordinator" in roles
        or ("referrer" in roles and case.referring_organisation_id == principal.organisation_id)
        or ("assessor" in roles and case.assessor_id == principal.user_id)
        or ("panel_member" in roles and principal.user_id in open_panel_member_ids)
        or ("caseworker" in roles and str(principal.user_id) in case.caseworker_ids)
    )
