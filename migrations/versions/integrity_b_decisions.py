"""Decisions kept apart, reconsiderations counted, the exploitation's scope (issue 12, points 2, 8, 11)

Revision ID: integrity_b_decisions
Revises: hardening2_needs_codes
Create Date: 2026-12-02 10:00:00.000000

`preliminary_outcome` and `formal_outcome` keep the decision that stands; the first preliminary decision, the
first formal decision and the review decision get their own columns, never overwritten. Existing cases are
filled from their history (each decision's event row holds its outcome and time); a case made by a transfer
has no such row and keeps its decisions as they stand. `reconsiderations_held` counts the reconsiderations
(the policy says how many are allowed); `exploitation_scope` says whether the exploitation was internal or
cross-border (`unknown` for the cases referred before it was asked).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "integrity_b_decisions"
down_revision: str | None = "hardening2_needs_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECISION_COLUMNS = (
    "first_preliminary_outcome",
    "first_preliminary_decided_at",
    "first_formal_outcome",
    "first_formal_decided_at",
    "review_outcome",
    "review_decided_at",
)
#: The history event that took each decision, and the columns it fills (the first such row only).
_EVENTS = {
    "preliminary_decision": ("first_preliminary_outcome", "first_preliminary_decided_at"),
    "formal_decision": ("first_formal_outcome", "first_formal_decided_at"),
    "review_decision": ("review_outcome", "review_decided_at"),
}


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy of `cases`: on SQLite, with foreign keys on, dropping the old table
    # of a batch copy would cascade to the history, panels and everything else that refers to a case.
    for name in _DECISION_COLUMNS:
        column_type: Any = app.models.base.UTCDateTime(timezone=True) if name.endswith("_at") else sa.String(length=20)
        op.add_column("cases", sa.Column(name, column_type, nullable=True))
    op.add_column("cases", sa.Column("reconsiderations_held", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "cases", sa.Column("exploitation_scope", sa.String(length=20), server_default="unknown", nullable=False)
    )
    cases = sa.table(
        "cases",
        sa.column("id", sa.Uuid()),
        sa.column("reconsideration_done", sa.Boolean()),
        sa.column("reconsiderations_held", sa.Integer()),
        sa.column("preliminary_outcome", sa.String()),
        sa.column("preliminary_decided_at", app.models.base.UTCDateTime(timezone=True)),
        sa.column("formal_outcome", sa.String()),
        sa.column("formal_decided_at", app.models.base.UTCDateTime(timezone=True)),
        *(
            sa.column(n, app.models.base.UTCDateTime(timezone=True) if n.endswith("_at") else sa.String())
            for n in _DECISION_COLUMNS
        ),
    )
    history = sa.table(
        "case_history",
        sa.column("case_id", sa.Uuid()),
        sa.column("at", app.models.base.UTCDateTime(timezone=True)),
        sa.column("event", sa.String()),
        sa.column("facts", sa.JSON()),
    )
    connection = op.get_bind()
    connection.execute(cases.update().where(cases.c.reconsideration_done.is_(True)).values(reconsiderations_held=1))
    found: dict[Any, dict[str, Any]] = {}
    rows = connection.execute(
        sa.select(history.c.case_id, history.c.at, history.c.event, history.c.facts)
        .where(history.c.event.in_(tuple(_EVENTS)))
        .order_by(history.c.at)
    )
    for case_id, at, event, facts in rows:
        outcome_column, at_column = _EVENTS[event]
        values = found.setdefault(case_id, {})
        if outcome_column not in values and isinstance(facts, dict) and facts.get("outcome"):
            values[outcome_column], values[at_column] = facts["outcome"], at
    for case_id, values in found.items():
        connection.execute(cases.update().where(cases.c.id == case_id).values(**values))
    # A transferred case's decisions came in its package, not from an event here: they are their own first.
    connection.execute(
        cases.update()
        .where(cases.c.first_preliminary_outcome.is_(None), cases.c.preliminary_outcome.is_not(None))
        .values(
            first_preliminary_outcome=cases.c.preliminary_outcome,
            first_preliminary_decided_at=cases.c.preliminary_decided_at,
        )
    )
    connection.execute(
        cases.update()
        .where(
            cases.c.first_formal_outcome.is_(None),
            cases.c.formal_outcome.is_not(None),
            cases.c.review_outcome.is_(None),
        )
        .values(first_formal_outcome=cases.c.formal_outcome, first_formal_decided_at=cases.c.formal_decided_at)
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35+): a batch copy of `cases` would cascade (above).
    for name in ("exploitation_scope", "reconsiderations_held", *reversed(_DECISION_COLUMNS)):
        op.execute(sa.text(f"ALTER TABLE cases DROP COLUMN {name}"))
