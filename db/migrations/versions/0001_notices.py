"""The notice outbox: one row per notice, unique by its business key (R3, R12).

Revision ID: 0001
Revises:
Create Date: 2026-11-27 18:00:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("dossier", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        # JSON text on SQLite, JSONB on PostgreSQL (searched with @>).
        sa.Column("cc", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        # timestamptz on PostgreSQL; UTC text without offset on SQLite (db.types.UTCDateTime).
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_notices_key")),
    )
    for column in ("kind", "dossier", "recipient"):
        op.create_index(op.f(f"ix_notices_{column}"), "notices", [column])


def downgrade() -> None:
    for column in ("kind", "dossier", "recipient"):
        op.drop_index(op.f(f"ix_notices_{column}"), table_name="notices")
    op.drop_table("notices")
