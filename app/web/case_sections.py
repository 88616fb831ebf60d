"""The parts of a case that have their own pages under `/cases/{case_id}/...`, linked from the case page.

Each area adds its entry here (label marked with `N_`, the path suffix, the permission its page declares), so
the case page links a part exactly to those whose roles may open it; need-to-know on the case itself is the
page's to check, through its service. Entries show in this order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.security.permissions import Permission, Principal
from app.web.i18n import N_


@dataclass(frozen=True)
class CaseSection:
    label: str
    suffix: str  # the path after /cases/{case_id}/
    permission: Permission

    def path(self, case_id: uuid.UUID) -> str:
        return f"/cases/{case_id}/{self.suffix}"


CASE_SECTIONS: tuple[CaseSection, ...] = (
    CaseSection(N_("Case file"), "file", Permission.read_documents),
    CaseSection(N_("Identity of the person"), "identity", Permission.read_identity),
    CaseSection(N_("Caseworkers"), "caseworkers", Permission.assign_caseworkers),
    CaseSection(N_("Needs and services"), "needs", Permission.record_support),
    CaseSection(N_("Interviews"), "interviews", Permission.read_cases),
    CaseSection(N_("Support plan and entitlements"), "support-plan", Permission.read_cases),
    CaseSection(N_("Justice and residence"), "justice", Permission.read_cases),
    CaseSection(N_("Send to another country's mechanism"), "transfer", Permission.manage_transfers),
    CaseSection(N_("Erase the personal data"), "erasure", Permission.erase_case),
)


def sections_for(principal: Principal) -> list[CaseSection]:
    return [section for section in CASE_SECTIONS if principal.can(section.permission)]
