"""The case use-cases, one module per use-case, on a small shared core every one of them calls openly.

- `core`: load and lock a case the caller may know of, need-to-know, the workflow's snapshot, the one applier
  of a decision to rows (state, deadlines, panel, encrypted texts, history row), the decision's audit entry;
- `views`: what a case looks like to its readers (`CaseView`, ...) and how it is built;
- `queries`: one case, a page of cases, a case's history (read-only sessions);
- `referral`: refer a presumed victim (idempotent with a key);
- `events`: send an event to a case;
- `personal_data`: read the identity (audited), erase it (crypto-shredding);
- `notifications`: count an adult who did not consent;
- `caseworkers`: assign a caseworker.

The entrances (API, web pages, command line) call the names re-exported here.
"""

from app.services.cases.caseworkers import assign_caseworker
from app.services.cases.events import EventInput, send_event
from app.services.cases.notifications import NotificationInput, NotificationView, notify
from app.services.cases.personal_data import ERASURE_REASONS, Identity, erase, erase_personal_data, read_identity
from app.services.cases.queries import HeldStep, count_by_state, get_case, held_back_steps, history, list_cases
from app.services.cases.referral import ReferralInput, ReferralResult, refer
from app.services.cases.views import CASE_VIEW, CasePage, CaseView, DeadlineView, HistoryView, PanelView

__all__ = [
    "CASE_VIEW",
    "ERASURE_REASONS",
    "CasePage",
    "CaseView",
    "DeadlineView",
    "EventInput",
    "HeldStep",
    "HistoryView",
    "Identity",
    "NotificationInput",
    "NotificationView",
    "PanelView",
    "ReferralInput",
    "ReferralResult",
    "assign_caseworker",
    "count_by_state",
    "erase",
    "erase_personal_data",
    "get_case",
    "held_back_steps",
    "history",
    "list_cases",
    "notify",
    "read_identity",
    "refer",
    "send_event",
]
