"""Refer a presumed victim: a new case, its key, its first deadlines, its history row and audit entry, in one
transaction. With an idempotency key, a retry of the same referral within `IDEMPOTENCY_WINDOW` gets the first
result and creates nothing; the record keeps a keyed MAC of the referral (never a plain hash of personal data),
is purged by the worker once the window has passed and goes with the case's erasure."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, CaseNumber, IdempotencyRecord
from app.security.permissions import Principal
from app.services.case_keys import CaseCipher, create_case_key
from app.services.case_policy import record_policy
from app.services.cases.core import actor_ids_of, append_decision_audit, audit_actor_of, record_decision
from app.services.cases.views import CASE_VIEW, CaseView, ViewExtras, case_view
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, InvalidInput, refused
from app.workflow import AgeBand, Decision, ExploitationScope, Referral, Refusal, decide_referral
from app.workflow.communication import clear_needs, needs_note
from app.workflow.references import format_reference


@dataclass(frozen=True)
class ReferralInput:
    """A referral. `person` and `account` are personal data: encrypted, never logged."""

    person: dict[str, Any]
    account: dict[str, Any]
    needs: dict[str, Any]
    age_band: str
    age_disputed: bool
    unaccompanied: bool
    gender: str
    nationality: str
    region: str
    exploitation_forms: list[str]
    indicators: list[str]
    consent_given: bool
    asylum_interview_reference: str | None = None
    exploitation_scope: str = "unknown"

    @property
    def date_of_birth(self) -> date | None:
        value = self.person.get("date_of_birth")
        return date.fromisoformat(value) if isinstance(value, str) else value

    def classification(self) -> Referral:
        """What the workflow decides the branch on, never who the person is."""
        return Referral(
            age_band=AgeBand(self.age_band),
            date_of_birth=self.date_of_birth,
            age_disputed=self.age_disputed,
            unaccompanied=self.unaccompanied,
            consent_given=self.consent_given,
            shelter_needed=bool(self.needs.get("shelter_needed")),
        )


@dataclass(frozen=True)
class ReferralResult:
    """The case the referral made, and whether it is the first result given again to a retry."""

    view: CaseView
    replayed: bool


def check_needs(needs: dict[str, Any]) -> None:
    """Invalid input where free text stands in place of a code in the needs (`communication.clear_needs`)."""
    _, problems = clear_needs(needs)
    if problems:
        raise InvalidInput(
            "the needs hold codes; describe anything else in needs.note",
            [FieldProblem(("needs", name), why) for name, why in problems],
        )


#: How long a retry with the same idempotency key gets the first result: a client retries within minutes.
IDEMPOTENCY_WINDOW = timedelta(days=1)


def _fingerprint(ctx: ServiceContext, referral: ReferralInput) -> str:
    payload = json.dumps(dataclasses.asdict(referral), sort_keys=True, default=str)
    return hmac.new(ctx.idempotency_mac_key, payload.encode(), hashlib.sha256).hexdigest()


def _expired_before(now: datetime) -> datetime:
    return now - IDEMPOTENCY_WINDOW


def refer(
    ctx: ServiceContext, principal: Principal, referral: ReferralInput, *, idempotency_key: str | None = None
) -> ReferralResult:
    """Create a case from a referral. With an idempotency key, a retry returns the first result (the same key
    with another referral is invalid: `idempotency_key`)."""
    now = ctx.clock.now()
    check_needs(referral.needs)
    fingerprint = _fingerprint(ctx, referral)
    if idempotency_key is not None:
        replay = _replay(ctx, principal, idempotency_key, fingerprint)
        if replay is not None:
            return ReferralResult(replay, True)
    decision = decide_referral(principal.actor, referral.classification(), now, ctx.policy.for_region(referral.region))
    if isinstance(decision, Refusal):
        raise refused(decision)
    assert isinstance(decision, Decision)
    try:
        with transaction(ctx.sessions) as session:
            case, _ = create_case(session, ctx, principal, referral, decision, now)
            case_id = case.id
            # A new case has no panel, interview or document yet: its view needs no query.
            view = case_view(session, ctx, case, principal, ViewExtras())
            if idempotency_key is not None:
                # An expired record of the same key gives way (the worker may not have purged it yet).
                session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.user_id == principal.user_id,
                        IdempotencyRecord.key == idempotency_key,
                        IdempotencyRecord.created_at <= _expired_before(now),
                    )
                )
                session.add(
                    IdempotencyRecord(
                        user_id=principal.user_id,
                        key=idempotency_key,
                        request_mac=fingerprint,
                        result=CASE_VIEW.dump_python(view, mode="json"),
                        case_id=case_id,
                        created_at=now,
                    )
                )
            append_decision_audit(session, ctx, case, decision, audit_actor_of(principal), now)
            return ReferralResult(view, False)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as a retry would be answered.
        if idempotency_key is not None:
            replay = _replay(ctx, principal, idempotency_key, fingerprint)
            if replay is not None:
                return ReferralResult(replay, True)
        raise


def create_case(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    referral: ReferralInput,
    decision: Decision,
    now: datetime,
) -> tuple[Case, CaseCipher]:
    """The rows of a new case a creating decision makes (a referral, or a transfer accepted from a peer): its
    key, the case with the classification in clear and the person and account encrypted, the decision's
    effects and history row, under this instance's policy (its name and version recorded: the case keeps
    them). The caller appends the audit entry, last."""
    # A referral's needs were checked (`check_needs`); a peer's free text is not kept in clear either.
    needs, note = clear_needs(referral.needs)[0], needs_note(referral.needs)
    case_id = uuid.uuid4()
    # Numbered first: the counter's INSERT flushes the session, and the case key may not reach the database
    # before its case.
    reference = new_reference(session, ctx, now)
    record_policy(session, ctx, ctx.policy, now)  # before the case key, as the counter: it may flush
    cipher = create_case_key(session, ctx.keyring, case_id, now)
    case = Case(
        id=case_id,
        reference=reference,
        version=1,
        state=decision.new_state.value,
        policy_name=ctx.policy.name,
        policy_version=ctx.policy.version,
        created_at=now,
        updated_at=now,
        referring_organisation_id=principal.organisation_id,
        referrer_id=principal.user_id,
        previous_assessor_ids=[],
        caseworker_ids=[],
        is_child=False,
        age_disputed=referral.age_disputed,
        unaccompanied=referral.unaccompanied,
        age_band=referral.age_band,
        gender=referral.gender,
        nationality=referral.nationality,
        region=referral.region,
        exploitation_forms=sorted(referral.exploitation_forms),
        exploitation_scope=ExploitationScope(referral.exploitation_scope).value,
        indicators=sorted(referral.indicators),
        needs=needs,
        consent_given=referral.consent_given,
        shelter_needed=bool(referral.needs.get("shelter_needed")),
        referring_sector=principal.sector.value,
        first_panel_member_ids=[],
        person_blob=cipher.seal_json(
            "person",
            {**referral.person, "asylum_interview_reference": referral.asylum_interview_reference},
        ),
        account_blob=cipher.seal_json(
            "account", {**referral.account, "needs_note": note} if note else referral.account
        ),
    )
    session.add(case)
    record_decision(session, case, decision, cipher, actor_ids_of(principal), now)
    return case, cipher


def new_reference(session: Session, ctx: ServiceContext, now: datetime) -> str:
    """A new case's reference: the year of `now` where the policy is, and the database's next case number."""
    number = session.execute(insert(CaseNumber).values(created_at=now).returning(CaseNumber.number)).scalar_one()
    return format_reference(ctx.policy.calendar.local_date(now).year, number)


def _replay(ctx: ServiceContext, principal: Principal, key: str, fingerprint: str) -> CaseView | None:
    with read_only(ctx.read_sessions) as session:
        record = session.get(IdempotencyRecord, (principal.user_id, key))
        if record is None or record.created_at <= _expired_before(ctx.clock.now()):
            return None
        if not hmac.compare_digest(record.request_mac, fingerprint):
            raise InvalidInput(
                "this idempotency key was already used with another referral",
                [FieldProblem(("idempotency_key",), "reused with a different referral")],
            )
        return CASE_VIEW.validate_python(record.result)


def purge_idempotency_records(ctx: ServiceContext) -> int:
    """Delete the records whose window has passed (the worker's pass); how many went."""
    with transaction(ctx.sessions) as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= _expired_before(ctx.clock.now()))
        )
        return int(getattr(result, "rowcount", 0) or 0)
