"""Beyond identification through the services, on both databases: support over years (identified in 2027,
closed as supported in 2029, reopened in 2031), protection with no proceedings at all, entitlements on the case
and in the statistics, the structured needs assessment feeding service referrals, and the gaps report."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import AuditEntry, Case, JusticeMilestone, NeedsAssessment, SupportNeed
from app.services import assessments, audit, cases, justice, needs_report, scheduler, statistics, support
from app.services.assessments import AssessedNeed, AssessmentInput
from app.services.context import ServiceContext
from app.services.errors import Conflict, Forbidden, InvalidInput
from app.services.justice import MilestoneInput
from app.services.support_plan import support_plan
from app.workflow.justice import Milestone
from app.workflow.needs import SLOTS, Answer, AssessmentScope, slot_key, slot_of
from app.workflow.states import NeedKind
from app.workflow.support import Urgency
from tests.factories import event, refer
from tests.support_cases import identify, move_to, support_cast

NOTE = "sleeps in the Quillfeather car park (test note)"


def _erased(ctx: ServiceContext, case_id: uuid.UUID) -> bool:
    with ctx.read_sessions() as session:
        return session.get_one(Case, case_id).erased_at is not None


def test_identified_2027_closed_2029_reopened_2031_one_audited_history(ctx: ServiceContext, clock: FrozenClock) -> None:
    cast = support_cast(ctx)
    case_id = identify(ctx, clock, cast)
    identified_at = clock.now()
    assert identified_at.year == 2027
    plan = support_plan(ctx, cast.caseworker, case_id)
    assert plan.active and plan.next_review is not None and plan.next_review.status == "open"

    # Reviews with the person every quarter or so, for two years; one comes late and says so.
    reviews = 8
    for n in range(reviews):
        clock.advance(timedelta(days={0: 25, 3: 120}.get(n, 80)))  # within a month, then quarterly; one late
        view = event(ctx, cast.caseworker, case_id, "support_plan_reviewed", note="reviewed with the person")
        assert view.state == "identified"
    move_to(clock, datetime(2029, 6, 15, 9, tzinfo=UTC))
    closed = event(ctx, cast.coordinator, case_id, "close", reason="support_completed")
    assert closed.state == "closed" and "reopen" in closed.allowed_events

    # Two years later the worker has not erased it: five years of retention run from the closure.
    move_to(clock, datetime(2031, 3, 3, 9, tzinfo=UTC))
    scheduler.run_pass(ctx)
    assert not _erased(ctx, case_id)
    with pytest.raises(InvalidInput):
        event(ctx, cast.coordinator, case_id, "reopen")  # a reason code is needed
    with pytest.raises(Forbidden):
        event(ctx, cast.caseworker, case_id, "reopen", reason="support_needed_again")
    reopened = event(ctx, cast.coordinator, case_id, "reopen", reason="support_needed_again", note="back at the NGO")
    assert reopened.state == "identified" and reopened.close_reason is None
    assert [d.status for d in reopened.deadlines if d.kind == "support_review"][-1] == "open"
    # Open again: needs may be assessed and referred as for any identified person.
    assessments.record_assessment(
        ctx,
        cast.caseworker,
        case_id,
        AssessmentInput(AssessmentScope.partial, needs=(AssessedNeed(NeedKind.housing, Urgency.immediate),)),
    )

    # Supported two more years, then out of contact in 2033: erasure counts from that closure, not the first.
    clock.advance(timedelta(days=20))
    event(ctx, cast.caseworker, case_id, "support_plan_reviewed")
    move_to(clock, datetime(2033, 2, 1, 9, tzinfo=UTC))
    event(ctx, cast.coordinator, case_id, "close", reason="lost_contact")
    move_to(clock, datetime(2035, 1, 1, 9, tzinfo=UTC))  # six years after the first closure
    scheduler.run_pass(ctx)
    assert not _erased(ctx, case_id)
    # One continuous history: each state change starts where the previous one ended, each with its audit entry.
    history = cases.history(ctx, cast.coordinator, case_id)
    moves = [h for h in history if h.event != "assign_caseworker"]
    for before, after in itertools.pairwise(moves):
        assert after.from_state == before.to_state, (before.event, after.event)
    events = [h.event for h in moves]
    assert events[0] == "referral" and events.count("support_plan_reviewed") == reviews + 1
    assert events[-3:] == ["reopen", "support_plan_reviewed", "close"]
    reopen = next(h for h in history if h.event == "reopen")
    assert reopen.facts["reason"] == "support_needed_again" and reopen.facts["closed_as"] == "support_completed"
    assert reopen.has_text and "back at the NGO" not in str(reopen.facts)
    with ctx.read_sessions() as session:
        logged = session.scalars(
            select(AuditEntry.action).where(AuditEntry.case_id == str(case_id), AuditEntry.action.like("case.%"))
        ).all()
    assert sorted(logged) == sorted(f"case.{h.event}" for h in history)
    assert audit.verify(ctx).valid

    move_to(clock, datetime(2038, 2, 2, 9, tzinfo=UTC))  # five years after the last closure
    scheduler.run_pass(ctx)
    assert _erased(ctx, case_id)
    assert not any(h.has_text for h in cases.history(ctx, cast.coordinator, case_id))
    with pytest.raises(Conflict):  # erased: the person would be referred again
        event(ctx, cast.coordinator, case_id, "reopen", reason="support_needed_again")
    assert audit.verify(ctx).valid

    plan = support_plan(ctx, cast.coordinator, case_id)
    assert [(p.started_by, p.close_reason) for p in plan.periods] == [
        ("formal_decision", "support_completed"),
        ("reopen", "lost_contact"),
    ]
    assert plan.periods[0].started_at == identified_at and len(plan.reviews) == reviews + 1
    assert sum(1 for r in plan.reviews if r.late) == 1


def test_protection_never_waits_on_proceedings(ctx: ServiceContext, clock: FrozenClock) -> None:
    cast = support_cast(ctx)
    # An adult with nowhere safe to stay: `fr` owes a safe place before the preliminary decision.
    referred = cases.get_case(ctx, cast.coordinator, refer(ctx, cast.referrer, needs={"shelter_needed": True}))
    shelter = next(d for d in referred.deadlines if d.kind == "emergency_shelter")
    assert shelter.due_at == clock.now() + timedelta(hours=12)
    sheltered = event(ctx, cast.coordinator, referred.id, "emergency_shelter_provided", note="a safe room tonight")
    assert next(d for d in sheltered.deadlines if d.kind == "emergency_shelter").status == "met"

    # Identified with no complaint, no testimony, no proceedings at all: every protection is there.
    silent = identify(ctx, clock, cast)
    view = cases.get_case(ctx, cast.auditor, silent)
    assert view.state == "identified"
    assert justice.list_milestones(ctx, cast.auditor, silent) == []
    statuses = {d.kind: d.status for d in view.deadlines}
    assert statuses["reflection_period"] == "met" and statuses["support_review"] == "open"
    held = {e.code: e.status for e in view.entitlements}
    assert held["reflection_receipt"] == "open" and held["shelter_and_protection"] == "open"
    assert held["compensation_civi"] == "open"
    assert held["temporary_residence_card"] == "awaiting_condition"  # the person may choose; nothing waits

    # Another person testifies: the residence card opens for them, recorded with a note only a few may read.
    testified = identify(ctx, clock, cast)
    with pytest.raises(InvalidInput):
        justice.record_milestone(
            ctx, cast.caseworker, testified, MilestoneInput(Milestone.testimony_given, date(2099, 1, 1))
        )
    with pytest.raises(Forbidden):  # the referrer reads the case, but does not record milestones
        justice.record_milestone(
            ctx, cast.referrer, testified, MilestoneInput(Milestone.testimony_given, date(2027, 4, 1))
        )
    recorded = justice.record_milestone(
        ctx, cast.caseworker, testified, MilestoneInput(Milestone.testimony_given, date(2027, 4, 1), note=NOTE)
    )
    assert recorded.track == "criminal_proceedings" and recorded.note == NOTE
    assert justice.list_milestones(ctx, cast.auditor, testified)[0].note is None
    assert justice.list_milestones(ctx, cast.referrer, testified)[0].note == NOTE
    held = {e.code: e.status for e in cases.get_case(ctx, cast.auditor, testified).entitlements}
    assert held["temporary_residence_card"] == "open"
    with ctx.read_sessions() as session:
        blob = session.scalars(select(JusticeMilestone.note_blob)).one()
        details = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "milestone.recorded")).one()
    assert blob is not None and NOTE.encode() not in blob and NOTE not in str(details)

    # Counted in the statistics of the year they were referred (threshold 1 here, to read exact figures).
    ctx.policy = ctx.policy.model_copy(update={"statistics_suppression_threshold": 1})
    figures = {t.dimension: {c.value: c.count for c in t.cells} for t in statistics.year_statistics(ctx, 2027).justice}
    assert figures["identified_by_criminal_proceedings"] == {
        "with_criminal_proceedings": 1,
        "without_criminal_proceedings": 1,
    }
    assert figures["entitlement_open"]["temporary_residence_card"] == 1
    assert figures["entitlement_open"]["reflection_receipt"] == 2  # the two identified; the third is referred only
    assert figures["justice_milestone"]["testimony_given"] == 1 and figures["justice_milestone"]["trial_held"] == 0


def _full(needs: tuple[AssessedNeed, ...], declined: str = "long_term.education") -> AssessmentInput:
    """A full assessment: these needs, `declined` declined, every other slot answered `no_need`."""
    filled = {slot_key(slot) for n in needs if (slot := slot_of(n.kind, n.urgency)) is not None}
    answers = {slot_key(s): Answer.no_need for s in SLOTS if slot_key(s) not in filled}
    answers[declined] = Answer.declined
    return AssessmentInput(AssessmentScope.full, needs=needs, answers=answers, note=NOTE)


def test_an_assessment_feeds_referrals_and_the_gaps_report(ctx: ServiceContext, clock: FrozenClock) -> None:
    cast = support_cast(ctx)
    case_id = identify(ctx, clock, cast)
    needs = (
        AssessedNeed(NeedKind.shelter, Urgency.immediate),
        AssessedNeed(NeedKind.medical, Urgency.immediate, note="dental pain"),
        AssessedNeed(NeedKind.debt, Urgency.immediate),
        AssessedNeed(NeedKind.housing, Urgency.long_term),
    )
    incomplete = AssessmentInput(AssessmentScope.full, needs=needs)
    with pytest.raises(InvalidInput) as error:
        assessments.record_assessment(ctx, cast.caseworker, case_id, incomplete)
    assert error.value.errors[0].loc == ("answers",)
    with pytest.raises(InvalidInput):
        assessments.record_assessment(
            ctx,
            cast.caseworker,
            case_id,
            AssessmentInput(AssessmentScope.partial, answers={"soon.debt": Answer.no_need}),
        )
    with pytest.raises(Forbidden):  # the auditor never reads or writes needs
        assessments.record_assessment(ctx, cast.auditor, case_id, _full(needs))
    assessed = assessments.record_assessment(ctx, cast.caseworker, case_id, _full(needs))
    assert assessed.answers["long_term.education"] == "declined" and assessed.answers["immediate.debt"] == "need"
    # In the order the form asks: immediate shelter, health, debt, then long-term housing.
    assert [n.kind for n in assessed.needs] == ["shelter", "medical", "debt", "housing"]
    assert assessments.list_assessments(ctx, cast.coordinator, case_id) == [assessed]
    with ctx.read_sessions() as session:
        stored = session.scalars(select(NeedsAssessment.note_blob)).one()
        notes = session.scalars(select(SupportNeed.note_blob)).all()
        entry = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "needs.assessed")).one()
    assert stored is not None and NOTE.encode() not in stored and all(b"dental" not in (n or b"") for n in notes)
    assert entry["needs"] == ["immediate.debt", "immediate.medical", "immediate.shelter", "long_term.housing"]
    assert "dental" not in str(entry) and NOTE not in str(entry)

    by_kind = {n.kind: n for n in assessed.needs}
    shelter = support.create_provider(ctx, cast.coordinator, "Shelter Test", "shelter", "hidden", None)
    adviser = support.create_provider(ctx, cast.coordinator, "Adviser Test", "other", "hidden", None)
    now = clock.now()
    placed = support.refer_to_service(ctx, cast.caseworker, case_id, by_kind["shelter"].id, shelter.id)
    assert placed.due_at == now + timedelta(hours=24)
    housing = support.refer_to_service(ctx, cast.caseworker, case_id, by_kind["housing"].id, shelter.id)
    # A long-term need takes the policy's long-term duration (90 days for housing in `fr`, not 30).
    assert timedelta(days=89) < housing.due_at - now < timedelta(days=93)
    debt = support.refer_to_service(ctx, cast.caseworker, case_id, by_kind["debt"].id, adviser.id)
    support.set_service_status(ctx, cast.caseworker, case_id, placed.id, "accepted", None)
    support.set_service_status(ctx, cast.caseworker, case_id, debt.id, "refused", None)
    clock.advance(timedelta(days=100))  # the housing referral is now overdue

    ctx.policy = ctx.policy.model_copy(update={"statistics_suppression_threshold": 1})
    report = needs_report.needs_report(ctx, start=None, end=None)
    tables = {t.measure: {(c.row, c.column): c.count for c in t.cells} for t in report.tables}
    assert tables["recorded"][("FR-75", "shelter")] == 1 and tables["recorded"][("FR-75", "housing")] == 1
    assert tables["unmet"][("FR-75", "shelter")] == 0  # accepted in time
    assert tables["unmet"][("FR-75", "medical")] == 1 and tables["no_referral"][("FR-75", "medical")] == 1
    assert tables["refused"][("FR-75", "debt")] == 1 and tables["unmet"][("FR-75", "debt")] == 1
    assert tables["late"][("FR-75", "housing")] == 1 and tables["late"][("FR-75", "shelter")] == 0
    assert tables["recorded"][("FR-75", "education")] == 0  # declined: never a need, never a gap
    # With the usual threshold, four needs in one region are too few to show anything.
    ctx.policy = ctx.policy.model_copy(update={"statistics_suppression_threshold": 5})
    hidden = needs_report.needs_report(ctx, start=None, end=None)
    assert all(t.total_suppressed and all(c.count is None for c in t.cells) for t in hidden.tables)
    future = needs_report.needs_report(ctx, start=datetime(2030, 1, 1, tzinfo=UTC), end=None)
    assert all(t.total_suppressed or t.total == 0 for t in future.tables)

    # Once the case has ended, needs are assessed again only after a reopening.
    event(ctx, cast.coordinator, case_id, "close", reason="support_completed")
    with pytest.raises(Conflict):
        assessments.record_assessment(ctx, cast.caseworker, case_id, _full(needs))
    with ctx.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(NeedsAssessment)) == 1
