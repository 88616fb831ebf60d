"""an idempotency record keeps the use-case's own result, not an HTTP answer

Revision ID: structure_idempotency_result
Revises: 0004
Create Date: 2026-11-27 09:00:00.000000

The first answer to a referral was stored as an HTTP status and a rendered body; the service now keeps its
own result (the case view as JSON, which has the same shape as the body rendered so far) and the API renders
it, so `status_code` goes and `response_body` becomes `result`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "structure_idempotency_result"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.alter_column(
            "response_body", new_column_name="result", existing_type=sa.JSON(), existing_nullable=False
        )
        batch_op.drop_column("status_code")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_code", sa.Integer(), nullable=False, server_default="201"))
        batch_op.alter_column(
            "result", new_column_name="response_body", existing_type=sa.JSON(), existing_nullable=False
        )
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.alter_column("status_code", server_default=None, existing_type=sa.Integer(), existing_nullable=False)
