"""needs.interpreter_language and needs.communication_aid hold codes: free text leaves the clear column

Revision ID: hardening2_needs_codes
Revises: hardening2_idempotency_mac
Create Date: 2026-12-01 09:30:00.000000

The two fields took free text, kept in clear and shown to auditors (a name and a phone number were found
there: issue 10 point 13). From now on they take codes (`app/workflow/communication.py`). A value already a code
is kept (normalised: ` FR ` becomes `fr`); any other value is set to null. Moving it into the encrypted note
instead would need the case keys, which a schema migration neither has nor should have: the safe reading is
that no free text stays in clear, at the cost of the descriptions already typed there, which the caseworker
asks again (docs/security.md). Nothing of the removed text is logged.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.workflow.communication import clear_needs

revision: str = "hardening2_needs_codes"
down_revision: str | None = "hardening2_idempotency_mac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASES = sa.table("cases", sa.column("id", sa.Uuid()), sa.column("needs", sa.JSON()))


def upgrade() -> None:
    connection = op.get_bind()
    changed: list[dict[str, Any]] = []
    for case_id, needs in connection.execute(sa.select(_CASES.c.id, _CASES.c.needs)):
        if not isinstance(needs, dict):
            continue
        fixed, _ = clear_needs(needs)  # the same rule as a referral's, values that are no code set to null
        if fixed != needs:
            changed.append({"case_id": case_id, "needs": fixed})
    if changed:
        connection.execute(
            _CASES.update().where(_CASES.c.id == sa.bindparam("case_id")).values(needs=sa.bindparam("needs")),
            changed,
        )


def downgrade() -> None:
    # The free text removed is gone; codes remain valid values of the older, looser columns.
    pass
