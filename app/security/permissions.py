"""Who may call what: the one table of role permissions, checked by one dependency on every route.

Need-to-know on a particular case (is this caller the referring organisation, the assigned assessor, ...)
is decided in the service layer, which can see the case; this table only says which roles may try.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    manage_accounts = "manage_accounts"
    read_organisations = "read_organisations"
    read_policy = "read_policy"
    refer = "refer"
    notify = "notify"
    read_cases = "read_cases"
    send_events = "send_events"
    read_identity = "read_identity"
    erase_case = "erase_case"
    read_audit = "read_audit"
    read_statistics = "read_statistics"
    manage_providers = "manage_providers"
    read_providers = "read_providers"
    record_support = "record_support"
    read_documents = "read_documents"
    upload_documents = "upload_documents"


_EVERY_ACCOUNT = frozenset({Permission.read_policy, Permission.read_organisations})
_CASE_WORK = frozenset({Permission.read_cases, Permission.send_events, Permission.read_identity})

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "referrer": _EVERY_ACCOUNT
    | _CASE_WORK
    | {Permission.refer, Permission.notify, Permission.upload_documents, Permission.read_documents},
    "assessor": _EVERY_ACCOUNT | _CASE_WORK | {Permission.read_documents, Permission.upload_documents},
    "coordinator": _EVERY_ACCOUNT
    | _CASE_WORK
    | {
        Permission.erase_case,
        Permission.read_audit,
        Permission.read_statistics,
        Permission.manage_providers,
        Permission.read_providers,
        Permission.record_support,
        Permission.read_documents,
        Permission.upload_documents,
    },
    "panel_member": _EVERY_ACCOUNT | _CASE_WORK | {Permission.read_documents},
    "caseworker": _EVERY_ACCOUNT
    | _CASE_WORK
    | {
        Permission.record_support,
        Permission.read_providers,
        Permission.read_documents,
        Permission.upload_documents,
    },
    # Auditors read states, dates, deadlines and the audit trail; never personal data.
    "auditor": _EVERY_ACCOUNT | {Permission.read_cases, Permission.read_audit, Permission.read_statistics},
    # The operator runs accounts and keys and reads no personal data by default.
    "admin": _EVERY_ACCOUNT | {Permission.manage_accounts},
}

ROLES = frozenset(ROLE_PERMISSIONS)
# Roles whose holders may read identities (with need-to-know on the case). Separation of duties: the operator
# (`admin`), who grants roles, holds none of them.
PERSONAL_DATA_ROLES = frozenset(
    role for role, allowed in ROLE_PERMISSIONS.items() if Permission.read_identity in allowed
)
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request or a command."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID
    sector: str
    roles: frozenset[str]

    def can(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS.get(role, frozenset()) for role in self.roles)
