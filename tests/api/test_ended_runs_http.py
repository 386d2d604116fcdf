"""R5 for workflows ended from outside: a dossier whose workflow an operator terminates runs no
code of its own, so the sweep of ended runs (`EndedRunsSweep`, the schedule the worker ensures)
closes it as `terminated` in the read model, where the API and the SOS audit see it. On the
session's dev server, both databases, over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.testing import WorkflowEnvironment

from activities.ended_runs import SweepReport
from domain.localtime import local_date
from tests.api.http_helpers import receive
from tests.fixtures.api import Api
from workflows.ended_runs import EndedRunsSweep
from workflows.starter import workflow_id
from workflows.temporal_setup import SWEEP_SCHEDULE_ID, ensure_sweep_schedule


async def sweep(env: WorkflowEnvironment, api: Api, run: str) -> SweepReport:
    return await env.client.execute_workflow(
        EndedRunsSweep.run, id=f"sweep-{run}", task_queue=api.settings.task_queue
    )


async def test_r5_a_terminated_dossier_is_closed_abnormally_by_the_sweep_once(
    api: Api, dev_env: WorkflowEnvironment, unique: str
) -> None:
    dossier = await receive(api)
    code = dossier["code"]
    left_open = await receive(api)
    handle = dev_env.client.get_workflow_handle(workflow_id(code))
    await handle.terminate("operator: wrong procedure")
    ended_at = (await handle.describe()).close_time
    assert ended_at is not None

    # Visibility lags behind the termination: sweep until it lists the run.
    for attempt in range(50):
        report = await sweep(dev_env, api, f"{unique}-{attempt}")
        if report.closed:
            break
        await asyncio.sleep(0.2)
    assert report.closed == [code]

    found = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert found["closed_at"] is not None
    assert datetime.fromisoformat(found["closed_at"]) == ended_at
    (last,) = [e for e in found["events"] if e["kind"] == "abnormal_close"]
    assert last["detail"] == {"how": "terminated", "status": "processing"}
    still = (await api.get(f"/api/v1/dossiers/{left_open['code']}")).json()
    assert still["closed_at"] is None  # its workflow runs: not the sweep's business

    today = local_date(datetime.now(UTC)).isoformat()
    audit = await api.get(
        "/api/v1/reports/sos-audit", "vpubnd.inspector", **{"from": today, "to": today}
    )
    assert audit.status_code == 200, audit.text
    assert audit.json()["abnormal_closes"] == 1

    again = await sweep(dev_env, api, f"{unique}-again")
    assert again.listed >= 1 and again.closed == []  # recorded once
    audit = await api.get(
        "/api/v1/reports/sos-audit", "vpubnd.inspector", **{"from": today, "to": today}
    )
    assert audit.json()["abnormal_closes"] == 1


async def test_the_sweep_schedule_is_created_once(dev_env: WorkflowEnvironment) -> None:
    queue = f"sweep-schedule-{datetime.now(UTC).timestamp()}"
    try:
        assert await ensure_sweep_schedule(dev_env.client, queue) is True
        assert await ensure_sweep_schedule(dev_env.client, queue) is False
        described = await dev_env.client.get_schedule_handle(SWEEP_SCHEDULE_ID).describe()
        assert described.schedule.action.workflow == "EndedRunsSweep"  # type: ignore[union-attr]
    finally:
        await dev_env.client.get_schedule_handle(SWEEP_SCHEDULE_ID).delete()
