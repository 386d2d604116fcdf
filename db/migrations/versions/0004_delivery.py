"""Notices that reach people (issue 4): how each notice was delivered, to each of its
recipients; where each agency's notices go; the national portal's status updates.

- `notices` gains its delivery summary (`delivery_status`, `delivery_channel`,
  `delivery_attempts`, `delivered_at`, `delivery_error`). Notices recorded before this revision
  are left `pending`: nothing sent them, and nothing will unless their delivery is asked for.
- `notice_deliveries`: one row per notice and recipient, with the delivery id the receiver
  de-duplicates on.
- `agencies` gains `email` and `webhook_url` (filled from `data/catalogue.toml` by
  `python -m db.migrate`, like every catalogue value).
- `portal_updates`: each change of a dossier's national status, by (dossier, seq), and its push.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00+07:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = True) -> sa.Column[Any]:
    # timestamptz on PostgreSQL; UTC text without offset on SQLite (db.types.UTCDateTime).
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Batch mode: plain ALTERs on PostgreSQL; on SQLite, ADD COLUMN where it can (it can here).
    with op.batch_alter_table("notices") as notices:
        notices.add_column(
            sa.Column(
                "delivery_status",
                sa.String(),
                server_default=sa.text("'pending'"),
                nullable=False,
            )
        )
        notices.add_column(sa.Column("delivery_channel", sa.String(), nullable=True))
        notices.add_column(
            sa.Column(
                "delivery_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        notices.add_column(_time("delivered_at"))
        notices.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        notices.create_index(op.f("ix_notices_delivery_status"), ["delivery_status"])
    with op.batch_alter_table("agencies") as agencies:
        agencies.add_column(sa.Column("email", sa.String(), nullable=True))
        agencies.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
    op.create_table(
        "notice_deliveries",
        sa.Column("notice_key", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("delivered_at"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("notice_key", "recipient", name=op.f("pk_notice_deliveries")),
        sa.ForeignKeyConstraint(
            ["notice_key"], ["notices.key"], name=op.f("fk_notice_deliveries_notice_key_notices")
        ),
    )
    op.create_table(
        "portal_updates",
        sa.Column("dossier", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        _time("at", nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("pushed_at"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("dossier", "seq", name=op.f("pk_portal_updates")),
    )
    op.create_index(op.f("ix_portal_updates_status"), "portal_updates", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_updates_status"), table_name="portal_updates")
    op.drop_table("portal_updates")
    op.drop_table("notice_deliveries")
    with op.batch_alter_table("agencies") as agencies:
        agencies.drop_column("webhook_url")
        agencies.drop_column("email")
    with op.batch_alter_table("notices") as notices:
        notices.drop_index(op.f("ix_notices_delivery_status"))
        for column in (
            "delivery_error",
            "delivered_at",
            "delivery_attempts",
            "delivery_channel",
            "delivery_status",
        ):
            notices.drop_column(column)
