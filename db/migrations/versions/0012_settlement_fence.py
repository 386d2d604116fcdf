"""The settlement fence (issue 12): a dossier's read model written inside the workflow task that
made the change (a local activity, v8) carries that task's time, so that a write from a task
that was lost (a worker killed before the server had it) can be told from the task done again.

- `dossiers.fence`: the time (`workflow.now()`) of the task whose write the row last took; a
  write from an older task is refused (`db.settlement`).
- `notices.settlement_version`: the dossier's version the settlement that wrote the notice was
  at; a reset removes the undelivered notices of versions its workflow never confirmed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:30:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as table:
        # timestamptz on PostgreSQL; UTC text without offset on SQLite (db.types.UTCDateTime).
        table.add_column(sa.Column("fence", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("notices") as table:
        table.add_column(sa.Column("settlement_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices") as table:
        table.drop_column("settlement_version")
    with op.batch_alter_table("dossiers") as table:
        table.drop_column("fence")
