"""The navigation bar: which links each signed-in person sees.

A page for one role adds its entry here: its label (marked with `N_`), its path, and the permission its page
needs (the one it declares with `page_for`), so that the menu offers a page exactly to those whose roles the
authority (`app/workflow/authority.py`) lets in. Entries show in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.security.permissions import Permission, Principal
from app.web.i18n import N_


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission | None = None  # None: every signed-in person

    def shown_to(self, principal: Principal) -> bool:
        return self.permission is None or principal.can(self.permission)


NAVIGATION: tuple[NavItem, ...] = (
    NavItem(N_("My work"), "/my-work"),
    NavItem(N_("Referrals"), "/referrals", Permission.refer),
    NavItem(N_("Queue"), "/queue", Permission.work_queue),
    NavItem(N_("Assigned cases"), "/assigned", Permission.assess),
    NavItem(N_("My panels"), "/panels", Permission.sit_on_panels),
    NavItem(N_("Providers"), "/providers", Permission.read_providers),
    NavItem(N_("Needs gaps"), "/reports/needs", Permission.read_statistics),
    NavItem(N_("First steps"), "/first-steps"),
    NavItem(N_("Transfers"), "/transfers", Permission.manage_transfers),
    NavItem(N_("Compliance"), "/audit/compliance", Permission.read_audit),
    NavItem(N_("Statistics"), "/audit/statistics", Permission.read_statistics),
    NavItem(N_("Accounts"), "/admin/users", Permission.manage_accounts),
    NavItem(N_("Organisations"), "/admin/organisations", Permission.manage_accounts),
    NavItem(N_("Keys"), "/admin/keys", Permission.manage_accounts),
    NavItem(N_("My account"), "/account"),
)


def items_for(principal: Principal) -> list[NavItem]:
    return [item for item in NAVIGATION if item.shown_to(principal)]
