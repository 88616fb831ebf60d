"""idempotency records keep a keyed MAC of the referral, not a plain SHA-256; an index for their purge

Revision ID: hardening2_idempotency_mac
Revises: hardening1_security
Create Date: 2026-12-01 09:00:00.000000

The records held an unsalted SHA-256 of the whole referral, personal data included, even after erasure
(issue 10 point 15). A record only serves a retry within a day, and a plain hash cannot be turned into a MAC,
so the existing records are deleted: a client retrying a referral sent before the upgrade, with the same
key, creates a second case instead of getting the first one back (the coordinator can close a duplicate).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hardening2_idempotency_mac"
down_revision: str | None = "hardening1_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_records"))
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.alter_column(
            "request_hash", new_column_name="request_mac", existing_type=sa.String(length=64), existing_nullable=False
        )
        batch_op.create_index("ix_idempotency_records_created", ["created_at"], unique=False)


def downgrade() -> None:
    # The MACs mean nothing to the older code, which compares plain hashes: the records go again.
    op.execute(sa.text("DELETE FROM idempotency_records"))
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_records_created")
        batch_op.alter_column(
            "request_mac", new_column_name="request_hash", existing_type=sa.String(length=64), existing_nullable=False
        )
