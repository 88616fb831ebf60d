"""indexes for the worker's selections and the compliance report at a million cases

Checked with EXPLAIN (ANALYZE) on 100 000 generated cases (bench/generate.py): the lapsed-window selection
went from a bitmap scan of every deadline of the kind (60 ms) to the open ones only (13 ms); the reflection
periods cut short from a parallel sequential scan of the cases (586 ms) to an index-only scan (209 ms).

Revision ID: perf_indexes
Revises: integrity_policy_versions
Create Date: 2026-11-27 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "perf_indexes"
down_revision: str | None = "integrity_policy_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNERASED = "erased_at IS NULL"
_DECIDED_WITHOUT_EARLY_REQUEST = "formal_decided_at IS NOT NULL AND early_decision_requested IS FALSE"
_OPEN = "met_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_unerased_state_ended",
            ["state", "ended_at"],
            unique=False,
            postgresql_include=["id"],
            sqlite_where=sa.text(_UNERASED),
            postgresql_where=sa.text(_UNERASED),
        )
        batch_op.create_index(
            "ix_cases_formal_decided",
            ["id"],
            unique=False,
            postgresql_include=["formal_decided_at"],
            sqlite_where=sa.text(_DECIDED_WITHOUT_EARLY_REQUEST),
            postgresql_where=sa.text(_DECIDED_WITHOUT_EARLY_REQUEST),
        )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadlines_open_kind_due",
            ["kind", "due_at"],
            unique=False,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index("ix_deadlines_open_kind_due")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_formal_decided")
        batch_op.drop_index("ix_cases_unerased_state_ended")
