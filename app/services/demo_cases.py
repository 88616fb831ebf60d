"""A handful of demo cases at different stages, made through the real use-cases with the clock moved, so that a
newcomer signing in to the demo sees a populated queue, an assessor with work, a panel half-way through its
votes and a person identified.

Never for production (`demo.seed` runs only on an empty database). The people are obviously fictional
("Personne Démo ..."), as every fixture of the project.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from app.clock import FrozenClock
from app.security.permissions import Principal
from app.services import cases
from app.services.cases import EventInput, ReferralInput
from app.services.context import ServiceContext

_EVENT = TypeAdapter(EventInput)
_BETWEEN_STEPS = timedelta(minutes=7)


@dataclass(frozen=True)
class DemoCase:
    reference: str
    state: str


def _referral(name: str, age_band: str, forms: list[str], indicators: list[str], *, child: bool) -> ReferralInput:
    return ReferralInput(
        person={"full_name": f"Personne Démo {name}", "aliases": [], "date_of_birth": None},
        account={"what_happened": "Récit fictif de démonstration : aucune personne réelle."},
        needs={"shelter_needed": child, "support_wanted": True, "dependants": 0},
        age_band=age_band,
        age_disputed=False,
        unaccompanied=child,
        gender="female" if name in ("Alpha", "Delta") else "male",
        nationality="NG" if child else "RO",
        region="FR-93",
        exploitation_forms=forms,
        indicators=indicators,
        consent_given=not child,
    )


class _Story:
    """One case told step by step, each step at its own moment of a clock that the demo moves."""

    def __init__(self, ctx: ServiceContext, clock: FrozenClock, people: Mapping[str, Principal]) -> None:
        self.ctx, self.clock, self.people = ctx, clock, people
        self.case_id: uuid.UUID | None = None

    def at(self, instant: datetime) -> _Story:
        self.clock.set(instant)
        return self

    def refer(self, referral: ReferralInput) -> _Story:
        self.case_id = cases.refer(self.ctx, self.people["referrer"], referral).view.id
        return self

    def step(self, who: str, event: str, **fields: Any) -> _Story:
        assert self.case_id is not None
        self.clock.advance(_BETWEEN_STEPS)  # people act one after the other: the timeline keeps their order
        cases.send_event(self.ctx, self.people[who], self.case_id, _EVENT.validate_python({"event": event, **fields}))
        return self

    def assign_caseworker(self, who: str) -> _Story:
        assert self.case_id is not None
        self.clock.advance(_BETWEEN_STEPS)
        cases.assign_caseworker(self.ctx, self.people["coordinator"], self.case_id, self.people[who].user_id)
        return self

    def done(self) -> DemoCase:
        assert self.case_id is not None
        view = cases.get_case(self.ctx, self.people["coordinator"], self.case_id)
        return DemoCase(view.reference, view.state.value)


def seed_cases(ctx: ServiceContext, people: Mapping[str, Principal]) -> list[DemoCase]:
    """Seven cases, the oldest begun 60 days ago (its reflection period, extended to a working day, ends long
    before its panel votes, whatever today's date); `people` are the demo's principals by username."""
    now = ctx.clock.now()
    clock = FrozenClock(now)
    past = dataclasses.replace(ctx, clock=clock)
    ids = {name: str(p.user_id) for name, p in people.items()}
    panel = [ids["panel-ngo"], ids["panel-police"], ids["panel-social"]]
    day = timedelta(days=1)

    def story() -> _Story:
        return _Story(past, clock, people)

    made = [
        # Identified: the panel voted after the reflection period, and the coordinator recorded the decision.
        story()
        .at(now - 60 * day)
        .refer(_referral("Alpha", "25-34", ["forced_labour"], ["AL-DR-01", "AL-CR-01", "AL-DR-02"], child=False))
        .step("coordinator", "assign_assessor", assessor_id=ids["assessor-labour"])
        .at(now - 58 * day)
        .step("assessor-labour", "preliminary_decision", outcome="positive", reasons="Indicateurs forts (démo).")
        .at(now - 53 * day)
        .step("coordinator", "convene_panel", member_ids=panel)
        .at(now - 12 * day)
        .step("panel-ngo", "cast_vote", vote="identify", rationale="Récit cohérent (démo).")
        .step("panel-police", "cast_vote", vote="identify", rationale="Indices concordants (démo).")
        .step("panel-social", "cast_vote", vote="abstain", rationale="Pas assez d'éléments (démo).")
        .step("coordinator", "formal_decision")
        .assign_caseworker("caseworker")  # the support plan's first review is the caseworker's to hold
        .done(),
        # Formal identification under way: two of three members have voted; the reflection period runs.
        story()
        .at(now - 20 * day)
        .refer(_referral("Bravo", "18-24", ["sexual_exploitation"], ["AL-DR-03", "AL-RV-01"], child=False))
        .step("coordinator", "assign_assessor", assessor_id=ids["assessor"])
        .at(now - 18 * day)
        .step("assessor", "preliminary_decision", outcome="positive", reasons="Motifs raisonnables (démo).")
        .at(now - 15 * day)
        .step("coordinator", "convene_panel", member_ids=panel)
        .at(now - 2 * day)
        .step("panel-ngo", "cast_vote", vote="identify", rationale="Récit cohérent (démo).")
        .step("panel-police", "cast_vote", vote="identify", rationale="Indices concordants (démo).")
        .done(),
        # Reasonable grounds: the reflection period runs and the panel is still to be convened.
        story()
        .at(now - 6 * day)
        .refer(_referral("Golf", "25-34", ["forced_labour"], ["AL-DR-01", "AL-DR-05"], child=False))
        .step("coordinator", "assign_assessor", assessor_id=ids["assessor-labour"])
        .at(now - 4 * day)
        .step("assessor-labour", "preliminary_decision", outcome="positive", reasons="Motifs raisonnables (démo).")
        .done(),
        # Negative preliminary decision: the reconsideration window is open.
        story()
        .at(now - 10 * day)
        .refer(_referral("Charlie", "35-44", ["forced_begging"], [], child=False))
        .step("coordinator", "assign_assessor", assessor_id=ids["assessor"])
        .at(now - 8 * day)
        .step("assessor", "preliminary_decision", outcome="negative", reasons="Pas d'indicateur relevé (démo).")
        .done(),
        # A child: assessed now, child protection told at once.
        story()
        .at(now - 2 * day)
        .refer(_referral("Delta", "15-17", ["domestic_servitude"], ["AL-CR-02"], child=True))
        .step("coordinator", "child_protection_notified", note="Aide sociale à l'enfance prévenue (démo).")
        .step("coordinator", "assign_assessor", assessor_id=ids["assessor-labour"])
        .done(),
        # Awaiting an assessor: one overdue, one referred yesterday.
        story()
        .at(now - 12 * day)
        .refer(_referral("Echo", "25-34", ["forced_labour"], ["AL-DR-04"], child=False))
        .done(),
        story().at(now - 1 * day).refer(_referral("Foxtrot", "45-54", ["forced_criminality"], [], child=False)).done(),
    ]
    return made
