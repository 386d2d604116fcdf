"""The work lists of issue 9 (`db.inbox`): the officers' inbox of open dossiers due first, the
consulted agencies' awaited consultations by deadline, the withdrawals waiting for a head (R6).

- `dossiers.applicant_search`: the applicant's name folded for search (lower case, without
  diacritics: `db.read_model.search_key`), since SQLite's lower() folds ASCII letters only;
  filled here for the dossiers already projected, and by every projection after.
- Partial indexes on what is still open, the small part of a read model that keeps every
  closed dossier: an agency's open dossiers by (due_at, code), the inbox's order and keyset, and
  every agency's for evaluators; an agency's awaited consultations by deadline; the dossiers
  whose withdrawal waits for the head.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:45:00+07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.read_model import search_key

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")
AWAITED = sa.text("status IN ('awaiting', 'overdue')")
PENDING_WITHDRAWAL = sa.text("withdrawal = 'pending_confirmation'")

# (index name, table, columns, condition)
INDEXES = [
    (
        "ix_dossiers_open_lead_agency_due_at",
        "dossiers",
        ["lead_agency", "due_at", "code", "late"],  # `late`: the groups' counts need no row
        OPEN,
    ),
    ("ix_dossiers_open_due_at", "dossiers", ["due_at", "code"], OPEN),
    ("ix_dossiers_pending_withdrawal_lead_agency", "dossiers", ["lead_agency"], PENDING_WITHDRAWAL),
    (
        "ix_consultations_awaited_agency_deadline",
        "consultations",
        ["agency", "deadline", "dossier", "number"],
        AWAITED,
    ),
]

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.add_column(sa.Column("applicant_search", sa.Text(), nullable=True))
    _fill_applicant_search()
    for name, table, columns, condition in INDEXES:
        op.create_index(name, table, columns, postgresql_where=condition, sqlite_where=condition)


def _fill_applicant_search() -> None:
    dossiers = sa.table(
        "dossiers",
        sa.column("code", sa.String()),
        sa.column("applicant", sa.JSON()),
        sa.column("applicant_search", sa.Text()),
    )
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(
            sa.select(dossiers.c.code, dossiers.c.applicant)
            .where(dossiers.c.code > after)
            .order_by(dossiers.c.code)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            dossiers.update()
            .where(dossiers.c.code == sa.bindparam("b_code"))
            .values(applicant_search=sa.bindparam("b_search")),
            [
                {"b_code": code, "b_search": search_key(str((applicant or {}).get("name", "")))}
                for code, applicant in rows
            ],
        )
        after = rows[-1].code


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("dossiers") as dossiers:
        dossiers.drop_column("applicant_search")
