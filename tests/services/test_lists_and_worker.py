"""Case lists (filters, need-to-know, cursor pages) and two workers at once, on both databases."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import AuditEntry, Case
from app.services import cases, scheduler
from app.services.context import ServiceContext
from app.services.errors import InvalidInput
from tests.factories import event, principal, refer


def test_lists_filter_page_and_respect_need_to_know(ctx: ServiceContext, clock: FrozenClock) -> None:
    ngo = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    other = principal(ctx, "other", ["referrer"], "NGO Two", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Three", "ngo")
    mine = []
    for _ in range(5):
        mine.append(refer(ctx, ngo))
        clock.advance(timedelta(minutes=1))
    theirs = refer(ctx, other)
    event(ctx, coordinator, mine[0], "assign_assessor", assessor_id=str(assessor.user_id))

    # Pages of two, newest first, with no case twice and none missing.
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = cases.list_cases(ctx, ngo, limit=2, cursor=cursor)
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(mine))
    # A referrer sees its own organisation's referrals; the coordinator sees all; an assessor, its own.
    assert theirs not in {item.id for item in cases.list_cases(ctx, ngo).items}
    assert len(cases.list_cases(ctx, coordinator).items) == 6
    assert [item.id for item in cases.list_cases(ctx, assessor).items] == [mine[0]]
    # Filters.
    assessed = cases.list_cases(ctx, coordinator, state="preliminary_assessment").items
    assert [item.id for item in assessed] == [mine[0]]
    only_other = cases.list_cases(ctx, coordinator, organisation_id=other.organisation_id).items
    assert [item.id for item in only_other] == [theirs]
    assert cases.list_cases(ctx, coordinator, overdue=True).items == []
    clock.advance(timedelta(days=10))  # the five-working-day preliminary decision is now overdue
    assert len(cases.list_cases(ctx, coordinator, overdue=True).items) == 6
    assert cases.list_cases(ctx, coordinator, overdue=False).items == []
    with pytest.raises(InvalidInput):
        cases.list_cases(ctx, coordinator, cursor="not-a-cursor")


def test_two_workers_at_once_close_each_lapsed_case_once(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    negatives = [refer(ctx, referrer) for _ in range(6)]
    for case_id in negatives:
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
        event(ctx, assessor, case_id, "preliminary_decision", outcome="negative", reasons="no grounds found")
    clock.advance(timedelta(days=40))  # the 30-day reconsideration window has lapsed

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: scheduler.run_pass(ctx), range(2)))

    assert sum(report.closed for report in reports) == len(negatives)
    with ctx.sessions() as session:
        states = session.scalars(select(Case.state).where(Case.id.in_(negatives))).all()
        closes = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "case.close"))
    assert set(states) == {"closed"} and closes == len(negatives)
    assert scheduler.run_pass(ctx).closed == 0
