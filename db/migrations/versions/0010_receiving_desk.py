"""The one-stop desk that received a dossier for its lead agency (issue 10: Decree 118/2025 lets
a dossier be received at any desk of the province): `dossiers.receiving_desk`, the desk's agency
code. Every dossier stored before was received by its lead agency: filled with it here, and by
every projection after (`activities.projection`), so lists and reports by desk need no
fallback. Indexed with the receipt time for the desk's lists and the reports by desk.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:30:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.add_column(sa.Column("receiving_desk", sa.String(), nullable=True))
    op.execute("UPDATE dossiers SET receiving_desk = lead_agency WHERE receiving_desk IS NULL")
    op.create_index(
        "ix_dossiers_receiving_desk_received_at", "dossiers", ["receiving_desk", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_receiving_desk_received_at", table_name="dossiers")
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.drop_column("receiving_desk")
