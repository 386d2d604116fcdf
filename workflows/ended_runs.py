"""EndedRunsSweep: a short workflow, started every few minutes by a Temporal Schedule
(`workflows.temporal_setup.ensure_sweep_schedule`), that closes the dossiers whose workflow was
terminated, failed or timed out (R5; `activities.ended_runs`). Ops staff see each sweep, and
what it closed, in the Web UI under the schedule `motcua-ended-runs-sweep`."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.ended_runs import SweepReport


SWEEP_WORKFLOW = "EndedRunsSweep"


@workflow.defn(name=SWEEP_WORKFLOW)
class EndedRunsSweep:
    @workflow.run
    async def run(self) -> SweepReport:
        return await workflow.execute_activity(
            "close_dossiers_of_ended_runs",
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5),
            result_type=SweepReport,
        )
