"""policy versions (issue 12, point 9): a case records the version of the policy it was referred under; the
archive of the policy versions cases were referred under; a negative reasonable-grounds decision waiting for a
second decision maker (point 10)

Revision ID: integrity_policy_versions
Revises: integrity_b_decisions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "integrity_policy_versions"
down_revision: str | None = "integrity_b_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("recorded_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_policy_versions")),
    )
    # Cases referred before policies had versions get the current one: every shipped policy is at version 1
    # at this revision (a policy file of the operator's is too, unless it says otherwise).
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("second_check_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column(
            "policy_version", server_default=None, existing_type=sa.Integer(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("second_check_pending")
        batch_op.drop_column("policy_version")
    op.drop_table("policy_versions")
