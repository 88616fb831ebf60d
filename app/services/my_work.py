"""My work: what one person must act on, across the cases they may know of, soonest deadline first.

`duties_for(ctx, principal)` reads the open deadlines of the cases to which the principal holds a relation that
owes something (`app/workflow/duties.py`: the one table of who owes which step), in due order, and keeps those
the workflow would let them act on now; service referrals still waiting for the provider's answer are the
assigned caseworker's. Read-only, a few statements per batch of deadlines whatever the number of cases. Deadline
alerts reuse the same rules (`app.workflow.duties.DUTIES`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.db import read_only
from app.models import Case, Deadline
from app.security.permissions import Principal
from app.services.case_access import cases_related
from app.services.case_policy import policy_of
from app.services.cases.core import snapshot_of
from app.services.cases.views import view_extras
from app.services.context import ServiceContext
from app.workflow import OPEN_STATES, DeadlineKind, DurationUnit, EventName, NeedKind, Policy, State
from app.workflow.duties import DUTIES, SERVICE_DUTY_OWED_BY, Duty, duties_of, kinds_owed_by, may_owe_service_duties
from app.workflow.support import SERVICE_DEADLINE_PREFIX

#: The action of a service referral waiting for the provider's answer (not a workflow event).
FOLLOW_UP_SERVICE = "follow_up_service"
_BATCH = 200


@dataclass(frozen=True)
class WorkItem:
    """One thing to do: on the case `reference`, take `action` (an event name, or `FOLLOW_UP_SERVICE`) to
    answer the deadline `deadline_kind` (a `DeadlineKind` or `service_<need>`) by `due_at`. `working_days`:
    the deadline counts in working days (say it so)."""

    case_id: uuid.UUID
    reference: str
    state: State
    is_child: bool
    deadline_kind: str
    action: str
    due_at: datetime
    working_days: bool
    need_kind: NeedKind | None = None


@dataclass(frozen=True)
class MyWork:
    items: list[WorkItem]
    more: bool  # there is more to do than `items` shows


def _owing_condition(principal: Principal) -> ColumnElement[bool] | None:
    """Open deadlines this principal may owe, on cases they hold an owing relation to."""
    conditions = []
    kinds = kinds_owed_by(principal.roles)
    if kinds:
        owing = frozenset(relation for rule in DUTIES for relation in rule.owed_by)
        conditions.append(and_(Deadline.kind.in_(sorted(k.value for k in kinds)), cases_related(principal, owing)))
    if may_owe_service_duties(principal.roles):
        conditions.append(
            and_(
                Deadline.kind.like(SERVICE_DEADLINE_PREFIX + "%"),
                cases_related(principal, SERVICE_DUTY_OWED_BY),
            )
        )
    return or_(*conditions) if conditions else None


def counts_working_days(policy: Policy, kind: str, is_child: bool = False) -> bool:
    """Whether a deadline of `kind` (a `DeadlineKind` or `service_<need>`) counts in working days under the
    policy, so that pages say "in 2 working days" for it and "in 2 days" for the others."""
    if kind.startswith(SERVICE_DEADLINE_PREFIX):
        need = NeedKind(kind.removeprefix(SERVICE_DEADLINE_PREFIX))
        return policy.service_deadlines[need].unit is DurationUnit.working_days
    return policy.duration(DeadlineKind(kind), is_child).unit is DurationUnit.working_days


def _item(policy: Policy, case: Case, deadline: Deadline, action: str) -> WorkItem:
    need = None
    if deadline.kind.startswith(SERVICE_DEADLINE_PREFIX):
        need = NeedKind(deadline.kind.removeprefix(SERVICE_DEADLINE_PREFIX))
    return WorkItem(
        case_id=case.id,
        reference=case.reference,
        state=State(case.state),
        is_child=case.is_child,
        deadline_kind=deadline.kind,
        action=action,
        due_at=deadline.due_at,
        working_days=counts_working_days(policy, deadline.kind, case.is_child),
        need_kind=need,
    )


def _duties_of_cases(
    session: Session, ctx: ServiceContext, principal: Principal, case_ids: list[uuid.UUID], now: datetime
) -> tuple[dict[uuid.UUID, Case], dict[uuid.UUID, list[Duty]]]:
    cases = {
        case.id: case
        for case in session.scalars(select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.deadlines)))
    }
    extras = view_extras(session, case_ids)
    duties = {
        case_id: duties_of(
            snapshot_of(case, extras[case_id].panel), principal.actor, now, policy_of(session, ctx, case)
        )
        for case_id, case in cases.items()
    }
    return cases, duties


def duties_for(ctx: ServiceContext, principal: Principal, *, limit: int = 50) -> MyWork:
    """What `principal` must act on now, soonest deadline first, at most `limit` items."""
    condition = _owing_condition(principal)
    if condition is None:
        return MyWork([], False)
    now = ctx.clock.now()
    items: list[WorkItem] = []
    after: tuple[datetime, uuid.UUID] | None = None
    # Most open deadlines one may owe are owed now, so the first batch is about a page; later ones grow, so a
    # sparse list still takes few statements (a batch of 200 for a page of 50 was most of the page's time).
    size = limit + 1
    with read_only(ctx.read_sessions) as session:
        while len(items) <= limit:
            query = (
                select(Deadline.id, Deadline.case_id, Deadline.due_at)
                .join(Case, Case.id == Deadline.case_id)
                .where(
                    condition,
                    Case.state.in_(sorted(s.value for s in OPEN_STATES)),
                    Deadline.met_at.is_(None),
                    Deadline.cancelled_at.is_(None),
                    Deadline.paused_at.is_(None),
                )
                .order_by(Deadline.due_at, Deadline.id)
                .limit(size)
            )
            if after is not None:
                query = query.where(
                    or_(Deadline.due_at > after[0], and_(Deadline.due_at == after[0], Deadline.id > after[1]))
                )
            batch = session.execute(query).all()
            if not batch:
                break
            after = (batch[-1].due_at, batch[-1].id)
            cases, duties = _duties_of_cases(session, ctx, principal, sorted({row.case_id for row in batch}), now)
            for row in batch:
                case = cases[row.case_id]
                deadline = next(d for d in case.deadlines if d.id == row.id)
                if deadline.kind.startswith(SERVICE_DEADLINE_PREFIX):
                    items.append(_item(policy_of(session, ctx, case), case, deadline, FOLLOW_UP_SERVICE))
                    continue
                for duty in duties[case.id]:
                    if duty.kind.value == deadline.kind:
                        items.append(_item(policy_of(session, ctx, case), case, deadline, EventName(duty.event).value))
            if len(batch) < size:
                break
            size = min(size * 2, _BATCH)
    return MyWork(items[:limit], len(items) > limit)
