"""The names of the people who acted on a dossier (`dossiers.people`, user id → name, as their
tokens gave them), so that the forms of Circular 01/2018 print the officer's name, not a login.
Dossiers projected before keep `{}`: their forms print the user ids, as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 23:30:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.add_column(
            sa.Column(
                "people",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                server_default="{}",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.drop_column("people")
