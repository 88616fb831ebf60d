"""Deadline alerts (`nrm worker`): tell the people who owe a duty before it falls due and once it is overdue,
and the coordinators when it stays overdue.

Who owes what is the one table of `app/workflow/duties.py` (`DUTIES`, `SERVICE_DUTY_OWED_BY`), narrowed to the
relations alerted (`ALERTED`): the assigned assessor (preliminary decision), the coordinators (assigning an
assessor, convening the panel, the formal and review decisions, child protection, the guardian, the
missing-child report) and the assigned caseworker (the offer of shelter, service referrals). Panel votes and the
person's own windows are not alerted.

Thresholds, on the policy's calendar (`policy.alerts`):
- `reminder`: from `lead_working_days` working days before the due day, while not yet due;
- `overdue`: once the due time has passed;
- `escalation`: to every coordinator, once overdue for `escalation_working_days` working days.

Each alert is a row of `deadline_alerts`, unique per deadline, person, threshold and due time: whichever worker
inserts it first raises it (another one's insert fails and is skipped), so no alert is raised twice, across
restarts and with two workers at once. A person's new alerts of one pass are inserted, and each audited, in one
transaction, then sent as one digest (`AlertSender`); every alert also shows on the person's "my work" page,
mailed or not. Nothing of the person referred is read or written: the case reference, the deadline's kind and
its due time only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, Deadline, DeadlineAlert, Organisation, User, UserRole
from app.security.permissions import Principal
from app.services import audit
from app.services.cases.core import snapshot_of
from app.services.cases.views import view_extras
from app.services.context import ServiceContext
from app.services.my_work import counts_working_days
from app.workflow import OPEN_STATES
from app.workflow.authority import Relation, relations_of, roles_for, ties_of
from app.workflow.duties import DUTIES, SERVICE_DUTY_OWED_BY
from app.workflow.model import Actor, CaseSnapshot
from app.workflow.support import SERVICE_DEADLINE_PREFIX

logger = logging.getLogger("app.alerts")

#: The relations whose holders are alerted of the duties they owe (see the module docstring).
ALERTED: frozenset[Relation] = frozenset(
    {Relation.assigned_assessor, Relation.coordinator, Relation.assigned_caseworker}
)
#: Who hears of a duty left overdue.
ESCALATED_TO: frozenset[Relation] = frozenset({Relation.coordinator})
ALERTED_KINDS: frozenset[str] = frozenset(rule.kind.value for rule in DUTIES if rule.owed_by & ALERTED)
_SHOWN_ON_MY_WORK = 30
_CASES_AT_ONCE = 1000


class Threshold(StrEnum):
    reminder = "reminder"
    overdue = "overdue"
    escalation = "escalation"


@dataclass(frozen=True)
class AlertItem:
    """One alert as a person reads it: the case reference, the deadline's kind (a `DeadlineKind` or
    `service_<need>`), when it falls or fell due, and why they are told."""

    case_id: uuid.UUID
    reference: str
    deadline_kind: str
    threshold: Threshold
    due_at: datetime
    working_days: bool
    raised_at: datetime


@dataclass(frozen=True)
class Digest:
    """A person's new alerts of one pass, to be sent as one message (to `email`, in `language`)."""

    user_id: uuid.UUID
    email: str | None
    language: str
    alert_ids: list[uuid.UUID]
    items: list[AlertItem]


#: Sends one digest (composes and mails it); True once the mail server accepted it.
AlertSender = Callable[[Digest], bool]


@dataclass
class AlertReport:
    raised: int = 0
    mailed: int = 0
    not_mailed: int = 0
    digests: list[Digest] = field(default_factory=list)


@dataclass(frozen=True)
class _Recipient:
    user_id: uuid.UUID
    actor: Actor
    email: str | None
    language: str


@dataclass(frozen=True)
class _Due:
    """An alert owed: to whom, for which deadline, at which threshold."""

    user_id: uuid.UUID
    deadline_id: uuid.UUID
    case_id: uuid.UUID
    reference: str
    kind: str
    due_at: datetime
    threshold: Threshold
    working_days: bool


def thresholds(ctx: ServiceContext, due_at: datetime, now: datetime) -> list[Threshold]:
    """The thresholds a deadline due at `due_at` has reached now (none before the lead time)."""
    calendar, rules = ctx.policy.calendar, ctx.policy.alerts
    today, last_day = calendar.local_date(now), calendar.last_day(due_at)
    if now < due_at:
        ahead = calendar.working_days_between(today, last_day)
        return [Threshold.reminder] if ahead <= rules.lead_working_days else []
    late = calendar.working_days_between(last_day, today)
    return [Threshold.overdue] + ([Threshold.escalation] if late >= rules.escalation_working_days else [])


def _recipients(session: Session) -> list[_Recipient]:
    """Every active account of an active organisation whose roles could hold an alerted relation."""
    roles = sorted(role.value for role in roles_for(ALERTED | ESCALATED_TO))
    rows = session.execute(
        select(User.id, User.organisation_id, Organisation.sector, User.email, User.language, UserRole.role)
        .join(Organisation, Organisation.id == User.organisation_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), Organisation.is_active.is_(True))
    ).all()
    held: dict[uuid.UUID, set[str]] = {}
    first: dict[uuid.UUID, tuple[uuid.UUID, str, str | None, str]] = {}
    for user_id, organisation_id, sector, email, language, role in rows:
        held.setdefault(user_id, set()).add(role)
        first[user_id] = (organisation_id, sector, email, language)
    found = []
    for user_id, user_roles in held.items():
        if not user_roles & set(roles):
            continue
        organisation_id, sector, email, language = first[user_id]
        principal = Principal.of(user_id, organisation_id, sector, user_roles)
        found.append(_Recipient(user_id, principal.actor, email, language))
    return found


def _owed_by(case: CaseSnapshot, kind: str) -> frozenset[Relation]:
    """The alerted relations that owe the duty answering a deadline of `kind` on this case now."""
    if kind.startswith(SERVICE_DEADLINE_PREFIX):
        return SERVICE_DUTY_OWED_BY & ALERTED
    owing: set[Relation] = set()
    for rule in DUTIES:
        if rule.kind.value == kind and rule.when(case):
            owing |= rule.owed_by & ALERTED
    return frozenset(owing)


def _alerts_owed(ctx: ServiceContext, now: datetime, limit: int | None = None) -> list[_Due]:
    rules = ctx.policy.alerts
    # Enough calendar days to hold the lead time's working days, holidays and weekends included.
    horizon = now + timedelta(days=2 * rules.lead_working_days + 10)
    due: list[_Due] = []
    with read_only(ctx.read_sessions) as session:
        deadlines = session.execute(
            select(Deadline.id, Deadline.case_id, Deadline.kind, Deadline.due_at)
            .join(Case, Case.id == Deadline.case_id)
            .where(
                Case.state.in_(sorted(s.value for s in OPEN_STATES)),
                Deadline.met_at.is_(None),
                Deadline.cancelled_at.is_(None),
                Deadline.paused_at.is_(None),
                Deadline.due_at <= horizon,
                or_(Deadline.kind.in_(sorted(ALERTED_KINDS)), Deadline.kind.like(SERVICE_DEADLINE_PREFIX + "%")),
                # Escalation is a deadline's last threshold: once raised, nothing more is owed for it, so a
                # pass reads only the deadlines still in their alert window, not every one ever overdue.
                ~exists(
                    select(DeadlineAlert.id).where(
                        DeadlineAlert.deadline_id == Deadline.id,
                        DeadlineAlert.threshold == Threshold.escalation.value,
                    )
                ),
            )
            .order_by(Deadline.due_at, Deadline.id)
            .limit(limit)
        ).all()
        reached = {row.id: thresholds(ctx, row.due_at, now) for row in deadlines}
        deadlines = [row for row in deadlines if reached[row.id]]
        if not deadlines:
            return []
        recipients = _recipients(session)
        cases: dict[uuid.UUID, Case] = {}
        snapshots: dict[uuid.UUID, CaseSnapshot] = {}
        for start in range(0, len(deadlines), _CASES_AT_ONCE):
            # A bounded IN list: a database holds far more overdue deadlines than one statement may name.
            case_ids = sorted({row.case_id for row in deadlines[start : start + _CASES_AT_ONCE]} - cases.keys())
            extras = view_extras(session, case_ids)
            for case in session.scalars(select(Case).where(Case.id.in_(case_ids))):
                cases[case.id] = case
                snapshots[case.id] = snapshot_of(case, extras[case.id].panel)
        for row in deadlines:
            case, snapshot = cases[row.case_id], snapshots[row.case_id]
            ties = ties_of(snapshot)
            relations = {r.user_id: relations_of(r.actor, ties) for r in recipients}
            owing = _owed_by(snapshot, row.kind)
            working_days = counts_working_days(ctx.policy, row.kind, case.is_child)
            for threshold in reached[row.id]:
                wanted = ESCALATED_TO if threshold is Threshold.escalation else owing
                for recipient in recipients:
                    if relations[recipient.user_id] & wanted:
                        due.append(
                            _Due(
                                recipient.user_id,
                                row.id,
                                row.case_id,
                                case.reference,
                                row.kind,
                                row.due_at,
                                threshold,
                                working_days,
                            )
                        )
    return due


def _raise_for(ctx: ServiceContext, recipient: _Recipient, owed: list[_Due], now: datetime) -> Digest | None:
    """Insert and audit one person's alerts in one transaction; those another worker raised first are skipped."""
    ids: list[uuid.UUID] = []
    items: list[AlertItem] = []
    with transaction(ctx.sessions) as session:
        for alert in sorted(owed, key=lambda a: (str(a.deadline_id), a.threshold.value)):
            alert_id = uuid.uuid4()
            try:
                with session.begin_nested():
                    session.add(
                        DeadlineAlert(
                            id=alert_id,
                            deadline_id=alert.deadline_id,
                            case_id=alert.case_id,
                            user_id=recipient.user_id,
                            threshold=alert.threshold.value,
                            deadline_kind=alert.kind,
                            due_at=alert.due_at,
                            raised_at=now,
                        )
                    )
            except IntegrityError:
                continue  # raised already, by an earlier pass or by another worker just now
            audit.append(
                session,
                ctx.keyring,
                time=now,
                actor=audit.SYSTEM_ACTOR,
                action="alert.raised",
                case_id=str(alert.case_id),
                details={
                    "user_id": str(recipient.user_id),
                    "deadline_kind": alert.kind,
                    "threshold": alert.threshold.value,
                    "due_at": alert.due_at.isoformat(),
                    "by_mail": recipient.email is not None,
                },
            )
            ids.append(alert_id)
            items.append(
                AlertItem(
                    alert.case_id, alert.reference, alert.kind, alert.threshold, alert.due_at, alert.working_days, now
                )
            )
    if not ids:
        return None
    return Digest(recipient.user_id, recipient.email, recipient.language, ids, sorted(items, key=_soonest))


def _soonest(item: AlertItem) -> tuple[datetime, str]:
    return item.due_at, item.reference


def raise_alerts(ctx: ServiceContext, limit: int | None = None) -> list[Digest]:
    """Raise every alert due now that no pass raised before (for the `limit` soonest deadlines at most; the rest
    next pass); one digest per person with new alerts."""
    now = ctx.clock.now()
    owed = _alerts_owed(ctx, now, limit)
    by_user: dict[uuid.UUID, list[_Due]] = {}
    for alert in owed:
        by_user.setdefault(alert.user_id, []).append(alert)
    if not by_user:
        return []
    with read_only(ctx.read_sessions) as session:
        recipients = {r.user_id: r for r in _recipients(session)}
    digests = []
    for user_id in sorted(by_user, key=str):
        digest = _raise_for(ctx, recipients[user_id], by_user[user_id], now)
        if digest is not None:
            digests.append(digest)
    return digests


def mark_mailed(ctx: ServiceContext, alert_ids: Iterable[uuid.UUID]) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(
            update(DeadlineAlert)
            .where(DeadlineAlert.id.in_(list(alert_ids)), DeadlineAlert.mailed_at.is_(None))
            .values(mailed_at=ctx.clock.now())
        )


def run(ctx: ServiceContext, sender: AlertSender | None, limit: int | None = None) -> AlertReport:
    """One pass: raise the alerts due, then send each person's digest when they have an e-mail address and a
    sender is given (`NRM_SMTP_URL`). A digest the server refused stays on the web only; it is not retried,
    so that no one gets the same alert twice."""
    report = AlertReport(digests=raise_alerts(ctx, limit))
    for digest in report.digests:
        report.raised += len(digest.alert_ids)
        if sender is None or digest.email is None:
            report.not_mailed += len(digest.alert_ids)
            continue
        if sender(digest):
            mark_mailed(ctx, digest.alert_ids)
            report.mailed += len(digest.alert_ids)
        else:
            report.not_mailed += len(digest.alert_ids)
    return report


def alerts_for(ctx: ServiceContext, principal: Principal, *, limit: int = _SHOWN_ON_MY_WORK) -> list[AlertItem]:
    """The alerts raised for this person on deadlines still open, most recent first, the latest one per
    deadline (an overdue alert replaces the reminder before it): the "my work" page."""
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(
            select(DeadlineAlert, Case.reference, Case.is_child)
            .join(Deadline, Deadline.id == DeadlineAlert.deadline_id)
            .join(Case, Case.id == DeadlineAlert.case_id)
            .where(
                DeadlineAlert.user_id == principal.user_id,
                and_(Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)),
                Case.state.in_(sorted(s.value for s in OPEN_STATES)),
            )
            .order_by(DeadlineAlert.raised_at.desc(), DeadlineAlert.due_at)
            .limit(limit * 3)
        ).all()
    seen: set[uuid.UUID] = set()
    latest = []
    for alert, reference, is_child in rows:
        if alert.deadline_id not in seen:
            seen.add(alert.deadline_id)
            latest.append((alert, reference, is_child))
    return [
        AlertItem(
            alert.case_id,
            reference,
            alert.deadline_kind,
            Threshold(alert.threshold),
            alert.due_at,
            counts_working_days(ctx.policy, alert.deadline_kind, is_child),
            alert.raised_at,
        )
        for alert, reference, is_child in latest[:limit]
    ]
