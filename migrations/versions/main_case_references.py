"""case references people can say on the phone (MNR-2027-00042)

Revision ID: main_case_references
Revises: webbase_sessions
Create Date: 2026-11-27 10:30:00.000000

`case_numbers` hands out one number per case (a sequence on PostgreSQL, so concurrent referrals never wait on
each other); `cases.reference` is the referral's year and that number. Cases that exist already are numbered
in the order they were referred; their year is the UTC year of their referral (the policy's time zone is not
known to a migration, and a reference only helps a person place a case).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "main_case_references"
down_revision: str | None = "webbase_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_numbers",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_case_numbers")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=24), nullable=True))
    connection = op.get_bind()
    numbers = sa.table(
        "case_numbers", sa.column("number", sa.Integer()), sa.column("created_at", sa.DateTime(timezone=True))
    )
    cases = sa.table(
        "cases",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("reference", sa.String()),
    )
    existing = connection.execute(sa.select(cases.c.id, cases.c.created_at).order_by(cases.c.created_at, cases.c.id))
    for case_id, created_at in existing.all():
        number = connection.execute(
            sa.insert(numbers).values(created_at=created_at).returning(numbers.c.number)
        ).scalar_one()
        connection.execute(
            sa.update(cases).where(cases.c.id == case_id).values(reference=f"MNR-{created_at.year:04d}-{number:05d}")
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=24), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_cases_reference"), ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cases_reference"), type_="unique")
        batch_op.drop_column("reference")
    op.drop_table("case_numbers")
