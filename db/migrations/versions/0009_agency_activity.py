"""Agencies that no longer exist, and the communes' one-stop desks (issue 10): `active` (default
true, so every agency already stored stays active), `inactive_since` (ISO date), `inactive_by`
(the deciding document) and `one_stop_desk`. The seed then marks the district committees
abolished on 1 July 2025 inactive (data/catalogue.toml); no dossier, report or form row changes:
they name agencies by code, and the rows stay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:00:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as agencies:
        agencies.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        agencies.add_column(sa.Column("inactive_since", sa.String(), nullable=True))
        agencies.add_column(sa.Column("inactive_by", sa.Text(), nullable=True))
        agencies.add_column(sa.Column("one_stop_desk", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agencies") as agencies:
        agencies.drop_column("one_stop_desk")
        agencies.drop_column("inactive_by")
        agencies.drop_column("inactive_since")
        agencies.drop_column("active")
