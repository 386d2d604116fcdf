"""The `settle_dossier` activity: the one write a change of a dossier needs, its read-model
projection and its notices in one transaction (`db.settlement.write_settlement`). Since v8 the
workflow runs it as a local activity, inside the workflow task that made the change, fenced by
that task's time (`Settlement.fence`: a task lost and done again cannot leave in the read model
what never happened); v6 and v7 runs ran it once that task was complete, runs before v6 as an
unfenced local activity.

A write the database refuses for its data (a NUL in a text on PostgreSQL, a value too long or
out of range, a constraint) would fail the same way on every retry: it fails at once with the
non-retryable `read_model_rejected`, and the workflow records it and goes on (issue 8). Anything
else (the database away, a deadlock) is retried until it lands.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notices import NoticeReceipt, notice_recorded
from db.engine import to_the_end, write_transaction
from db.settlement import SettlementWrite, refused_by_database, write_settlement
from domain.excerpts import clean
from domain.projection import READ_MODEL_REJECTED, Settlement, SettlementOutcome

log = structlog.get_logger(__name__)

# A fenced write inside a workflow task (v8, a local activity) answers within this bound: past
# it, the write goes on in the background and the answer is `late`, and the workflow writes the
# same settlement by an activity after the task (the two land as one: same business keys, same
# fence). The local activity itself never times out: replayed, a local activity timed out by
# the SDK and followed by an activity in the same update fails with a nondeterminism error
# ("Update machine does not handle this event"; the crash harness hit it).
LOCAL_WRITE_BOUND = timedelta(seconds=3)


class SettlementReceipt(BaseModel):
    """What `settle_dossier` wrote. `applied` is False when the read model already held this
    version of the dossier or a newer one (a retry, or a projection overtaken by a later one);
    new events are written all the same. A fenced settlement (v8, a local activity) says what
    it found (`outcome`) and returns what it wrote (`settled`): a local activity's input is not
    in the history, its result is, and `db.rebuild` reads the read model back from it."""

    applied: bool
    notices: list[NoticeReceipt]
    outcome: SettlementOutcome = SettlementOutcome.WRITTEN
    settled: Settlement | None = None


class SettlementActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._late: set[asyncio.Future[SettlementWrite]] = set()  # writes past their bound

    def _outlived(self, work: asyncio.Future[SettlementWrite]) -> None:
        """A write past its bound: held until it ends (not collected meanwhile), and logged."""
        self._late.add(work)
        work.add_done_callback(self._late_write_ended)

    def _late_write_ended(self, work: asyncio.Future[SettlementWrite]) -> None:
        self._late.discard(work)
        failed = None if work.cancelled() else work.exception()
        log.info("late_settlement_ended", failed=repr(failed) if failed else None)

    async def _write(self, settlement: Settlement) -> SettlementWrite:
        async with write_transaction(self._sessions) as session:
            return await write_settlement(session, settlement)

    @activity.defn(name="settle_dossier")
    async def settle_dossier(self, settlement: Settlement) -> SettlementReceipt:
        projection = settlement.projection
        attempt = activity.info().attempt
        try:
            if activity.info().is_local and settlement.fence is not None:
                bounded = await to_the_end(
                    self._write(settlement),
                    within=LOCAL_WRITE_BOUND.total_seconds(),
                    past=self._outlived,
                )
                if bounded is None:
                    log.warning(
                        "settlement_late",
                        dossier=projection.document.code if projection else None,
                        bound_s=LOCAL_WRITE_BOUND.total_seconds(),
                    )
                    return SettlementReceipt(
                        applied=False, notices=[], outcome=SettlementOutcome.LATE
                    )
                written = bounded
            else:
                written = await to_the_end(self._write(settlement))
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
        if written.outcome is not SettlementOutcome.WRITTEN:
            log.warning(
                "settlement_not_written",
                dossier=projection.document.code if projection else settlement.notices[0].dossier,
                outcome=written.outcome.value,
                confirmed=settlement.confirmed,
                attempt=attempt,
            )
            return SettlementReceipt(applied=False, notices=[], outcome=written.outcome)
        if projection is not None:
            log.info(
                "dossier_projected",
                dossier=projection.document.code,
                version=projection.version,
                since=projection.since,
                events=len(projection.document.events),
                status=projection.document.status.value,
                applied=written.applied,
                reset=settlement.reset,
                attempt=attempt,
            )
        return SettlementReceipt(
            applied=written.applied,
            notices=[notice_recorded(n, i, c) for n, i, c in written.notices],
            settled=settlement if settlement.fence is not None else None,
        )
