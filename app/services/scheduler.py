"""The scheduled jobs (`nrm worker`): close cases whose window lapsed, close cases that can no longer move once
the policy's delay has passed (`app/services/closure.py`), erase personal data when due, purge
idempotency records whose window has passed, deliver the transfer outbox to peers
(`app/services/transfers/delivery.py`), forget message ids no longer fresh, and raise deadline alerts
(`app/services/alerts.py`), mailed by the sender the entrance gives.

Each case is handled in its own transaction, taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL so two
workers never act on one case; a pass run twice changes nothing more, because each job selects only the
cases still waiting for it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, Deadline
from app.security.login_throttle import rules_from
from app.services import alerts, audit, closure, login_throttle, referral_drafts, state_counts, web_sessions
from app.services.case_policy import policy_of
from app.services.cases.core import SYSTEM_IDS, commit_decision, load_snapshot
from app.services.cases.personal_data import erase_personal_data
from app.services.cases.referral import purge_idempotency_records
from app.services.context import ServiceContext
from app.services.transfers import Courier, HttpCourier, deliver_due, purge_seen
from app.workflow import SYSTEM, Decision, EventName, EventRequest, State, decide
from app.workflow.states import CloseReason, DeadlineKind

logger = logging.getLogger("app.worker")

LAPSED_WINDOWS = {
    State.preliminary_negative: (DeadlineKind.reconsideration_window, CloseReason.no_reconsideration),
    State.not_identified: (DeadlineKind.review_window, CloseReason.no_review),
}


@dataclass
class PassReport:
    closed: int = 0
    erased: int = 0
    idempotency_records_purged: int = 0
    sessions_purged: int = 0
    drafts_purged: int = 0
    delivered: int = 0
    retrying: int = 0
    undeliverable: int = 0
    alerts_raised: int = 0
    alerts_mailed: int = 0

    def __str__(self) -> str:
        return (
            f"closed {self.closed} case(s) whose window lapsed or that could no longer move; "
            f"erased {self.erased} case(s); "
            f"purged {self.idempotency_records_purged} expired idempotency record(s), {self.sessions_purged} ended "
            f"web session(s) and {self.drafts_purged} expired referral draft(s); "
            f"delivered {self.delivered} transfer message(s), {self.retrying} to retry, "
            f"{self.undeliverable} given up; raised {self.alerts_raised} deadline alert(s), "
            f"{self.alerts_mailed} mailed"
        )


def _candidates_with_lapsed_window(
    ctx: ServiceContext, state: State, kind: DeadlineKind, limit: int | None = None
) -> list[uuid.UUID]:
    now = ctx.clock.now()
    with read_only(ctx.read_sessions) as session:
        return list(
            session.scalars(
                select(Case.id)
                .join(Deadline, Deadline.case_id == Case.id)
                .where(
                    Case.state == state.value,
                    Deadline.kind == kind.value,
                    Deadline.met_at.is_(None),
                    Deadline.cancelled_at.is_(None),
                    Deadline.due_at <= now,
                )
                .limit(limit)
            )
        )


def _lock(session: Session, case_id: uuid.UUID) -> Case | None:
    """The case, locked, or None when another worker holds it (it will act on it; we must not)."""
    return session.scalar(select(Case).where(Case.id == case_id).with_for_update(skip_locked=True))


def close_lapsed_windows(ctx: ServiceContext, limit: int | None = None) -> int:
    closed = 0
    for state, (kind, reason) in LAPSED_WINDOWS.items():
        closed += _close_each(ctx, state, reason, _candidates_with_lapsed_window(ctx, state, kind, limit))
    return closed


def close_final_negatives(ctx: ServiceContext, limit: int | None = None) -> int:
    """Cases that can no longer move, once the policy's `final_negative_closure_days` have passed (at most
    `limit` per state in one pass)."""
    closed = 0
    for state, (_, reason, _) in closure.FINAL_STATES.items():
        closed += _close_each(ctx, state, reason, closure.due_for_closure(ctx, state)[:limit])
    return closed


def _close_each(ctx: ServiceContext, state: State, reason: CloseReason, case_ids: list[uuid.UUID]) -> int:
    """Close each case as the system, each in its own transaction; the workflow judges every one again."""
    closed = 0
    for case_id in case_ids:
        with transaction(ctx.sessions) as session:
            case = _lock(session, case_id)
            if case is None or case.state != state.value:
                continue  # another worker has it, or it moved on since we looked
            now = ctx.clock.now()
            decision = decide(
                load_snapshot(session, case),
                SYSTEM,
                EventRequest(name=EventName.close, reason=reason.value),
                now,
                policy_of(session, ctx, case),
            )
            if not isinstance(decision, Decision):
                logger.warning("worker could not close a case", extra={"code": decision.code})
                continue
            commit_decision(session, ctx, case, decision, audit.SYSTEM_ACTOR, SYSTEM_IDS, now)
            closed += 1
    return closed


def erase_due(ctx: ServiceContext, limit: int | None = None) -> int:
    """Withdrawn cases after the policy's grace period; closed cases after the retention period."""
    now = ctx.clock.now()
    rules = [
        (State.withdrawn, timedelta(days=ctx.policy.withdrawal_grace_days), "withdrawal"),
        (State.closed, timedelta(days=ctx.policy.retention_days_after_closure), "retention"),
    ]
    erased = 0
    for state, delay, reason in rules:
        with read_only(ctx.read_sessions) as session:
            due = list(
                session.scalars(
                    select(Case.id)
                    .where(Case.state == state.value, Case.erased_at.is_(None), Case.ended_at <= now - delay)
                    .limit(limit)
                )
            )
        for case_id in due:
            with transaction(ctx.sessions) as session:
                case = _lock(session, case_id)
                if case is None or case.erased_at is not None:
                    continue
                erase_personal_data(session, ctx, case, audit.SYSTEM_ACTOR, reason)
                erased += 1
    return erased


def forget_stale_login_counters(ctx: ServiceContext) -> int:
    with transaction(ctx.sessions) as session:
        return login_throttle.forget_stale(session, ctx.clock.now(), rules_from(ctx.settings))


def run_pass(
    ctx: ServiceContext,
    courier: Courier | None = None,
    alert_sender: alerts.AlertSender | None = None,
    *,
    limit: int | None = None,
) -> PassReport:
    """One pass of every job; `courier` carries transfer messages to peers (HTTP(S) unless one is given);
    `alert_sender` mails deadline alerts (None: they show in the web application only).

    `limit`: at most that many cases per kind of closure and of erasure, and deadlines alerted, in this pass,
    the rest left to the next pass (each job selects only what is still waiting), so a pass after a long stop
    stays short."""
    report = PassReport(
        closed=close_lapsed_windows(ctx, limit) + close_final_negatives(ctx, limit),
        erased=erase_due(ctx, limit),
        idempotency_records_purged=purge_idempotency_records(ctx),
        sessions_purged=web_sessions.purge_ended(ctx),
        drafts_purged=referral_drafts.purge_expired(ctx),
    )
    if courier is None:
        http = HttpCourier()
        try:
            delivery = deliver_due(ctx, http)
        finally:
            http.close()
    else:
        delivery = deliver_due(ctx, courier)
    report.delivered, report.retrying, report.undeliverable = delivery.delivered, delivery.retrying, delivery.failed
    purge_seen(ctx)
    forget_stale_login_counters(ctx)
    state_counts.fold(ctx)
    raised = alerts.run(ctx, alert_sender, limit)
    report.alerts_raised, report.alerts_mailed = raised.raised, raised.mailed
    logger.info(
        "worker pass",
        extra={
            "closed": report.closed,
            "erased": report.erased,
            "idempotency_records_purged": report.idempotency_records_purged,
            "sessions_purged": report.sessions_purged,
            "delivered": report.delivered,
            "retrying": report.retrying,
            "undeliverable": report.undeliverable,
            "alerts_raised": report.alerts_raised,
            "alerts_mailed": report.alerts_mailed,
        },
    )
    return report
