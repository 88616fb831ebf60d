"""The lists of cases of each role's work: the coordinator's queue, the assessor's assigned cases, a panel
member's panels. Each lists what `cases.list_cases` lets the person know of; the case page does the rest.

- `/queue`: the most urgent cases awaiting an assessor (by their preliminary decision's due time: overdue
  first, then the soonest due), the longest overdue cases, the oldest cases to close, each list cut at 25 with
  a link to all of it (`/queue?state=referred`, `/queue/overdue`, `/queue/to-close`, 50 a page), and how many
  cases stand in each state (each count links to that state's list, `/queue?state=...`, newest first);
- `/assigned`: the cases the assessor is assigned to, with their next deadline;
- `/panels`: the panels the member sits on, with how many members have voted (never how).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import cases, closure
from app.services.cases import work_lists
from app.services.cases.views import CaseRow, CaseView
from app.services.my_work import counts_working_days
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import DEADLINES, STATES
from app.workflow import DeadlineKind, State

router = web_router()
Coordinator = Annotated[Page, Depends(page_for(Permission.work_queue))]
Assessor = Annotated[Page, Depends(page_for(Permission.assess))]
PanelMember = Annotated[Page, Depends(page_for(Permission.sit_on_panels))]
_FAR = datetime.max.replace(tzinfo=UTC)


def _next_deadline(page: Page, case: CaseView | CaseRow) -> dict[str, Any] | None:
    """The case's soonest open (or overdue) deadline, as a row shows it."""
    running = [d for d in case.deadlines if d.status.value in ("open", "overdue")]
    if not running:
        return None
    soonest = min(running, key=lambda d: d.due_at)
    return {
        "kind": DEADLINES.get(soonest.kind.value, soonest.kind.value),
        "due_at": soonest.due_at,
        "status": soonest.status.value,
        "working_days": counts_working_days(page.ctx.policy, soonest.kind.value, case.is_child),
    }


def _rows(page: Page, found: Sequence[CaseView | CaseRow]) -> list[dict[str, Any]]:
    return [{"case": case, "next": _next_deadline(page, case)} for case in found]


def _overdue_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue cases first, then the soonest due, then those with nothing due."""

    def key(row: dict[str, Any]) -> tuple[int, datetime]:
        due = row["next"]
        if due is None:
            return (2, _FAR)
        return (0 if due["status"] == "overdue" else 1, due["due_at"])

    return sorted(rows, key=key)


#: Rows of each list on the queue page; each list links to its own pages, `PAGE` rows at a time.
OVERVIEW = 25
PAGE = 50
AWAITING_KINDS = (DeadlineKind.preliminary_decision,)


@router.get("/queue")
def queue(page: Coordinator, state: str | None = None, cursor: str | None = None) -> Response:
    counts = cases.count_by_state(page.ctx, page.principal)
    if state is not None and state in State.__members__:
        chosen = State(state)
        found = cases.list_cases(page.ctx, page.principal, state=chosen, limit=PAGE, cursor=cursor or None)
        return page.render(
            "pages/case/queue_list.html",
            title=STATES.get(chosen.value, chosen.value),
            hint=N_("Newest first."),
            rows=_rows(page, found.items),
            next_page=f"/queue?state={chosen.value}&cursor={found.next_cursor}" if found.next_cursor else None,
            counts=_counts(counts),
            states=STATES,
        )
    # Awaiting an assessor: the preliminary decision is what they are waiting for, and its due time sets the order.
    awaiting = work_lists.by_next_deadline(
        page.ctx, page.principal, state=State.referred, kinds=AWAITING_KINDS, limit=OVERVIEW
    )
    overdue = work_lists.by_next_deadline(page.ctx, page.principal, overdue=True, limit=OVERVIEW)
    to_close = closure.cases_to_close(page.ctx, page.principal, limit=OVERVIEW + 1)
    return page.render(
        "pages/case/queue.html",
        awaiting=_rows(page, awaiting.items),
        all_awaiting=counts[State.referred] if awaiting.next_cursor else None,
        overdue=_rows(page, overdue.items),
        more_overdue=overdue.next_cursor is not None,
        to_close=to_close[:OVERVIEW],
        more_to_close=len(to_close) > OVERVIEW,
        counts=_counts(counts),
        states=STATES,
    )


@router.get("/queue/overdue")
def overdue_cases(page: Coordinator, cursor: str | None = None) -> Response:
    found = work_lists.by_next_deadline(page.ctx, page.principal, overdue=True, limit=PAGE, cursor=cursor or None)
    return page.render(
        "pages/case/queue_list.html",
        title=N_("Overdue"),
        hint=N_("The longest overdue first."),
        rows=_rows(page, found.items),
        next_page=f"/queue/overdue?cursor={found.next_cursor}" if found.next_cursor else None,
        counts=_counts(cases.count_by_state(page.ctx, page.principal)),
        states=STATES,
    )


@router.get("/queue/to-close")
def cases_to_close(page: Coordinator, cursor: str | None = None) -> Response:
    found = closure.cases_to_close(page.ctx, page.principal, limit=PAGE + 1, cursor=cursor or None)
    shown = found[:PAGE]
    return page.render(
        "pages/case/queue_list.html",
        title=N_("To close"),
        hint=N_("These cases can no longer move: no reconsideration or review can follow their last decision."),
        to_close=shown,
        next_page=f"/queue/to-close?cursor={closure.cursor_after(shown[-1])}" if len(found) > PAGE else None,
        counts=_counts(cases.count_by_state(page.ctx, page.principal)),
        states=STATES,
    )


def _counts(counts: dict[State, int]) -> list[dict[str, Any]]:
    return [{"state": s.value, "count": n} for s, n in counts.items()]


@router.get("/assigned")
def assigned(page: Assessor) -> Response:
    mine = [
        case
        for case in cases.list_cases(page.ctx, page.principal, limit=200).items
        if case.assessor_id == page.principal.user_id
    ]
    return page.render("pages/case/assigned.html", rows=_overdue_first(_rows(page, mine)), states=STATES)


@router.get("/panels")
def panels(page: PanelMember) -> Response:
    sitting = [
        case
        for case in cases.list_cases(page.ctx, page.principal, limit=200).items
        if case.panel is not None and page.principal.user_id in case.panel.members
    ]
    return page.render("pages/case/panels.html", rows=_overdue_first(_rows(page, sitting)), states=STATES)
