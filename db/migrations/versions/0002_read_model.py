"""The read model (issue 3): the catalogue, dossiers with their consultations and events as the
workflows project them, dossier-code counters and idempotency keys.

The catalogue's rows are not seeded here: the province edits `data/catalogue.toml`, and
`python -m db.migrate` applies the file after every upgrade (`db.catalogue.seed_catalogue`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00+07:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # JSON text on SQLite, JSONB on PostgreSQL (searchable with @> and ->>).
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    # timestamptz on PostgreSQL; UTC text without offset on SQLite (db.types.UTCDateTime).
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# (table, index name, columns), in the order created; dropped in reverse.
_INDEXES: list[tuple[str, str, list[str]]] = [
    ("dossiers", "ix_dossiers_lead_agency", ["lead_agency"]),
    ("dossiers", "ix_dossiers_applicant_phone", ["applicant_phone"]),
    ("dossiers", "ix_dossiers_status", ["status"]),
    ("dossiers", "ix_dossiers_received_at_code", ["received_at", "code"]),
    ("consultations", "ix_consultations_agency", ["agency"]),
    ("events", "ix_events_at", ["at"]),
    ("events", "ix_events_kind", ["kind"]),
]


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("unit_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_agencies_unit_id")),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lead_agency", sa.String(), nullable=False),
        sa.Column("processing_days", sa.Integer(), nullable=False),
        sa.Column("max_consultation_days", sa.Integer(), nullable=False),
        sa.Column("required_documents", _json(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_procedures")),
        sa.ForeignKeyConstraint(
            ["lead_agency"],
            ["agencies.code"],
            name=op.f("fk_procedures_lead_agency_agencies"),
        ),
    )
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("procedure_name", sa.Text(), nullable=False),
        sa.Column("lead_agency", sa.String(), nullable=False),
        sa.Column("applicant", _json(), nullable=False),
        sa.Column("applicant_phone", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("national_status", sa.Integer(), nullable=False),
        _time("received_at"),
        _time("due_at", nullable=True),
        _time("completed_at", nullable=True),
        _time("closed_at", nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("withdrawal", sa.String(), nullable=True),
        sa.Column("abnormal_close", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dossiers")),
    )
    op.create_table(
        "consultations",
        sa.Column("dossier", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _time("deadline"),
        sa.Column("status", sa.String(), nullable=False),
        _time("requested_at"),
        _time("replied_at", nullable=True),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("reminders", _json(), nullable=False),
        _time("reminder_1_at", nullable=True),
        _time("reminder_2_at", nullable=True),
        sa.PrimaryKeyConstraint("dossier", "number", name=op.f("pk_consultations")),
        sa.ForeignKeyConstraint(
            ["dossier"], ["dossiers.code"], name=op.f("fk_consultations_dossier_dossiers")
        ),
    )
    op.create_table(
        "events",
        sa.Column("dossier", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("dossier", "seq", name=op.f("pk_events")),
        sa.ForeignKeyConstraint(
            ["dossier"], ["dossiers.code"], name=op.f("fk_events_dossier_dossiers")
        ),
    )
    op.create_table(
        "dossier_code_counters",
        sa.Column("unit_id", sa.String(), nullable=False),
        sa.Column("day", sa.String(length=6), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day", name=op.f("pk_dossier_code_counters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("dossier", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", "user_id", name=op.f("pk_idempotency_keys")),
    )
    for table, name, columns in _INDEXES:
        op.create_index(op.f(name), table, columns)


def downgrade() -> None:
    for table, name, _columns in reversed(_INDEXES):
        op.drop_index(op.f(name), table_name=table)
    for table in (
        "idempotency_keys",
        "dossier_code_counters",
        "events",
        "consultations",
        "dossiers",
        "procedures",
        "agencies",
    ):
        op.drop_table(table)
