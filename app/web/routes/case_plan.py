"""Support after identification, and justice (issue 15): the support plan with its reviews and the periods of
support, the emergency shelter duty, the entitlements the policy opens, reopening a closed case (coordinator),
and the milestones of the person's proceedings (codes and days; notes encrypted).

Paths, each with a back link to the case page `/cases/{case_id}`:
- `/cases/{case_id}/support-plan` (and `POST .../support-plan/review`, `POST .../emergency-shelter`);
- `/cases/{case_id}/reopen` (a confirmation page with the reason; `reopen` event);
- `/cases/{case_id}/justice` (and `POST`: record a milestone).

Steps are offered only when the workflow lists them in the case's `allowed_events` for this person.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import justice
from app.services.cases import EventInput, get_case, send_event
from app.services.cases.views import CaseView, DeadlineView
from app.services.errors import Conflict, InvalidInput, PreconditionFailed
from app.services.justice import MilestoneInput
from app.services.support_plan import support_plan
from app.web.case_pages import local_day, notice_of, parse_day, refusal_words
from app.web.forms import FormErrors, choice_items
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import (
    CLOSE_REASONS,
    DEADLINES,
    ENTITLEMENT_STATUSES,
    MILESTONES,
    REOPEN_REASONS,
    STATES,
    TRACKS,
)
from app.workflow import DeadlineKind, EventName
from app.workflow.justice import Milestone, Track, steps_of
from app.workflow.states import ReopenReason

router = web_router()
CaseReader = Annotated[Page, Depends(page_for(Permission.read_cases))]
Sender = Annotated[Page, Depends(page_for(Permission.send_events))]
Supporter = Annotated[Page, Depends(page_for(Permission.record_support))]

NOTE_MAX = 5000
NOTICES = {
    "reviewed": N_("The review was recorded. The next one is due as shown."),
    "sheltered": N_("Emergency shelter recorded as provided."),
    "reopened": N_("The case was reopened: support starts again with a first review."),
    "milestone": N_("The milestone was recorded."),
}
CHANGED = N_("The case changed while you were on this page: check it and try again.")


def _version(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _send(page: Page, case_id: uuid.UUID, event: EventInput, version: str, errors: FormErrors, field: str) -> bool:
    """Send the event; on a refusal, its words go to `field` of `errors` and the answer is False."""
    try:
        send_event(page.ctx, page.principal, case_id, event, expected_version=_version(version))
        return True
    except PreconditionFailed:
        errors.add(field, page.gettext(CHANGED))
    except InvalidInput:
        errors.add(field, page.gettext("Check this answer"))
    except Conflict as refusal:
        errors.add(field, refusal_words(page, refusal))
    return False


def _latest_deadline(case: CaseView, kind: DeadlineKind) -> DeadlineView | None:
    return next((d for d in reversed(case.deadlines) if d.kind is kind), None)


# --- the support plan -------------------------------------------------------------------------------------


def _plan_page(page: Page, case_id: uuid.UUID, errors: FormErrors | None = None, status_code: int = 200) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    plan = support_plan(page.ctx, page.principal, case_id)
    return page.render(
        "pages/support/support_plan.html",
        status_code=status_code,
        case=case,
        plan=plan,
        shelter=_latest_deadline(case, DeadlineKind.emergency_shelter),
        may_review=EventName.support_plan_reviewed in case.allowed_events,
        may_shelter=EventName.emergency_shelter_provided in case.allowed_events,
        may_reopen=EventName.reopen in case.allowed_events,
        errors=errors or FormErrors(),
        notice=notice_of(page, NOTICES),
        states=STATES,
        deadlines=DEADLINES,
        close_reasons=CLOSE_REASONS,
        entitlement_statuses=ENTITLEMENT_STATUSES,
    )


@router.get("/cases/{case_id}/support-plan")
def plan_page(page: CaseReader, case_id: uuid.UUID) -> Response:
    return _plan_page(page, case_id)


def _note_problem(page: Page, note: str) -> str | None:
    return page.gettext("This answer is too long") if len(note) > NOTE_MAX else None


@router.post("/cases/{case_id}/support-plan/review")
def record_review(
    page: Sender, case_id: uuid.UUID, note: Annotated[str, Form()] = "", version: Annotated[str, Form()] = ""
) -> Response:
    return _plan_step(page, case_id, EventName.support_plan_reviewed, note, version, "review-note", "reviewed")


@router.post("/cases/{case_id}/emergency-shelter")
def shelter_provided(
    page: Sender, case_id: uuid.UUID, note: Annotated[str, Form()] = "", version: Annotated[str, Form()] = ""
) -> Response:
    return _plan_step(page, case_id, EventName.emergency_shelter_provided, note, version, "shelter-note", "sheltered")


def _plan_step(
    page: Page, case_id: uuid.UUID, name: EventName, note: str, version: str, field: str, done: str
) -> Response:
    """A step of the support plan that takes an optional note: sent, then back to the plan with its notice."""
    errors = FormErrors()
    problem = _note_problem(page, note)
    if problem:
        errors.add(field, problem)
    elif _send(page, case_id, EventInput(event=name, note=note.strip() or None), version, errors, field):
        return page.redirect(f"/cases/{case_id}/support-plan?done={done}")
    return _plan_page(page, case_id, errors, status_code=422)


# --- reopening --------------------------------------------------------------------------------------------


def _reopen_page(
    page: Page, case_id: uuid.UUID, values: dict[str, str], errors: FormErrors, status_code: int = 200
) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    return page.render(
        "pages/support/reopen.html",
        status_code=status_code,
        case=case,
        allowed=EventName.reopen in case.allowed_events,
        reasons=choice_items(REOPEN_REASONS, page.gettext),
        close_reasons=CLOSE_REASONS,
        values=values,
        errors=errors,
    )


@router.get("/cases/{case_id}/reopen")
def reopen_form(page: Sender, case_id: uuid.UUID) -> Response:
    return _reopen_page(page, case_id, {}, FormErrors())


@router.post("/cases/{case_id}/reopen")
def reopen(
    page: Sender,
    case_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if reason not in ReopenReason.__members__:
        errors.add("reason", page.gettext("Choose why the case is reopened"))
    problem = _note_problem(page, note)
    if problem:
        errors.add("note", problem)
    if not errors:
        event = EventInput(event=EventName.reopen, reason=reason, note=note.strip() or None)
        if _send(page, case_id, event, version, errors, "reason"):
            return page.redirect(f"/cases/{case_id}/support-plan?done=reopened")
    return _reopen_page(page, case_id, {"reason": reason, "note": note}, errors, status_code=422)


# --- justice ----------------------------------------------------------------------------------------------


def _justice_page(
    page: Page, case_id: uuid.UUID, values: dict[str, str], errors: FormErrors, status_code: int = 200
) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    milestones = justice.list_milestones(page.ctx, page.principal, case_id)
    tracks = [
        {"title": page.gettext(TRACKS[track.value]), "milestones": [m for m in milestones if m.track is track]}
        for track in Track
    ]
    steps = [{"value": "", "label": page.gettext("Choose a milestone")}] + [
        {"value": step.value, "label": f"{page.gettext(TRACKS[track.value])} – {page.gettext(MILESTONES[step.value])}"}
        for track in Track
        for step in steps_of(track)
    ]
    return page.render(
        "pages/support/justice.html",
        status_code=status_code,
        case=case,
        tracks=tracks,
        steps=steps,
        milestone_names=MILESTONES,
        may_record=page.principal.can(Permission.record_support),
        values=values,
        errors=errors,
        notice=notice_of(page, NOTICES),
    )


@router.get("/cases/{case_id}/justice")
def justice_page(page: CaseReader, case_id: uuid.UUID) -> Response:
    return _justice_page(page, case_id, {}, FormErrors())


@router.post("/cases/{case_id}/justice")
def record_milestone(
    page: Supporter,
    case_id: uuid.UUID,
    step: Annotated[str, Form()] = "",
    day: Annotated[str, Form(alias="occurred-day")] = "",
    month: Annotated[str, Form(alias="occurred-month")] = "",
    year: Annotated[str, Form(alias="occurred-year")] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    values = {"step": step, "day": day, "month": month, "year": year, "note": note}
    if step not in Milestone.__members__:
        errors.add("step", page.gettext("Choose a milestone"))
    occurred = parse_day(day, month, year)
    if occurred is None:
        errors.add("occurred", page.gettext("Enter the day it happened, for example 3 6 2027"))
    elif occurred > local_day(page):
        errors.add("occurred", page.gettext("The date cannot be in the future"))
    problem = _note_problem(page, note)
    if problem:
        errors.add("note", problem)
    if not errors and occurred is not None:
        milestone = MilestoneInput(Milestone(step), occurred, note.strip() or None)
        justice.record_milestone(page.ctx, page.principal, case_id, milestone)
        return page.redirect(f"/cases/{case_id}/justice?done=milestone")
    return _justice_page(page, case_id, values, errors, status_code=422)
