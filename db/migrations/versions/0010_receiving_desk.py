"""The one-stop desk that received a dossier for its lead agency (issue 10: Decree 118/2025 lets
a dossier be received at any desk of the province): `dossiers.receiving_desk`, the desk's agency
code. Every dossier stored before was received by its lead agency: filled with it here, and by
every projection after (`db.projection`), so lists and reports by desk need no
fallback. Indexed with the receipt time for the desk's lists.

`closed_dossier_totals` gets the desk as part of its key, so the on-time report counts by
receiving desk as well as by lead agency: the rows there are the lead agency's own receipts.
Then every total is recounted from the rows (`db.report_totals.rebuild_statements`), which
revision 0005 used to do for the rows written before it.

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
    with op.batch_alter_table("closed_dossier_totals") as totals:
        totals.add_column(sa.Column("receiving_desk", sa.String(), nullable=True))
    op.execute("UPDATE closed_dossier_totals SET receiving_desk = lead_agency")
    _totals_key(["lead_agency", "receiving_desk", "procedure_code", "day"], nullable=False)
    # Every total recounted from the rows by the statements the projections use (as revision
    # 0005 once did, which now leaves it here).
    from db.report_totals import rebuild_statements

    bind = op.get_bind()
    for statement in rebuild_statements(bind.dialect.name):
        bind.execute(statement)


def downgrade() -> None:
    # A desk's rows fold into their lead agency's before the column goes.
    op.execute(
        "DELETE FROM closed_dossier_totals WHERE receiving_desk <> lead_agency"
    )  # their totals are lost: `db.report_totals.rebuild_report_totals` recounts the rows
    _totals_key(["lead_agency", "procedure_code", "day"], nullable=True)
    with op.batch_alter_table("closed_dossier_totals") as totals:
        totals.drop_column("receiving_desk")
    op.drop_index("ix_dossiers_receiving_desk_received_at", table_name="dossiers")
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.drop_column("receiving_desk")


def _totals_key(columns: list[str], *, nullable: bool) -> None:
    """Make `columns` the primary key of `closed_dossier_totals` (SQLite: by copying the table,
    as Alembic's batch mode does; PostgreSQL: in place), `receiving_desk` nullable or not."""
    name = op.f("pk_closed_dossier_totals")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("closed_dossier_totals", recreate="always") as totals:
            totals.alter_column("receiving_desk", existing_type=sa.String(), nullable=nullable)
            totals.create_primary_key(name, columns)
        return
    op.drop_constraint(name, "closed_dossier_totals", type_="primary")
    op.alter_column(
        "closed_dossier_totals", "receiving_desk", existing_type=sa.String(), nullable=nullable
    )
    op.create_primary_key(name, "closed_dossier_totals", columns)
