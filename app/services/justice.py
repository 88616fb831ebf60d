"""Justice and redress on a case: record and list the milestones of the person's criminal proceedings,
compensation claims, residence permit and non-punishment.

A milestone is a code and a day (`app/workflow/justice.py`); its note is encrypted with the case key and read
only with need-to-know. Anyone who may know of the case sees the codes and days (they name no one); recording
one needs the support permission and need-to-know, like a need. Nothing in the workflow reads a milestone:
protection never depends on proceedings. The entitlements they may open are on the case view
(`app/services/entitlements.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, StringConstraints
from sqlalchemy import case, distinct, exists, func, select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, JusticeMilestone
from app.security.permissions import Permission, Principal
from app.services.case_keys import CaseCipher, seal_text_or_none
from app.services.cases.core import (
    append_audit,
    cipher_for_reader,
    cipher_of,
    load_visible_case,
    require_need_to_know,
)
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, Forbidden, InvalidInput
from app.workflow.justice import TRACK_OF, Milestone, Track
from app.workflow.states import FormalOutcome

__all__ = [
    "MilestoneInput",
    "MilestoneView",
    "identified_by_proceedings",
    "list_milestones",
    "persons_by_milestone",
    "record_milestone",
]

_NOTE = "milestone_note"


@dataclass(frozen=True)
class MilestoneInput:
    """A milestone as any entrance parses it (the API takes it as its body). `occurred_on` is the local day it
    happened (no later than today); `note` is free text, stored encrypted."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    step: Milestone
    occurred_on: date
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = None


@dataclass(frozen=True)
class MilestoneView:
    """`note` is null for a reader without need-to-know (and once the case is erased)."""

    id: uuid.UUID
    track: Track
    step: Milestone
    occurred_on: date
    note: str | None
    organisation_id: uuid.UUID
    recorded_at: datetime


def _view(row: JusticeMilestone, cipher: CaseCipher | None) -> MilestoneView:
    note = cipher.open_text(_NOTE, row.note_blob) if cipher is not None and row.note_blob else None
    return MilestoneView(
        row.id, Track(row.track), Milestone(row.step), row.occurred_on, note, row.organisation_id, row.created_at
    )


def record_milestone(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, milestone: MilestoneInput
) -> MilestoneView:
    """Record one milestone, audited (codes and the day only). A day after today (in the jurisdiction's
    calendar) is refused: `occurred_on`."""
    if not principal.can(Permission.record_support):
        raise Forbidden("your role does not record support or justice milestones")
    now = ctx.clock.now()
    if milestone.occurred_on > ctx.policy.calendar.local_date(now):
        raise InvalidInput(
            "a milestone is recorded once it happened", [FieldProblem(("occurred_on",), "in the future")]
        )
    step = Milestone(milestone.step)
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        require_need_to_know(session, principal, case, "this case's justice milestones")
        cipher = cipher_of(session, ctx, case)
        row = JusticeMilestone(
            id=uuid.uuid4(),
            case_id=case.id,
            track=TRACK_OF[step].value,
            step=step.value,
            occurred_on=milestone.occurred_on,
            note_blob=seal_text_or_none(cipher, _NOTE, milestone.note),
            recorded_by=principal.user_id,
            organisation_id=principal.organisation_id,
            created_at=now,
        )
        session.add(row)
        append_audit(
            session,
            ctx,
            principal,
            "milestone.recorded",
            details={
                "milestone_id": str(row.id),
                "track": row.track,
                "step": row.step,
                "occurred_on": row.occurred_on.isoformat(),
            },
            now=now,
            case=case,
        )
        return _view(row, cipher)


def list_milestones(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[MilestoneView]:
    """The case's milestones, oldest first; notes only for a reader with need-to-know."""
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        cipher = cipher_for_reader(session, ctx, principal, case)
        rows = session.scalars(
            select(JusticeMilestone)
            .where(JusticeMilestone.case_id == case.id)
            .order_by(JusticeMilestone.occurred_on, JusticeMilestone.created_at, JusticeMilestone.id)
        )
        return [_view(row, cipher) for row in rows]


def persons_by_milestone(session: Session, conditions: Any) -> dict[str, int]:
    """For the cases selected by `conditions`: how many persons have each milestone on file (every milestone
    listed, zero included)."""
    found = {
        str(step): int(count)
        for step, count in session.execute(
            select(JusticeMilestone.step, func.count(distinct(JusticeMilestone.case_id)))
            .join(Case, Case.id == JusticeMilestone.case_id)
            .where(*conditions)
            .group_by(JusticeMilestone.step)
        )
    }
    return {step.value: found.get(step.value, 0) for step in Milestone}


def identified_by_proceedings(session: Session, conditions: Any) -> tuple[dict[str, int], int]:
    """Persons formally identified among the cases selected by `conditions`, with and without any milestone of
    criminal proceedings, and their total: identification never waits on a complaint, and this shows it."""
    proceedings = exists(
        select(JusticeMilestone.id).where(
            JusticeMilestone.case_id == Case.id,
            JusticeMilestone.track == Track.criminal_proceedings.value,
        )
    )
    with_, total = session.execute(
        select(func.coalesce(func.sum(case((proceedings, 1), else_=0)), 0), func.count()).where(
            *conditions, Case.formal_outcome == FormalOutcome.identified.value
        )
    ).one()
    return {"with_criminal_proceedings": int(with_), "without_criminal_proceedings": int(total) - int(with_)}, int(
        total
    )
