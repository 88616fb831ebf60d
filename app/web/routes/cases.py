"""The case page every role opens (`/cases/{case_id}`), and the pages of its steps.

The case page: reference, state, the stages of the mechanism, the timeline in words, the deadlines with their
status, the steps this person may take now (`CaseView.allowed_events`) as buttons, the steps held back with the
workflow's reason (`cases.held_back_steps`), and links to the case's parts (`app/web/case_sections.py`).
A step (`/cases/{id}/steps/{event}`, `app/web/case_steps.py`) is one form; it sends the event through
`cases.send_event`, as the API does, and comes back to the case page.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from app.security.permissions import Permission
from app.services import cases, staffing
from app.services.cases import EventInput
from app.services.cases.views import CaseView
from app.services.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from app.services.my_work import counts_working_days
from app.web.case_progress import stages
from app.web.case_sections import sections_for
from app.web.case_steps import (
    REFUSALS,
    STEP_FORMS,
    TEXT_MAX,
    UNKNOWN_REFUSAL,
    StepForm,
    refusal_date,
    step_label,
    step_path,
)
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import DEADLINES, HAPPENED, RULES, SECTORS, STATES, label
from app.workflow import EventName

router = web_router()
Reader = Annotated[Page, Depends(page_for(Permission.read_cases))]
Sender = Annotated[Page, Depends(page_for(Permission.send_events))]

EVENT_INPUT: TypeAdapter[EventInput] = TypeAdapter(EventInput)
#: Held-back steps the case page does not list: nothing of the kind is due (a protection step of a case that
#: needs none), so "not yet" would mislead.
QUIET_REFUSALS = frozenset({"nothing_due"})

#: Codes of the workflow's `invalid` refusals, and the field of the form each one is about.
FIELD_OF_CODE = {
    "reasons_missing": "reasons",
    "outcome_missing": "outcome",
    "rationale_missing": "rationale",
    "vote_missing": "vote",
    "reason_missing": "reason",
    "reason_not_applicable": "reason",
    "assessor_missing": "assessor_id",
    "not_an_assessor": "assessor_id",
    "sector_not_allowed": "assessor_id",
    "same_assessor": "assessor_id",
    "assessor_id": "assessor_id",
    "member_ids": "member_ids",
    "panel_composition": "member_ids",
    "risk_assessment_missing": "risk_assessment",
    "best_interests_missing": "best_interests_determination",
}
INVALID_WORDS = {
    "same_assessor": N_("A reconsideration needs a different assessor."),
    "panel_composition": N_("These members do not meet the composition rules."),
    "reason_not_applicable": N_("This reason does not fit the case where it stands."),
    "risk_assessment_missing": N_("A voluntary return needs a recorded risk assessment."),
    "best_interests_missing": N_("A child's voluntary return needs a best-interests determination."),
}


def refusal_words(page: Page, case: CaseView, code: str | None) -> str:
    """The workflow's refusal `code` in the page's language, with the date it waits for."""
    text = REFUSALS.get(code or "", UNKNOWN_REFUSAL)
    due = refusal_date(case, text)
    if due is not None:
        return page.gettext(text.message, date=page.formats.last_day(due))
    return page.gettext(text.message) if "%(date)s" not in text.message else page.gettext(UNKNOWN_REFUSAL.message)


def _event(name: str) -> EventName:
    try:
        event = EventName(name)
    except ValueError:
        raise NotFound("no such step") from None
    if event not in STEP_FORMS:
        raise NotFound("no such step")
    return event


# --- the case page -----------------------------------------------------------------------------------------


@router.get("/cases/{case_id}")
def case_page(page: Reader, case_id: uuid.UUID, done: str | None = None) -> Response:
    case = cases.get_case(page.ctx, page.principal, case_id)
    history = cases.history(page.ctx, page.principal, case_id)
    held = (
        cases.held_back_steps(page.ctx, page.principal, case_id) if page.principal.can(Permission.send_events) else []
    )
    steps = [
        {"label": step_label(event), "path": path}
        for event in case.allowed_events
        if (path := step_path(case.id, event)) is not None
    ]
    notice = None
    if done is not None and done in EventName.__members__ and EventName(done) in STEP_FORMS:
        notice = page.gettext(STEP_FORMS[EventName(done)].done)
    elif done in ("erased", "assigned"):
        notice = page.gettext("Done: the case is up to date.")
    return page.render(
        "pages/case/case.html",
        case=case,
        stages=stages(case.state, history),
        history=history,
        steps=steps,
        held=[
            {"label": step_label(h.event), "why": refusal_words(page, case, h.code)}
            for h in held
            if step_path(case.id, h.event) is not None and h.code not in QUIET_REFUSALS
        ],
        sections=[{"label": s.label, "path": s.path(case.id)} for s in sections_for(page.principal)],
        deadlines=[
            {
                "kind": label(DEADLINES, d.kind.value),
                "due_at": d.due_at,
                "status": d.status.value,
                "working_days": counts_working_days(page.ctx.policy, d.kind.value, case.is_child),
                "met_at": d.met_at,
            }
            for d in sorted(case.deadlines, key=lambda d: d.due_at)
        ],
        seat=case.panel is not None and page.principal.user_id in case.panel.members,
        notice=notice,
        states=STATES,
        happened=HAPPENED,
    )


# --- a step ------------------------------------------------------------------------------------------------


def _options(page: Page, case: CaseView, form: StepForm) -> dict[str, list[dict[str, str]]]:
    """The choices of a step's fields; a choice of person offers only those eligible."""
    options: dict[str, list[dict[str, str]]] = {}
    for field in form.fields:
        if field.kind == "choice" and field.choices is not None:
            options[field.name] = [{"value": k, "label": page.gettext(v)} for k, v in field.choices.items()]
            continue
        if field.kind == "assessor_choice":
            people = staffing.eligible_assessors(page.ctx, page.principal, case.id)
        elif field.kind == "member_choice":
            people = staffing.panel_candidates(page.ctx, page.principal, case.id)
        else:
            continue
        options[field.name] = [
            {
                "value": str(p.id),
                "label": p.username,
                "hint": f"{p.organisation} · {page.gettext(label(SECTORS, p.sector.value))}",
            }
            for p in people
        ]
    return options


def _checks(page: Page, case: CaseView, member_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    checks = staffing.panel_composition(page.ctx, page.principal, case.id, member_ids)
    return [
        {
            "met": check.met,
            "text": page.gettext(
                RULES[check.rule],
                needed=check.needed or 0,
                found=check.found or 0,
                sector=page.gettext(label(SECTORS, check.sector.value)) if check.sector else "",
            ),
        }
        for check in checks
    ]


def _step_page(
    page: Page,
    case: CaseView,
    event: EventName,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
    checks: list[dict[str, Any]] | None = None,
) -> Response:
    form = STEP_FORMS[event]
    allowed = event in case.allowed_events
    refusal = None
    if not allowed:
        held = {h.event: h.code for h in cases.held_back_steps(page.ctx, page.principal, case.id)}
        refusal = refusal_words(page, case, held.get(event, "state"))
        status_code = 409 if status_code == 200 else status_code
    return page.render(
        "pages/case/step.html",
        status_code=status_code,
        case=case,
        event=event,
        form=form,
        title=step_label(event),
        allowed=allowed,
        refusal=refusal,
        options=_options(page, case, form) if allowed else {},
        values=values,
        errors=errors,
        checks=checks,
        states=STATES,
    )


@router.get("/cases/{case_id}/steps/{name}")
def step_form(page: Sender, case_id: uuid.UUID, name: str) -> Response:
    event = _event(name)
    case = cases.get_case(page.ctx, page.principal, case_id)
    return _step_page(page, case, event, {}, FormErrors())


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _read_fields(page: Page, form: StepForm, raw: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The event's fields from the form, checked as the page can (required, choices, lengths)."""
    sent: dict[str, Any] = {}
    for field in form.fields:
        value = raw.get(field.name)
        if field.kind == "member_choice":
            ids = [i for i in (_uuid(v) for v in value or []) if i is not None]
            if not ids:
                errors.add(field.name, page.gettext(field.missing))
            sent[field.name] = ids
            continue
        text = (value or "").strip()
        if not text:
            if field.required:
                errors.add(field.name, page.gettext(field.missing))
            continue
        if field.kind == "assessor_choice":
            if (chosen := _uuid(text)) is None:
                errors.add(field.name, page.gettext(field.missing))
            sent[field.name] = chosen
        elif field.kind == "yes_no":
            sent[field.name] = text == "yes"
        elif field.kind == "choice":
            if field.choices is None or text not in field.choices:
                errors.add(field.name, page.gettext(field.missing))
            sent[field.name] = text
        elif len(text) > TEXT_MAX:
            errors.add(field.name, page.gettext("This answer is too long"))
        else:
            sent[field.name] = text
    return sent


@router.post("/cases/{case_id}/steps/{name}")
def take_step(
    page: Sender,
    case_id: uuid.UUID,
    name: str,
    version: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    assessor_id: Annotated[str, Form()] = "",
    member_ids: Annotated[list[str] | None, Form()] = None,
    outcome: Annotated[str, Form()] = "",
    reasons: Annotated[str, Form()] = "",
    vote: Annotated[str, Form()] = "",
    rationale: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    risk_assessment: Annotated[str, Form()] = "",
    best_interests_determination: Annotated[str, Form()] = "",
    consent_given: Annotated[str, Form()] = "",
) -> Response:
    event = _event(name)
    form = STEP_FORMS[event]
    raw: dict[str, Any] = {
        "assessor_id": assessor_id,
        "member_ids": member_ids or [],
        "outcome": outcome,
        "reasons": reasons,
        "vote": vote,
        "rationale": rationale,
        "reason": reason,
        "note": note,
        "risk_assessment": risk_assessment,
        "best_interests_determination": best_interests_determination,
        "consent_given": consent_given,
    }
    case = cases.get_case(page.ctx, page.principal, case_id)
    errors = FormErrors()
    sent = _read_fields(page, form, raw, errors)
    if action == "check" and "member_ids" in sent:
        # The composition check: the same page again, each rule met or not, nothing sent.
        return _step_page(page, case, event, raw, FormErrors(), checks=_checks(page, case, sent["member_ids"]))
    if not errors:
        try:
            event_input = EVENT_INPUT.validate_python({"event": event.value, **sent})
            cases.send_event(
                page.ctx,
                page.principal,
                case_id,
                event_input,
                expected_version=int(version) if version.isdigit() else None,
            )
            return page.redirect(f"/cases/{case_id}?done={event.value}")
        except ValidationError as problem:
            for item in problem.errors():
                errors.add(str(item["loc"][0]), page.gettext("This answer is too long"))
        except InvalidInput as problem:
            code = str(problem.errors[0].loc[0]) if problem.errors else ""
            field = FIELD_OF_CODE.get(code, form.fields[0].name if form.fields else "step")
            words = INVALID_WORDS.get(code)
            missing = next((f.missing for f in form.fields if f.name == field), None)
            errors.add(field, page.gettext(words) if words else page.gettext(missing or UNKNOWN_REFUSAL.message))
        except Conflict as refusal:
            errors.add(form.fields[0].name if form.fields else "step", refusal_words(page, case, refusal.code))
        except PreconditionFailed:
            errors.add(
                form.fields[0].name if form.fields else "step",
                page.gettext("The case changed since you opened this page: check it and try again."),
            )
        case = cases.get_case(page.ctx, page.principal, case_id)
    checks = (
        _checks(page, case, sent["member_ids"]) if sent.get("member_ids") and event in case.allowed_events else None
    )
    return _step_page(page, case, event, raw, errors, status_code=422, checks=checks)
