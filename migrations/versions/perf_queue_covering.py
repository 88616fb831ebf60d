"""covering indexes for the queue's walks at a million cases

Measured at 1,000,007 generated cases (docs/benchmarks.md): the queue's list of cases awaiting an assessor
walks the open deadlines in due order and met 13,372 of them (of other states' cases) before its 26 rows, each
a heap fetch of the deadline and one of its case (300 ms); the "to close" list read every case of the final
states and each one's window from the heap. The walks now read the indexes alone (index-only scans once
autovacuum has marked the pages all-visible): the open deadlines carry their case, id and pause, a case's id
its state, the open deadlines of a kind their case, and each final state's cases their reference.

Revision ID: perf_queue_covering
Revises: perf_queue
Create Date: 2026-11-27 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "perf_queue_covering"
down_revision: str | None = "perf_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "met_at IS NULL AND cancelled_at IS NULL"
_TO_CLOSE = {
    "ix_cases_to_close_preliminary": ("preliminary_decided_at", "state = 'preliminary_negative'"),
    "ix_cases_to_close_formal": ("formal_decided_at", "state = 'not_identified'"),
}


def _deadline_indexes(include: bool) -> None:
    op.create_index(
        "ix_deadlines_open_due",
        "deadlines",
        ["due_at"],
        unique=False,
        postgresql_include=["case_id", "id", "paused_at"] if include else [],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_deadlines_open_kind_due",
        "deadlines",
        ["kind", "due_at"],
        unique=False,
        postgresql_include=["case_id"] if include else [],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def _to_close_indexes(include: bool) -> None:
    for name, (column, where) in _TO_CLOSE.items():
        op.create_index(
            name,
            "cases",
            [column, "id"],
            unique=False,
            postgresql_include=["reference"] if include else [],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def _drop(include_state_index: bool) -> None:
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.drop_index("ix_deadlines_open_kind_due", table_name="deadlines")
    for name in _TO_CLOSE:
        op.drop_index(name, table_name="cases")
    if include_state_index:
        op.drop_index("ix_cases_id_state", table_name="cases")


def upgrade() -> None:
    _drop(include_state_index=False)
    _deadline_indexes(include=True)
    _to_close_indexes(include=True)
    op.create_index("ix_cases_id_state", "cases", ["id", "state"], unique=False)


def downgrade() -> None:
    _drop(include_state_index=True)
    _deadline_indexes(include=False)
    _to_close_indexes(include=False)
