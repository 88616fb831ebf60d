"""The steps of a case as web forms: one page per step (`/cases/{id}/steps/{event}`), its fields, and the
workflow's refusals in words.

A step is a workflow event (`EventName`); which fields it takes follows the event's record
(`app/workflow/events.py`, `fields`). The case page offers a step only when the workflow allows it for this
person now (`CaseView.allowed_events`); a step held back shows why (`REFUSALS`), with the date it waits for.
Requests of the referring organisation (reconsideration, review) keep their own pages (`OWN_PAGES`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.services.cases.views import CaseView
from app.web.i18n import N_
from app.web.vocabulary import (
    ACTIONS,
    AGE_OUTCOMES,
    CLOSE_REASONS,
    PRELIMINARY_OUTCOMES,
    REOPEN_REASONS,
    VOTES,
)
from app.workflow import DeadlineKind, EventName

E = EventName
FieldKind = Literal["text", "choice", "assessor_choice", "member_choice", "yes_no"]
TEXT_MAX = 20_000


@dataclass(frozen=True)
class StepField:
    """One field of a step's form; `name` is also the `EventInput` field it fills."""

    name: str
    kind: FieldKind
    label: str
    hint: str | None = None
    required: bool = True
    choices: Mapping[str, str] | None = None
    missing: str = N_("Answer this question")


@dataclass(frozen=True)
class StepForm:
    event: EventName
    fields: tuple[StepField, ...]
    lead: str | None = None  # what the step does, above the form
    warning: str | None = None  # what cannot be undone
    done: str = N_("Done: the case is up to date.")


def _note(label: str = N_("Note (optional)")) -> StepField:
    return StepField(
        "note",
        "text",
        label,
        N_("What others working on the case need to know. Nothing that names the person."),
        required=False,
    )


def _form(event: EventName, *fields: StepField, lead: str | None = None, warning: str | None = None) -> StepForm:
    return StepForm(event, tuple(fields), lead, warning)


STEP_FORMS: dict[EventName, StepForm] = {
    form.event: form
    for form in (
        _form(
            E.assign_assessor,
            StepField(
                "assessor_id",
                "assessor_choice",
                N_("Who will take the preliminary decision?"),
                N_("Only assessors of a sector the policy allows, who have not decided on this case before."),
                missing=N_("Choose an assessor"),
            ),
        ),
        _form(
            E.preliminary_decision,
            StepField(
                "outcome",
                "choice",
                N_("Are there reasonable grounds to believe the person is a victim?"),
                choices=PRELIMINARY_OUTCOMES,
                missing=N_("Choose the decision"),
            ),
            StepField(
                "reasons",
                "text",
                N_("Reasons for the decision"),
                N_("The indicators and facts you relied on. The referring organisation may ask for a reconsideration."),
                missing=N_("Write the reasons for the decision"),
            ),
            lead=N_("The preliminary identification: the threshold is reasonable grounds, not proof."),
        ),
        _form(
            E.convene_panel,
            StepField(
                "member_ids",
                "member_choice",
                N_("Members of the panel"),
                N_("Check the composition before you convene: each rule of the policy is shown met or not."),
                missing=N_("Choose the members of the panel"),
            ),
        ),
        _form(
            E.request_early_decision,
            _note(N_("How did the person ask for an early decision?")),
            lead=N_(
                "The formal decision waits for the end of the reflection period, unless the person asks for it sooner."
            ),
        ),
        _form(
            E.declare_conflict,
            StepField(
                "reason",
                "text",
                N_("What is the conflict of interest?"),
                N_("You will no longer vote or read the case file."),
                missing=N_("Say what the conflict of interest is"),
            ),
            warning=N_("A conflict cannot be withdrawn."),
        ),
        _form(
            E.cast_vote,
            StepField("vote", "choice", N_("Your vote"), choices=VOTES, missing=N_("Choose your vote")),
            StepField(
                "rationale",
                "text",
                N_("Your rationale"),
                N_("Kept encrypted with the case; the other members see how many have voted, never how."),
                missing=N_("Write the rationale for your vote"),
            ),
            warning=N_("A vote cannot be changed once cast."),
        ),
        _form(
            E.formal_decision,
            lead=N_("The outcome is the majority of the votes under the policy; you record it."),
        ),
        _form(
            E.review_decision,
            lead=N_("The outcome is the majority of the review panel's votes; the decision is final."),
        ),
        _form(
            E.report_missing,
            _note(),
            lead=N_("Deadlines of duties stop while the person is missing; the person's rights run on."),
        ),
        _form(E.report_found, _note(), lead=N_("The case returns where it stood; the deadlines resume.")),
        _form(
            E.withdraw_consent,
            _note(),
            warning=N_("The case ends and the personal data are erased after the grace period."),
        ),
        _form(
            E.close,
            StepField(
                "reason",
                "choice",
                N_("Why is the case closed?"),
                choices=CLOSE_REASONS,
                missing=N_("Choose why the case is closed"),
            ),
            StepField(
                "risk_assessment",
                "text",
                N_("Risk assessment"),
                N_("Needed for a voluntary return."),
                required=False,
            ),
            StepField(
                "best_interests_determination",
                "text",
                N_("Best-interests determination"),
                N_("Needed for a child's voluntary return."),
                required=False,
            ),
        ),
        _form(
            E.age_assessed,
            StepField(
                "outcome",
                "choice",
                N_("What did the age assessment conclude?"),
                choices=AGE_OUTCOMES,
                missing=N_("Choose the outcome"),
            ),
            StepField(
                "consent_given",
                "yes_no",
                N_("If an adult: has the person consented to the referral?"),
                required=False,
            ),
        ),
        _form(E.child_protection_notified, _note()),
        _form(E.guardian_appointed, _note()),
        _form(E.shelter_offered, _note()),
        _form(E.police_notified, _note()),
        _form(E.emergency_shelter_provided, _note()),
        _form(E.support_plan_reviewed, _note()),
        _form(
            E.reopen,
            StepField(
                "reason",
                "choice",
                N_("Why is the case reopened?"),
                choices=REOPEN_REASONS,
                missing=N_("Choose why the case is reopened"),
            ),
            _note(),
        ),
    )
}

#: Steps with their own page elsewhere (the referring organisation's requests).
OWN_PAGES: dict[EventName, str] = {
    E.request_reconsideration: "/referrals/{case_id}/reconsideration",
    E.request_review: "/referrals/{case_id}/review",
}


def step_path(case_id: uuid.UUID, event: EventName) -> str | None:
    """Where a step is taken, or None for a step no page takes (transfers, which have their own pages)."""
    if event in OWN_PAGES:
        return OWN_PAGES[event].format(case_id=case_id)
    if event in STEP_FORMS:
        return f"/cases/{case_id}/steps/{event.value}"
    return None


def step_label(event: EventName) -> str:
    return ACTIONS.get(event.value, event.value)


# --- refusals in words ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusalText:
    """A workflow refusal code in words; `%(date)s` is the last day of the first open deadline of `dated_by`."""

    message: str
    dated_by: tuple[DeadlineKind, ...] = ()


K = DeadlineKind
REFUSALS: dict[str, RefusalText] = {
    "reflection_period_running": RefusalText(N_("The reflection period runs until %(date)s."), (K.reflection_period,)),
    "window_open": RefusalText(
        N_("The person may still ask for it to be looked at again until %(date)s."),
        (K.reconsideration_window, K.review_window),
    ),
    "window_closed": RefusalText(N_("The time to ask has run out.")),
    "reconsideration_used": RefusalText(N_("A reconsideration was already held for this case.")),
    "review_used": RefusalText(N_("A review was already held: its decision is final.")),
    "already_assigned": RefusalText(N_("This assessor is already assigned.")),
    "panel_sitting": RefusalText(N_("A panel already sits on this case and can still decide.")),
    "early_decision_not_allowed": RefusalText(N_("The policy does not allow an early decision.")),
    "already_requested": RefusalText(N_("An early decision was already requested.")),
    "reflection_period_over": RefusalText(N_("The reflection period is over: no early decision is needed.")),
    "conflicted": RefusalText(N_("You declared a conflict of interest: you do not vote on this case.")),
    "already_voted": RefusalText(N_("You have already voted.")),
    "no_panel": RefusalText(N_("No panel sits on this case.")),
    "panel_cannot_decide": RefusalText(N_("The panel cannot decide yet: not enough members have voted.")),
    "unknown_prior_state": RefusalText(N_("The case does not remember where it stood before.")),
    "child_cannot_withdraw": RefusalText(
        N_("A child's protection does not depend on consent: it cannot be withdrawn.")
    ),
    "nothing_due": RefusalText(N_("Nothing of this kind is due on this case.")),
    "not_reopenable": RefusalText(N_("A case closed for this reason is not reopened: refer the person again.")),
    "never_identified": RefusalText(N_("Only a person formally identified is reopened: refer the person again.")),
    "erased": RefusalText(N_("The personal data of this case were erased: refer the person again.")),
    "state": RefusalText(N_("This step cannot be taken at this stage of the case.")),
}
UNKNOWN_REFUSAL = RefusalText(N_("This step cannot be taken now."))


def refusal_date(case: CaseView, text: RefusalText) -> datetime | None:
    """The due time the refusal waits for: the first open deadline of the kinds it names."""
    for kind in text.dated_by:
        for deadline in case.deadlines:
            if deadline.kind is kind and deadline.met_at is None and deadline.status.value != "cancelled":
                return deadline.due_at
    return None
