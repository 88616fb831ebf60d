"""How many cases stand in each state, at any number of cases: read from `case_state_counts` (rows of +1/-1
that triggers write with every change of state, see `app.models.CaseStateCount`), folded by the worker.

- `totals(session)`: the count per state (states with no case left out), a sum over a few rows;
- `fold(ctx)`: replaces the rows by one per state, in one transaction. Rows written by transactions that
  commit while it runs are not among those it deletes (PostgreSQL's DELETE sees the rows committed when it
  starts), so they stay and the sums hold; SQLite has one writer at a time.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import CaseStateCount
from app.services.context import ServiceContext


def totals(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(CaseStateCount.state, func.sum(CaseStateCount.delta)).group_by(CaseStateCount.state)
    ).all()
    return {state: int(n) for state, n in rows if n}


def fold(ctx: ServiceContext) -> int:
    """Folds the rows into one per state; returns how many rows there were."""
    with transaction(ctx.sessions) as session:
        deleted = session.execute(delete(CaseStateCount).returning(CaseStateCount.state, CaseStateCount.delta)).all()
        sums: Counter[str] = Counter()
        for state, delta in deleted:
            sums[state] += delta
        rows = [{"state": state, "delta": n} for state, n in sorted(sums.items()) if n]
        if rows:
            session.execute(insert(CaseStateCount), rows)
    return len(deleted)
