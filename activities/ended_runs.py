"""The sweep of ended runs (R5): dossiers whose workflow ended without closing them.

A workflow cancelled by an operator records its own `abnormal_close`; one terminated (or failed,
or timed out) runs no code of its own, so nothing would record it and the reports would never
count it: the dossier would stay open in the read model, neither done nor closed. Temporal's
visibility knows it ended; this activity reads the dossier runs that ended so in the last
`lookback` and closes each dossier the read model still holds open, as `terminated`, `failed`,
`timed_out` or `canceled` at the run's close time (`db.read_model.record_abnormal_close`, which
is idempotent: a second sweep finds them closed and records nothing). Each sweep then records
when it finished (`db.ops_figures.record_sweep_run`), which the metrics expose.

Runs that continued as new are not ended: their dossier lives on in the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus

from db.ops_figures import ENDED_RUNS_SWEEP, record_sweep_run
from db.read_model import record_abnormal_close
from workflows.starter import dossier_code, dossier_runs, visibility_time

log = structlog.get_logger(__name__)

# How each way of ending outside the rules is named in the dossier's `abnormal_close`.
ENDED_OUTSIDE_THE_RULES = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CANCELED: "canceled",
}
_VISIBILITY_NAMES = {
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
    WorkflowExecutionStatus.CANCELED: "Canceled",
}


class SweepReport(BaseModel):
    """What one sweep found: the ended runs listed, and the dossiers it closed."""

    listed: int
    closed: list[str]


class EndedRunsActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        task_queue: str,
        lookback: timedelta = timedelta(days=30),
    ) -> None:
        self._sessions = sessions
        self._task_queue = task_queue
        self._lookback = lookback

    def query(self, now: datetime) -> str:
        """The visibility query of the dossier runs of this task queue that ended outside the
        rules since `now - lookback`."""
        statuses = ", ".join(f"'{name}'" for name in _VISIBILITY_NAMES.values())
        since = visibility_time(now - self._lookback)
        return (
            f"{dossier_runs(self._task_queue)} "
            f"AND ExecutionStatus IN ({statuses}) AND CloseTime > '{since}'"
        )

    @activity.defn(name="close_dossiers_of_ended_runs")
    async def close_dossiers_of_ended_runs(self) -> SweepReport:
        listed, closed = 0, []
        async for run in activity.client().list_workflows(self.query(datetime.now(UTC))):
            listed += 1
            code = dossier_code(run.id)
            if run.status not in ENDED_OUTSIDE_THE_RULES or run.close_time is None or not code:
                continue  # visibility lags: listed as ended, described as running
            async with self._sessions() as session:
                how = ENDED_OUTSIDE_THE_RULES[run.status]
                if await record_abnormal_close(session, code, run.close_time, how):
                    closed.append(code)
                    log.warning("abnormal_close_recorded", dossier=code, how=how, run=run.run_id)
            activity.heartbeat(listed)
        # for the metrics: a sweep that stopped running must be seen (alert SweepNotRun)
        async with self._sessions() as session:
            await record_sweep_run(
                session, ENDED_RUNS_SWEEP, datetime.now(UTC), listed, len(closed)
            )
        return SweepReport(listed=listed, closed=closed)
