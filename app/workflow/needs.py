"""The structured needs assessment: which areas a first assessment asks about, and what makes one complete.

The associations' annex asks for "une évaluation des besoins immédiats et de long terme" (domain.md, "Beyond
identification"); the OSCE/ODIHR NRM handbook (2nd ed., 2022) puts it in its second pillar, individual support
and access to services. A first assessment answers every slot of `FIRST_ASSESSMENT`, an (urgency, area) pair:
immediate safety, shelter, subsistence, health, interpreter, dependants, debt, documents; long-term health,
legal help, work and training, housing, education. A slot is answered by one or more needs (each a `NeedKind`
of that area, with that urgency, which a service referral can then meet), or by `no_need`, `declined` (the
person does not want help there: respected, never counted as a gap) or `not_assessed` (to ask again later).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from app.workflow.model import Refusal, held_back
from app.workflow.states import NeedKind
from app.workflow.support import Urgency


class Area(StrEnum):
    """An area of the person's life a needs assessment asks about."""

    safety = "safety"
    shelter = "shelter"
    subsistence = "subsistence"
    health = "health"
    interpreter = "interpreter"
    dependants = "dependants"
    debt = "debt"
    documents = "documents"
    legal = "legal"
    work_training = "work_training"
    housing = "housing"
    education = "education"


#: The need kinds of each area: what a service referral for a need in that area is for.
AREA_KINDS: Mapping[Area, tuple[NeedKind, ...]] = {
    Area.safety: (NeedKind.safety,),
    Area.shelter: (NeedKind.shelter,),
    Area.subsistence: (NeedKind.financial,),
    Area.health: (NeedKind.medical, NeedKind.psychological),
    Area.interpreter: (NeedKind.interpreter,),
    Area.dependants: (NeedKind.dependants,),
    Area.debt: (NeedKind.debt,),
    Area.documents: (NeedKind.documents,),
    Area.legal: (NeedKind.legal,),
    Area.work_training: (NeedKind.employment,),
    Area.housing: (NeedKind.housing,),
    Area.education: (NeedKind.education,),
}
#: The area of each need kind (`other` belongs to none: it may be added to any assessment).
AREA_OF: Mapping[NeedKind, Area] = {kind: area for area, kinds in AREA_KINDS.items() for kind in kinds}

#: The slots of a first assessment, in the order a form asks them (health is asked in both parts).
FIRST_ASSESSMENT: Mapping[Urgency, tuple[Area, ...]] = {
    Urgency.immediate: (
        Area.safety,
        Area.shelter,
        Area.subsistence,
        Area.health,
        Area.interpreter,
        Area.dependants,
        Area.debt,
        Area.documents,
    ),
    Urgency.long_term: (Area.health, Area.legal, Area.work_training, Area.housing, Area.education),
}

Slot = tuple[Urgency, Area]
SLOTS: tuple[Slot, ...] = tuple((urgency, area) for urgency, areas in FIRST_ASSESSMENT.items() for area in areas)


class Answer(StrEnum):
    """How a slot of the assessment was answered."""

    need = "need"
    no_need = "no_need"
    declined = "declined"
    not_assessed = "not_assessed"


class AssessmentScope(StrEnum):
    """`full`: every slot answered (the first assessment, and again after a reopening); `partial`: an update
    of some slots (at a support-plan review, or when something changes)."""

    full = "full"
    partial = "partial"


def slot_key(slot: Slot) -> str:
    """`immediate.safety`: how a slot is named in stored answers and in a form."""
    return f"{slot[0].value}.{slot[1].value}"


def parse_slot(key: str) -> Slot | None:
    """The slot a key names, or None."""
    urgency, _, area = key.partition(".")
    try:
        return Urgency(urgency), Area(area)
    except ValueError:
        return None


def slot_of(kind: NeedKind, urgency: Urgency) -> Slot | None:
    """The slot a need fills, if its kind belongs to an area."""
    area = AREA_OF.get(kind)
    return None if area is None else (urgency, area)


def slot_order(kind: NeedKind, urgency: Urgency) -> tuple[int, str]:
    """Where a need comes in the order a form asks: by its slot, then by kind (needs of no area last)."""
    slot = slot_of(kind, urgency)
    return (SLOTS.index(slot) if slot in SLOTS else len(SLOTS), kind.value)


def assessment_answers(
    scope: AssessmentScope, needs: Iterable[tuple[NeedKind, Urgency]], answers: Mapping[Slot, Answer]
) -> tuple[dict[Slot, Answer], list[str]]:
    """Every slot's answer, from the needs and the other answers given, and the problems, if any: a slot both
    given needs and answered otherwise, an explicit `need` answer with no need in it, and, for a full
    assessment, a slot left unanswered."""
    problems: list[str] = []
    result: dict[Slot, Answer] = {}
    for kind, urgency in needs:
        slot = slot_of(kind, urgency)
        if slot is not None:
            result[slot] = Answer.need
    for slot, answer in answers.items():
        key = slot_key(slot)
        if answer is Answer.need and slot not in result:
            problems.append(f"{key}: answered need, but no need of that area and urgency is listed")
        elif answer is not Answer.need and slot in result:
            problems.append(f"{key}: needs are listed, but the slot is answered {answer.value}")
        else:
            result.setdefault(slot, answer)
    if scope is AssessmentScope.full:
        missing = [slot_key(slot) for slot in SLOTS if slot not in result]
        if missing:
            problems.append(f"a full assessment answers every area; missing: {', '.join(missing)}")
    return result, problems


def refuse_assessment(case_ended: bool) -> Refusal | None:
    """Why no assessment may be recorded on this case now, if so."""
    if case_ended:
        return held_back("case_ended", "the case has ended: reopen it to assess the person's needs again", None)
    return None
