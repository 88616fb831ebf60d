"""Needs assessments: a structured first assessment of the person's immediate and long-term needs, and its
updates; each need found becomes a `support_needs` row that a service referral can meet
(`app/services/support.refer_to_service`).

What a complete assessment asks and how a slot is answered is the workflow's (`app/workflow/needs.py`); this
module stores it in one transaction with its audit entry (codes only: the notes are encrypted with the case
key) and reads it back for those with need-to-know.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, StringConstraints
from sqlalchemy import select

from app.db import read_only, transaction
from app.models import NeedsAssessment, SupportNeed
from app.security.permissions import Permission, Principal
from app.services.case_keys import CaseCipher, seal_text_or_none
from app.services.cases.core import append_audit, cipher_of, load_visible_case, require_need_to_know
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, Forbidden, InvalidInput, refused
from app.services.support import NEED_NOTE, NeedView, need_view
from app.workflow.needs import (
    AREA_KINDS,
    FIRST_ASSESSMENT,
    Answer,
    Area,
    AssessmentScope,
    assessment_answers,
    parse_slot,
    refuse_assessment,
    slot_key,
    slot_order,
)
from app.workflow.states import NeedKind
from app.workflow.support import Urgency

__all__ = [
    "AssessedNeed",
    "AssessmentInput",
    "AssessmentTemplate",
    "AssessmentView",
    "assessment_template",
    "list_assessments",
    "record_assessment",
]

_NOTE = "assessment_note"
_WHAT = "this case's needs"
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


@dataclass(frozen=True)
class AssessedNeed:
    """One need found: its kind (of an area of the assessment, or `other`), its urgency, an optional note."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    kind: NeedKind
    urgency: Urgency
    note: Note | None = None


@dataclass(frozen=True)
class AssessmentInput:
    """An assessment as any entrance parses it (the API takes it as its body).

    - `needs`: the needs found, each filling the slot of its area and urgency;
    - `answers`: every other slot, by its key (`immediate.debt`): `no_need`, `declined` or `not_assessed`;
    - `scope`: `full` answers every slot of the first assessment; `partial` updates some;
    - `assessed_at`: when it was held, if not now (never in the future); `note`: free text, encrypted."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    scope: AssessmentScope
    needs: Annotated[tuple[AssessedNeed, ...], Field(max_length=60)] = ()
    answers: Annotated[dict[str, Answer], Field(max_length=60)] = field(default_factory=dict)
    note: Note | None = None
    assessed_at: datetime | None = None


@dataclass(frozen=True)
class AssessmentView:
    """An assessment: every slot's answer by key, the needs it found (notes only to those with need-to-know,
    who alone may read assessments), who recorded it and when it was held."""

    id: uuid.UUID
    scope: AssessmentScope
    assessed_at: datetime
    answers: dict[str, Answer]
    needs: list[NeedView]
    note: str | None
    recorded_by: uuid.UUID
    organisation_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class TemplateArea:
    area: Area
    kinds: list[NeedKind]
    key: str


@dataclass(frozen=True)
class TemplateSection:
    urgency: Urgency
    areas: list[TemplateArea]


@dataclass(frozen=True)
class AssessmentTemplate:
    """What a first assessment asks, in order, for a form to render: each section an urgency, each area with
    the need kinds a need there may take and its slot key; `answers` are the ways to answer a slot."""

    sections: list[TemplateSection]
    answers: list[Answer]


def assessment_template() -> AssessmentTemplate:
    return AssessmentTemplate(
        sections=[
            TemplateSection(
                urgency,
                [TemplateArea(area, list(AREA_KINDS[area]), slot_key((urgency, area))) for area in areas],
            )
            for urgency, areas in FIRST_ASSESSMENT.items()
        ],
        answers=list(Answer),
    )


def _answers_in(assessment: AssessmentInput) -> dict[tuple[Urgency, Area], Answer]:
    parsed: dict[tuple[Urgency, Area], Answer] = {}
    unknown = []
    for key, answer in assessment.answers.items():
        slot = parse_slot(key)
        if slot is None:
            unknown.append(key)
        else:
            parsed[slot] = answer
    if unknown:
        raise InvalidInput(
            "unknown areas in the answers",
            [FieldProblem(("answers", key), "not a slot of the assessment") for key in unknown],
        )
    return parsed


def record_assessment(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, assessment: AssessmentInput
) -> AssessmentView:
    """Record an assessment and the needs it found, in one transaction with its audit entry. Refused: an
    incomplete full assessment or contradictory answers (`answers`), a time in the future (`assessed_at`), a
    case that has ended (reopen it first)."""
    if not principal.can(Permission.record_support):
        raise Forbidden("your role does not record needs")
    now = ctx.clock.now()
    assessed_at = assessment.assessed_at or now
    if assessed_at > now:
        raise InvalidInput("an assessment is recorded once held", [FieldProblem(("assessed_at",), "in the future")])
    answers, problems = assessment_answers(
        assessment.scope, [(n.kind, n.urgency) for n in assessment.needs], _answers_in(assessment)
    )
    if problems:
        raise InvalidInput(
            "the assessment is not complete or not consistent", [FieldProblem(("answers",), p) for p in problems]
        )
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        require_need_to_know(session, principal, case, _WHAT)
        refusal = refuse_assessment(case_ended=case.ended_at is not None)
        if refusal is not None:
            raise refused(refusal)
        cipher = cipher_of(session, ctx, case)
        row = NeedsAssessment(
            id=uuid.uuid4(),
            case_id=case.id,
            scope=assessment.scope.value,
            answers={slot_key(slot): answer.value for slot, answer in answers.items()},
            note_blob=seal_text_or_none(cipher, _NOTE, assessment.note),
            assessed_at=assessed_at,
            recorded_by=principal.user_id,
            organisation_id=principal.organisation_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        needs = [
            SupportNeed(
                id=uuid.uuid4(),
                case_id=case.id,
                assessment_id=row.id,
                kind=need.kind.value,
                urgency=need.urgency.value,
                note_blob=seal_text_or_none(cipher, NEED_NOTE, need.note),
                recorded_by=principal.user_id,
                created_at=now,
            )
            for need in assessment.needs
        ]
        session.add_all(needs)
        counts = {answer.value: sum(1 for a in answers.values() if a is answer) for answer in Answer}
        append_audit(
            session,
            ctx,
            principal,
            "needs.assessed",
            details={
                "assessment_id": str(row.id),
                "scope": row.scope,
                "needs": sorted(f"{n.urgency}.{n.kind}" for n in needs),
                "answers": counts,
            },
            now=now,
            case=case,
        )
        return _view(row, needs, cipher)


def _in_form_order(need: SupportNeed) -> tuple[int, str]:
    return slot_order(NeedKind(need.kind), Urgency(need.urgency))


def _view(row: NeedsAssessment, needs: list[SupportNeed], cipher: CaseCipher | None) -> AssessmentView:
    note = cipher.open_text(_NOTE, row.note_blob) if cipher is not None and row.note_blob else None
    return AssessmentView(
        id=row.id,
        scope=AssessmentScope(row.scope),
        assessed_at=row.assessed_at,
        answers={key: Answer(value) for key, value in row.answers.items()},
        needs=[need_view(need, cipher) for need in sorted(needs, key=_in_form_order)],
        note=note,
        recorded_by=row.recorded_by,
        organisation_id=row.organisation_id,
        created_at=row.created_at,
    )


def list_assessments(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[AssessmentView]:
    """The case's assessments, oldest first, each with its needs (two statements)."""
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, _WHAT)
        cipher = cipher_of(session, ctx, case)
        rows = list(
            session.scalars(
                select(NeedsAssessment)
                .where(NeedsAssessment.case_id == case.id)
                .order_by(NeedsAssessment.assessed_at, NeedsAssessment.id)
            )
        )
        found: dict[uuid.UUID, list[SupportNeed]] = {row.id: [] for row in rows}
        if rows:
            for need in session.scalars(
                select(SupportNeed)
                .where(SupportNeed.assessment_id.in_(list(found)))
                .order_by(SupportNeed.created_at, SupportNeed.id)
            ):
                assert need.assessment_id is not None
                found[need.assessment_id].append(need)
        return [_view(row, found[row.id], cipher) for row in rows]
