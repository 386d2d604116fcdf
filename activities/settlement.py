"""The one write a change of a dossier needs: its read-model projection and its notices, in one
transaction, so the timeline and the outbox never disagree. The workflow runs it as an
activity once the workflow task that made the change is complete, so it writes only what the
history holds (runs from before v6 ran it as a local activity, inside that task).

Exactly once as the outside sees it: an activity may run again after a crash, and every row it
writes is keyed by its business key (events by dossier and seq, the dossier by version, notices
by key), so a second run writes nothing new.

A write the database refuses for its data (a NUL in a text on PostgreSQL, a value too long or
out of range, a constraint) would fail the same way on every retry: it fails at once with the
non-retryable `read_model_rejected`, and the workflow records it and goes on (issue 8). Anything
else (the database away, a deadlock) is retried until it lands.
"""

from __future__ import annotations

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notices import NoticeReceipt, write_notice
from activities.projection import write_projection
from domain.excerpts import clean
from domain.notices import Notice
from domain.projection import READ_MODEL_REJECTED, Settlement

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
        attempt = activity.info().attempt
        try:
            async with self._sessions() as session, session.begin():
                applied, written = await write_settlement(session, settlement)
        except Exception as failed:
            if not refused_by_database(failed):
                raise  # retried with backoff until the database is back
            # the database's answer, not the statement and its values (personal data)
            error = clean(str(failed).split("\n", 1)[0], 500)
            log.error(
                "read_model_rejected",
                dossier=projection.document.code if projection else None,
                version=projection.version if projection else None,
                since=projection.since if projection else None,
                notices=[n.key for n in settlement.notices],
                error=error,
                attempt=attempt,
            )
            raise ApplicationError(error, type=READ_MODEL_REJECTED, non_retryable=True) from None
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


async def write_settlement(
    session: AsyncSession, settlement: Settlement
) -> tuple[bool, list[tuple[Notice, int, bool]]]:
    """Write `settlement` in the session's transaction: whether the dossier row was written
    (`write_projection`), and each notice with its outbox id and whether this call wrote it.
    The activity's write, and the rebuild's (`db.rebuild`) of the same input from history."""
    projection = settlement.projection
    applied = await write_projection(session, projection) if projection else False
    return applied, [(n, *await write_notice(session, n)) for n in settlement.notices]


# SQLSTATE classes of a refusal of the data itself: data exception (an untranslatable character,
# a string too long, a number out of range), integrity constraint, program limit (a row too big).
_DATA_REFUSED = ("22", "23", "54")


def refused_by_database(failed: BaseException) -> bool:
    """Whether `failed` is the database refusing the data (no retry cures it), not the
    database being away or busy. Reads the whole chain: SQLAlchemy's error, the driver's, and
    what the driver could not even encode (a lone surrogate, an integer beyond 64 bits)."""
    pending: list[BaseException | None] = [failed]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, DataError | IntegrityError | UnicodeError | OverflowError):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and state[:2] in _DATA_REFUSED:
            return True
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return False
