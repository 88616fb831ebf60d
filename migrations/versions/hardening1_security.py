"""security hardening (issue 10): key-check values; organisations that can be disabled; role grants with
when and by whom

Revision ID: hardening1_security
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "hardening1_security"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key_id", name=op.f("pk_key_checks")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("disabled_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("granted_by", sa.Uuid(), nullable=True))
    # Grants made before this revision: as old as the account (the best the data can say).
    op.execute(
        "UPDATE user_roles SET granted_at = (SELECT users.created_at FROM users WHERE users.id = user_roles.user_id)"
    )
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.alter_column("granted_at", existing_type=app.models.base.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_column("granted_by")
        batch_op.drop_column("granted_at")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("is_active")
    op.drop_table("key_checks")
