"""The last run of each periodic sweep (`sweep_runs`): the ended-runs sweep records when it
finished, for the metrics and the alert on a sweep that stopped running (issue 11).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 20:00:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_runs",
        sa.Column("name", sa.String(), nullable=False),
        # timestamptz on PostgreSQL; UTC text without offset on SQLite (db.types.UTCDateTime).
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_runs")),
    )


def downgrade() -> None:
    op.drop_table("sweep_runs")
