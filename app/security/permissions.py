"""The authenticated caller, bound to the one authority (`app/workflow/authority.py`).

A `Principal` comes from a bearer token or from a web session alike; services accept either and never ask
which. What its roles allow is answered by the authority's tables, never by comparing role names here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from app.workflow.authority import ROLE_PERMISSIONS, Permission, allows
from app.workflow.model import Actor
from app.workflow.states import Role, Sector

__all__ = ["ROLES", "Permission", "Principal"]

#: Every role there is, as the authority names them.
ROLES: frozenset[Role] = frozenset(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request or a command."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID
    sector: Sector
    roles: frozenset[Role]

    @classmethod
    def of(cls, user_id: uuid.UUID, organisation_id: uuid.UUID, sector: str, roles: Iterable[str]) -> Principal:
        """A principal from stored values (a user row, a token's or a session's lookup)."""
        return cls(user_id, organisation_id, Sector(sector), frozenset(Role(role) for role in roles))

    def can(self, permission: Permission) -> bool:
        return allows(self.roles, permission)

    @property
    def actor(self) -> Actor:
        """The same caller as the workflow sees them."""
        return Actor(str(self.user_id), str(self.organisation_id), self.sector, self.roles)
