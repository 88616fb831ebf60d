"""The coordinator's queue at any size (issue 16), on both databases.

- The counts per state that triggers keep (`state_counts`) equal a count of the cases after every kind of
  change (referral, events, closure by the worker, a row deleted), before and after the worker folds them.
- The lists by urgency (`work_lists.by_next_deadline`) give, page after page, every case once, in the order
  of its next running deadline, as an oracle built from the case views finds it.
- The cases to close come page after page, the oldest decision first.

Policy fr; the clock starts Monday 1 March 2027 09:00 UTC."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, func, inspect, select, text

from app.clock import FrozenClock
from app.models import Case, CaseStateCount
from app.security.permissions import Principal
from app.services import cases, closure, scheduler, state_counts
from app.services.cases import CaseView, work_lists
from app.services.context import ServiceContext
from app.workflow import DUTY_KINDS, DeadlineKind, DeadlineStatus, State
from tests.factories import World, child_body, event, input_of, refer, referral_body

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RUNNING = (DeadlineStatus.open, DeadlineStatus.overdue)


class People:
    def __init__(self, ctx: ServiceContext) -> None:
        world = World(ctx)
        self.referrer = world.principal("referrer", ["referrer"], "NGO One", "ngo")
        self.coordinator = world.principal("coordinator", ["coordinator"], "Secretariat", "coordination")
        self.assessors = [world.principal(f"assessor{n}", ["assessor"], "NGO Two", "ngo") for n in (1, 2)]


def _counted(ctx: ServiceContext) -> dict[str, int]:
    with ctx.read_sessions() as session:
        return {s: int(n) for s, n in session.execute(select(Case.state, func.count()).group_by(Case.state))}


def _kept(ctx: ServiceContext) -> dict[str, int]:
    with ctx.read_sessions() as session:
        return state_counts.totals(session)


def _assign(ctx: ServiceContext, who: People, case_id: uuid.UUID, n: int = 0) -> None:
    event(ctx, who.coordinator, case_id, "assign_assessor", assessor_id=str(who.assessors[n].user_id))


def _stuck(ctx: ServiceContext, who: People, case_id: uuid.UUID) -> None:
    """Two negative preliminary decisions: fr allows one reconsideration, so the case can no longer move."""
    _assign(ctx, who, case_id)
    event(ctx, who.assessors[0], case_id, "preliminary_decision", outcome="negative", reasons="no grounds yet")
    event(ctx, who.referrer, case_id, "request_reconsideration", reasons="new evidence")
    _assign(ctx, who, case_id, 1)
    event(ctx, who.assessors[1], case_id, "preliminary_decision", outcome="negative", reasons="still none")


def test_the_counts_per_state_follow_every_change(ctx: ServiceContext, clock: FrozenClock) -> None:
    who = People(ctx)
    ids = [refer(ctx, who.referrer) for _ in range(4)]
    assert _kept(ctx) == _counted(ctx) == {"referred": 4}
    _assign(ctx, who, ids[0])
    event(ctx, who.assessors[0], ids[0], "preliminary_decision", outcome="positive", reasons="grounds")
    _stuck(ctx, who, ids[1])
    assert _kept(ctx) == _counted(ctx) and _kept(ctx)["preliminary_negative"] == 1
    with ctx.read_sessions() as session:
        rows_before = session.scalar(select(func.count()).select_from(CaseStateCount))
    assert state_counts.fold(ctx) == rows_before
    with ctx.read_sessions() as session:
        folded = session.execute(select(CaseStateCount.state, CaseStateCount.delta)).all()
    assert sorted(folded) == sorted(_counted(ctx).items())  # one row per state with a case
    clock.advance(61 * DAY)  # past fr's 30 days before a case that cannot move is closed by the worker
    scheduler.run_pass(ctx, courier=None)
    assert _counted(ctx).get("closed") == 1 and _kept(ctx) == _counted(ctx)
    with ctx.sessions.begin() as session:
        session.execute(delete(Case).where(Case.id == ids[3]))
    assert _kept(ctx) == _counted(ctx) and _kept(ctx)["referred"] == 1
    coordinator_counts = cases.count_by_state(ctx, who.coordinator)  # from the kept counts
    referrer_counts = cases.count_by_state(ctx, who.referrer)  # counted: a referrer sees its organisation's
    assert coordinator_counts == referrer_counts and coordinator_counts[State.closed] == 1


def test_the_triggers_exist_at_head(ctx: ServiceContext) -> None:
    """A migration that rebuilds `cases` on SQLite drops them: it must create them again."""
    engine = ctx.sessions.kw["bind"]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'cases'::regclass AND NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'"
        names = set(connection.execute(text(query)).scalars())
    assert len(names) == (2 if engine.dialect.name == "postgresql" else 3)
    assert all(name.startswith("cases_state_counts_") for name in names)
    assert "case_state_counts" in inspect(engine).get_table_names()


def _next_due(view: CaseView) -> object:
    running = [d.due_at for d in view.deadlines if d.status in RUNNING]
    return min(running) if running else None


def _has_overdue_duty(view: CaseView) -> bool:
    return any(d.status is DeadlineStatus.overdue and d.kind in DUTY_KINDS for d in view.deadlines)


def _walk(ctx: ServiceContext, principal: Principal, **criteria: object) -> list[uuid.UUID]:
    """Every page of two, followed by its cursor."""
    found: list[uuid.UUID] = []
    cursor = None
    while True:
        page = work_lists.by_next_deadline(ctx, principal, limit=2, cursor=cursor, **criteria)  # type: ignore[arg-type]
        found += [view.id for view in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return found


def test_the_lists_by_urgency_page_through_every_case_once_in_order(ctx: ServiceContext, clock: FrozenClock) -> None:
    who = People(ctx)
    ids = []
    for n in range(7):
        child = n % 3 == 0
        ids.append(cases.refer(ctx, who.referrer, input_of(child_body() if child else referral_body())).view.id)
        clock.advance(HOUR * (n + 1))
    for case_id in ids[4:]:
        _assign(ctx, who, case_id)  # out of the "awaiting" list, still running their decision's deadline
    clock.advance(6 * DAY)  # some deadlines overdue now (children's are shorter), some not yet
    views = [cases.get_case(ctx, who.coordinator, case_id) for case_id in ids]

    due = {v.id: _next_due(v) for v in views}

    def in_order(walked: list[uuid.UUID], expected: list[CaseView]) -> bool:
        """Each expected case once, by next due time (cases due at the same time in either order: the
        lists break ties by the deadline's id, which the views do not show)."""
        dues = [due[case_id] for case_id in walked]
        return sorted(walked) == sorted(v.id for v in expected) and dues == sorted(dues)  # type: ignore[type-var]

    awaiting = [v for v in views if v.state is State.referred and _next_due(v) is not None]
    assert len(awaiting) == 4 and in_order(_walk(ctx, who.coordinator, state=State.referred), awaiting)
    # By the preliminary decision alone (the queue's "awaiting an assessor"): the order of that deadline.
    decision_due = {
        v.id: next(d.due_at for d in v.deadlines if d.kind is DeadlineKind.preliminary_decision) for v in awaiting
    }
    walked = _walk(ctx, who.coordinator, state=State.referred, kinds=(DeadlineKind.preliminary_decision,))
    assert sorted(walked) == sorted(decision_due)
    assert [decision_due[case_id] for case_id in walked] == sorted(decision_due.values())
    overdue = [v for v in views if _has_overdue_duty(v)]
    assert 2 <= len(overdue) < len(ids)  # the test means something only if some are and some are not
    assert in_order(_walk(ctx, who.coordinator, overdue=True), overdue)
    outsider = World(ctx).principal("other", ["referrer"], "NGO Nine", "ngo")
    assert _walk(ctx, outsider, overdue=True) == []


def test_the_cases_to_close_come_page_after_page(ctx: ServiceContext, clock: FrozenClock) -> None:
    who = People(ctx)
    ids = []
    for _ in range(3):
        case_id = refer(ctx, who.referrer)
        _stuck(ctx, who, case_id)
        ids.append(case_id)
        clock.advance(DAY)
    first = closure.cases_to_close(ctx, who.coordinator, limit=2)
    rest = closure.cases_to_close(ctx, who.coordinator, limit=2, cursor=closure.cursor_after(first[-1]))
    assert [c.case_id for c in first + rest] == ids
    assert [c.case_id for c in closure.cases_to_close(ctx, who.coordinator)] == ids
