"""Tables of motcua's database, all in the one `SQLModel.metadata` that Alembic compares against.

Every table of the service belongs in this module (the read model of dossiers, consultations,
events, agencies and procedures joins the notice outbox here), so that importing it registers the
complete schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Text, func
from sqlmodel import Field, SQLModel

from db.types import JSONList, UTCDateTime

# Named constraints and indexes: Alembic can only alter or drop what has a name, and SQLite's
# batch mode must recreate them under the same name. Set before any table is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class NoticeRecord(SQLModel, table=True):
    """A notice written to the outbox: one row per business `key`, whatever the retries (R3, R12).

    Fields are those of `domain.notices.Notice`, plus the row's `id` (the order notices were
    recorded in, and the pagination cursor) and `recorded_at` (the database's clock).
    """

    __tablename__ = "notices"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str = Field(index=True)
    dossier: str = Field(index=True)
    # `TO` is reserved in SQL: the column is `recipient`, the attribute and API field `to`.
    to: str = Field(sa_column=Column("recipient", String, key="to", nullable=False, index=True))
    cc: list[str] = Field(default_factory=list, sa_type=JSONList)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    recorded_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        sa_column_kwargs={"server_default": func.current_timestamp()},
        nullable=False,
    )
