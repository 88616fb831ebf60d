"""The navigation bar: which links each signed-in person sees, by role.

A page for one role adds its entry here (label marked with `N_`, path, and the roles that see it); the layout
shows the entries the signed-in person's roles allow, in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.security.permissions import ROLES, Principal
from app.web.i18n import N_


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    roles: frozenset[str] = ROLES

    def shown_to(self, principal: Principal) -> bool:
        return bool(self.roles & principal.roles)


NAVIGATION: tuple[NavItem, ...] = (NavItem(N_("My work"), "/my-work"),)


def items_for(principal: Principal) -> list[NavItem]:
    return [item for item in NAVIGATION if item.shown_to(principal)]
