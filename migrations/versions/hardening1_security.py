"""security hardening (issue 10): key-check values; organisations that can be disabled; role grants with
when and by whom; the login throttle's counters (replacing the list of failed logins)

Revision ID: hardening1_security
Revises: webreferral_drafts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "hardening1_security"
down_revision: str | None = "webreferral_drafts"
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
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_last_attempt_at"), ["last_attempt_at"], unique=False)
    # Failed logins of the last minutes are not worth carrying over: the throttle starts afresh.
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_address_at")
        batch_op.drop_index("ix_login_failures_account_at")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_account_at", ["account_key", "at"], unique=False)
        batch_op.create_index("ix_login_failures_address_at", ["client_address", "at"], unique=False)
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_last_attempt_at"))
    op.drop_table("login_throttle")
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_column("granted_by")
        batch_op.drop_column("granted_at")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("is_active")
    op.drop_table("key_checks")
