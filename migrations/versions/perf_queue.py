"""the coordinator's queue at a million cases: counts per state kept by triggers, indexes for "to close"

The queue page counted every case by state (a grouped scan: 240 ms at 175 000 cases on a loaded machine,
about a second at a million) and sorted every case that can no longer move. Now `case_state_counts` holds the
counts as rows of +1/-1 written by triggers on `cases` in the transaction of each change (see the model's
docstring for why insert-only), back-filled here from the cases as they stand; and each final state's cases
are read in the order of their decision along an index of that state alone.

On SQLite a later migration that rebuilds `cases` (`batch_alter_table` with a table copy) drops these
triggers: such a migration must create them again (`create_triggers`); tests/models/test_state_counts.py
checks they exist at head on both databases.

Revision ID: perf_queue
Revises: webaudit_alerts
Create Date: 2026-11-27 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "perf_queue"
down_revision: str | None = "webaudit_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION case_state_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            INSERT INTO case_state_counts (state, delta) VALUES (OLD.state, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            INSERT INTO case_state_counts (state, delta) VALUES (NEW.state, 1);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER cases_state_counts_insert_delete AFTER INSERT OR DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION case_state_counts_track()
    """,
    """
    CREATE TRIGGER cases_state_counts_update AFTER UPDATE OF state ON cases
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION case_state_counts_track()
    """,
)
_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER cases_state_counts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO case_state_counts (state, delta) VALUES (NEW.state, 1);
    END
    """,
    """
    CREATE TRIGGER cases_state_counts_delete AFTER DELETE ON cases BEGIN
        INSERT INTO case_state_counts (state, delta) VALUES (OLD.state, -1);
    END
    """,
    """
    CREATE TRIGGER cases_state_counts_update AFTER UPDATE OF state ON cases WHEN OLD.state IS NOT NEW.state BEGIN
        INSERT INTO case_state_counts (state, delta) VALUES (OLD.state, -1);
        INSERT INTO case_state_counts (state, delta) VALUES (NEW.state, 1);
    END
    """,
)
_TO_CLOSE = {
    "ix_cases_to_close_preliminary": ("preliminary_decided_at", "state = 'preliminary_negative'"),
    "ix_cases_to_close_formal": ("formal_decided_at", "state = 'not_identified'"),
}


def create_triggers() -> None:
    """The triggers that keep `case_state_counts`, for the database at hand."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL_TRIGGERS if postgresql else _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    for name, (column, where) in _TO_CLOSE.items():
        op.create_index(
            name, "cases", [column, "id"], unique=False, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
        )
    op.create_table(
        "case_state_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_state_counts")),
    )
    op.execute("INSERT INTO case_state_counts (state, delta) SELECT state, COUNT(*) FROM cases GROUP BY state")
    create_triggers()


def downgrade() -> None:
    for name in _TO_CLOSE:
        op.drop_index(name, table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER cases_state_counts_update ON cases")
        op.execute("DROP TRIGGER cases_state_counts_insert_delete ON cases")
        op.execute("DROP FUNCTION case_state_counts_track()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER cases_state_counts_{name}")
    op.drop_table("case_state_counts")
