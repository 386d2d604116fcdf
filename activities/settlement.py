"""The one write a change of a dossier needs: its read-model projection and its notices, in one
transaction, so the timeline and the outbox never disagree. The workflow runs it as a local
activity, in the same workflow task as the change: no extra round trip through the server.

Exactly once as the outside sees it: a local activity may run again after a crash (its result is
recorded only with the workflow task), and every row it writes is keyed by its business key
(events by dossier and seq, the dossier by version, notices by key), so a second run writes
nothing new.
"""

from __future__ import annotations

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.notices import NoticeReceipt, write_notice
from activities.projection import write_projection
from domain.projection import Settlement

log = structlog.get_logger(__name__)


class SettlementReceipt(BaseModel):
    """What `settle_dossier` wrote. `applied` is False when the read model already held this
    version of the dossier or a newer one (a retry, or a projection overtaken by a later one);
    new events are written all the same."""

    applied: bool
    notices: list[NoticeReceipt]


class SettlementActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="settle_dossier")
    async def settle_dossier(self, settlement: Settlement) -> SettlementReceipt:
        projection = settlement.projection
        async with self._sessions() as session, session.begin():
            applied = await write_projection(session, projection) if projection else False
            written = [(n, *await write_notice(session, n)) for n in settlement.notices]
        attempt = activity.info().attempt
        if projection is not None:
            log.info(
                "dossier_projected",
                dossier=projection.document.code,
                version=projection.version,
                since=projection.since,
                events=len(projection.document.events),
                status=projection.document.status.value,
                applied=applied,
                attempt=attempt,
            )
        for notice, notice_id, created in written:
            log.info(
                "notice_recorded",
                dossier=notice.dossier,
                kind=notice.kind.value,
                to=notice.to,
                created=created,
                id=notice_id,
                key=notice.key,
                attempt=attempt,
            )
        return SettlementReceipt(
            applied=applied,
            notices=[NoticeReceipt(id=i, key=n.key, created=c) for n, i, c in written],
        )
