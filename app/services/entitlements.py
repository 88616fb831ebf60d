"""The entitlements a case holds, as the case view and the statistics show them: the policy's rules
(`[[entitlements]]`, `app/workflow/justice.py`) read against the case's clear facts and its milestones.

One rule, evaluated in Python for a case view and for the year's statistics alike (`entitlement_status`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, JusticeMilestone
from app.workflow import Language, Policy, PreliminaryOutcome
from app.workflow.justice import (
    EntitlementFacts,
    EntitlementStatus,
    IdentificationStage,
    Milestone,
    entitlement_status,
)
from app.workflow.states import FormalOutcome


@dataclass(frozen=True)
class EntitlementView:
    """One entitlement of the policy, as it stands for one person. `title` in every language of the service;
    `requires_any`: the milestones of which one is also needed (a complaint or a testimony, at the person's
    choice: protection never waits on it); `to_be_checked`: the source or its reading is not certain."""

    code: str
    title: dict[Language, str]
    opened_by: IdentificationStage
    status: EntitlementStatus
    requires_any: list[Milestone]
    source: str
    to_be_checked: bool


def facts_from(
    preliminary_outcome: str | None, formal_outcome: str | None, nationality: str, steps: Iterable[str]
) -> EntitlementFacts:
    """What the entitlement rules read about a case: its decisions, nationality and milestones on file."""
    return EntitlementFacts(
        preliminary_positive=preliminary_outcome == PreliminaryOutcome.positive.value,
        identified=formal_outcome == FormalOutcome.identified.value,
        nationality=nationality,
        milestones=frozenset(Milestone(step) for step in steps if step in Milestone.__members__),
    )


def facts_of(case: Case, steps: Iterable[str]) -> EntitlementFacts:
    return facts_from(case.preliminary_outcome, case.formal_outcome, case.nationality, steps)


def entitlements_of(policy: Policy, facts: EntitlementFacts) -> list[EntitlementView]:
    """Every entitlement the policy lists, with its status for this person, in the policy's order."""
    country = policy.holidays.country
    return [
        EntitlementView(
            code=rule.code,
            title=dict(rule.title),
            opened_by=rule.opened_by,
            status=entitlement_status(rule, facts, country),
            requires_any=list(rule.requires_any),
            source=rule.source,
            to_be_checked=rule.to_be_checked,
        )
        for rule in policy.entitlements
    ]


def milestones_by_case(session: Session, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The milestone codes on file for each case, in one statement."""
    ids = list(case_ids)
    found: dict[uuid.UUID, set[str]] = {case_id: set() for case_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(JusticeMilestone.case_id, JusticeMilestone.step).where(JusticeMilestone.case_id.in_(ids)).distinct()
    )
    for case_id, step in rows:
        found[case_id].add(step)
    return found


BATCH = 2_000


def open_entitlement_counts(session: Session, policy: Policy, conditions: Any) -> Mapping[str, int]:
    """For the cases selected by `conditions`: how many persons hold each entitlement open now. Cases are read
    in keyset batches (clear columns only), their milestones with them, and the same rule as the case view
    decides, so a million cases are counted in constant memory."""
    counts = dict.fromkeys((rule.code for rule in policy.entitlements), 0)
    if not counts:
        return counts
    country = policy.holidays.country
    last: uuid.UUID | None = None
    while True:
        query = select(Case.id, Case.preliminary_outcome, Case.formal_outcome, Case.nationality).where(*conditions)
        if last is not None:
            query = query.where(Case.id > last)
        batch = session.execute(query.order_by(Case.id).limit(BATCH)).all()
        if not batch:
            return counts
        milestones = milestones_by_case(session, [row.id for row in batch])
        for row in batch:
            facts = facts_from(row.preliminary_outcome, row.formal_outcome, row.nationality, milestones[row.id])
            for rule in policy.entitlements:
                if entitlement_status(rule, facts, country) is EntitlementStatus.open:
                    counts[rule.code] += 1
        last = batch[-1].id
