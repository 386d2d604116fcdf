"""Idempotency keys remember the request they were first used with (`fingerprint`), so that a
key sent again with another body is refused (422 `idempotency_key_reused`) instead of silently
answering with the first request's outcome. Keys claimed before keep no fingerprint.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:00:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as keys:
        keys.add_column(sa.Column("fingerprint", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as keys:
        keys.drop_column("fingerprint")
