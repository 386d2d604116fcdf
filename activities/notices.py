"""The notice outbox activity: a notice composed by the workflow is written once, by its key.

Activities run at least once: a worker may write the row and die before Temporal hears of it,
and the retry comes with the same notice. Its business key (`Notice.key`, unique in the table)
makes that retry harmless, and survives continue-as-new and resets, which run and activity ids
do not (TEMPORAL.md §2; R3: exactly one reminder of each level, R12: every notice is kept).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from db.engine import dialect_insert
from db.models import NoticeRecord
from domain.notices import Notice

log = structlog.get_logger(__name__)


class NoticeReceipt(BaseModel):
    """The outbox row `id` holding notice `key`; `created` is False when the key was already
    there (an earlier attempt of this activity, or a duplicate)."""

    id: int
    key: str
    created: bool


class NoticeActivities:
    """Activities on the notice outbox, sharing the worker's database sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="record_notice")
    async def record_notice(self, notice: Notice) -> NoticeReceipt:
        """Write `notice` to the outbox unless its key is there already; say which it was."""
        async with self._sessions() as session, session.begin():
            notice_id, created = await write_notice(session, notice)
        log.info(
            "notice_recorded",
            dossier=notice.dossier,
            kind=notice.kind.value,
            to=notice.to,
            created=created,
            id=notice_id,
            key=notice.key,
            attempt=activity.info().attempt,
        )
        return NoticeReceipt(id=notice_id, key=notice.key, created=created)


async def write_notice(session: AsyncSession, notice: Notice) -> tuple[int, bool]:
    """Write `notice` in the session's transaction unless its key is there already: its id,
    and whether this call wrote it.

    `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id` returns a row only to the call that
    wrote it. A concurrent writer of the same key cannot slip in between: PostgreSQL makes the
    second insert wait for the first one's commit, SQLite lets one writer at a time; the loser
    then reads the winner's row in the same transaction.
    """
    connection = await session.connection()
    statement = _insert_notice(connection.dialect.name)
    notice_id: int | None = (
        await connection.execute(statement, notice.model_dump())
    ).scalar_one_or_none()
    if notice_id is not None:
        return notice_id, True
    existing = (
        await session.exec(select(NoticeRecord).where(NoticeRecord.key == notice.key))
    ).one()
    assert existing.id is not None
    if Notice.model_validate(existing, from_attributes=True) != notice:
        # The same key for other content means two notices were given one identity: the first
        # is kept, and the second would be lost without this trace.
        log.warning("notice_key_reused", key=notice.key, dossier=notice.dossier, id=existing.id)
    return existing.id, False


@cache
def _insert_notice(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`, built and compiled once."""
    notices = NoticeRecord.__table__  # type: ignore[attr-defined]
    return (
        dialect_insert(dialect)(notices)
        .on_conflict_do_nothing(index_elements=[notices.c.key])
        .returning(notices.c.id)
    )
