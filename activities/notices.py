"""The notice outbox activity: a notice composed by the workflow is written once, by its key
(`db.notices.write_notice`). Runs started before the read model record their notices so; later
ones write them with their projection (`activities.settlement`)."""

from __future__ import annotations

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from db.notices import write_notice
from domain.notices import Notice

log = structlog.get_logger(__name__)


class NoticeReceipt(BaseModel):
    """The outbox row `id` holding notice `key`; `created` is False when the key was already
    there (an earlier attempt of this activity, or a duplicate)."""

    id: int
    key: str
    created: bool


def notice_recorded(notice: Notice, notice_id: int, created: bool) -> NoticeReceipt:
    """The receipt of `notice` written (or found) as outbox row `notice_id`, logged."""
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


class NoticeActivities:
    """Activities on the notice outbox, sharing the worker's database sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="record_notice")
    async def record_notice(self, notice: Notice) -> NoticeReceipt:
        """Write `notice` to the outbox unless its key is there already; say which it was."""
        async with self._sessions() as session, session.begin():
            notice_id, created = await write_notice(session, notice)
        return notice_recorded(notice, notice_id, created)
