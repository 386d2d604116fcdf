"""The oversight reports (issue 4): the working-day calendar as a table, and the indexes the
report queries read by.

`calendar_days` holds one row per local day with its running count of working days, so that a
delay in working days (R8, R11) is a subtraction in SQL. Its rows are not written here: the
calendar is data the province edits, so `python -m db.migrate` writes them after every upgrade
(`db.calendar_days.sync_calendar_days`), as it does the catalogue.

Three single-column indexes of 0002 give way to composite ones that lead with the same column,
so every query they served is still served, and each write maintains one index, not two:
consultations by (agency, requested_at), dossiers by (lead_agency, received_at), events by
(kind, at). Added: consultations by requested_at (a period over every agency) and dossiers by
closed_at (the reports on closed dossiers).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:30:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index name, columns): replaced by this revision, and added by it.
_REPLACED: list[tuple[str, str, list[str]]] = [
    ("consultations", "ix_consultations_agency", ["agency"]),
    ("dossiers", "ix_dossiers_lead_agency", ["lead_agency"]),
    ("events", "ix_events_kind", ["kind"]),
]
_ADDED: list[tuple[str, str, list[str]]] = [
    ("consultations", "ix_consultations_agency_requested_at", ["agency", "requested_at"]),
    ("consultations", "ix_consultations_requested_at", ["requested_at"]),
    ("dossiers", "ix_dossiers_lead_agency_received_at", ["lead_agency", "received_at"]),
    ("dossiers", "ix_dossiers_closed_at", ["closed_at"]),
    ("events", "ix_events_kind_at", ["kind", "at"]),
]


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("working_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    for table, name, columns in _ADDED:
        op.create_index(op.f(name), table, columns)
    for table, name, _columns in _REPLACED:
        op.drop_index(op.f(name), table_name=table)


def downgrade() -> None:
    for table, name, columns in _REPLACED:
        op.create_index(op.f(name), table, columns)
    for table, name, _columns in reversed(_ADDED):
        op.drop_index(op.f(name), table_name=table)
    op.drop_table("calendar_days")
