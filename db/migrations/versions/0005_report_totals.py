"""Report totals (issue 4, at scale): the oversight reports read daily sums instead of a year of
rows (`db.report_totals`).

- `consultation_totals` (agency, request day), `closed_dossier_totals` (lead agency, procedure,
  closing day) and `sos_totals` (agency, action, day): what the reports add up over a period.
- `consultations.counted`, `dossiers.counted` and `dossiers.events_counted`: what the totals
  have taken of each row, so that a retried projection never counts a row twice.
- A partial index on the requests of consultations not yet counted (the open ones): the delay
  report's live part.

The totals of the rows already there are computed by revision 0010 (`rebuild_statements`), once
the read model has every column today's statements read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:00:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    with op.batch_alter_table("consultations") as consultations:
        consultations.add_column(
            sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.add_column(
            sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        dossiers.add_column(
            sa.Column("events_counted", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.create_index(
        op.f("ix_consultations_uncounted_requested_at"),
        "consultations",
        ["requested_at"],
        postgresql_where=sa.text("NOT counted"),
        sqlite_where=sa.text("NOT counted"),
    )
    op.create_table(
        "consultation_totals",
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counts(
            "consultations",
            "answered_on_time",
            "answered_late",
            "cancelled",
            "reminders_1",
            "reminders_2",
            "delay_working_days_total",
            "delay_working_days_max",
            "late_without_cause",
        ),
        sa.PrimaryKeyConstraint("agency", "day", name=op.f("pk_consultation_totals")),
    )
    op.create_table(
        "closed_dossier_totals",
        sa.Column("lead_agency", sa.String(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("procedure_name", sa.Text(), nullable=False),
        *_counts(
            "closed",
            "completed",
            "early",
            "on_time",
            "late",
            "stopped",
            "supplemented",
            "returned",
            "withdrawn",
            "abnormal",
            "apologised",
            "without_result",
            "withdrawn_unconfirmed",
        ),
        sa.PrimaryKeyConstraint(
            "lead_agency", "procedure_code", "day", name=op.f("pk_closed_dossier_totals")
        ),
    )
    op.create_table(
        "sos_totals",
        sa.Column("agency", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_counts("accepted", "rejected"),
        sa.PrimaryKeyConstraint("agency", "action", "day", name=op.f("pk_sos_totals")),
    )
    # The rows already there are summed by migration 0010, which recounts every total with the
    # statements the projections use: today's statements need the columns of every later
    # revision (0010's `receiving_desk`), so they cannot run here.


def downgrade() -> None:
    op.drop_table("sos_totals")
    op.drop_table("closed_dossier_totals")
    op.drop_table("consultation_totals")
    op.drop_index(op.f("ix_consultations_uncounted_requested_at"), table_name="consultations")
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.drop_column("events_counted")
        dossiers.drop_column("counted")
    with op.batch_alter_table("consultations") as consultations:
        consultations.drop_column("counted")
