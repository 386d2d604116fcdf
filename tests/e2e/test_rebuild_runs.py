"""Issue 11, recovery over several runs: a dossier that continued as new is rebuilt from all its
runs; one whose early runs the retention deleted, from the state its last run carried; one
terminated from outside, closed as the sweep of ended runs closes it (R5). On the dev server that
suggests continue-as-new every few events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.engine import create_engine, session_factory
from db.migrate import prepare
from db.read_model import record_abnormal_close
from db.rebuild import dossier_runs_query, read_runs, rebuild, write_runs
from settings import Settings
from tests.api.http_helpers import eventually
from tests.e2e.test_rebuild_read_model import differences, snapshot
from tests.workflows.harness import Stack, running_stack, stack_settings
from tests.workflows.scenarios import letter_448
from workflows.starter import WORKFLOW_ID_PREFIX

# The tables of one dossier's own record (the rest: notices, totals).
DOSSIER_TABLES = ("dossiers", "consultations", "events")


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    tiny_history_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace="PT1S")
    async with running_stack(tiny_history_env.client, settings) as running:
        yield running


async def fresh(tmp_path: Path, name: str, stack: Stack) -> Settings:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / name / 'motcua.db'}",
        task_queue=stack.settings.task_queue,
    )
    await prepare(settings.database)
    return settings


async def test_issue_11_rebuild_reads_every_run_and_closes_terminated_dossiers(
    stack: Stack, tmp_path: Path
) -> None:
    continued = await letter_448(stack, None)  # type: ignore[arg-type]
    assert (await continued.result()).status == "completed"
    terminated = await stack.start(datetime.now(UTC))
    # Its first push to the portal done and recorded: one cut short by the termination would be
    # in the read model and never in the history (db.rebuild: pending).
    await eventually(
        terminated.describe,
        lambda d: not d.raw_description.pending_activities,
        within=30,
        what="no activity in flight",
    )
    await terminated.terminate("opened by mistake")
    ended = await terminated.describe()
    assert ended.close_time is not None
    engine = create_engine(stack.settings.database)
    try:
        # what the sweep of ended runs does with it
        async with session_factory(engine)() as session:
            code = terminated.id.removeprefix(WORKFLOW_ID_PREFIX)
            assert await record_abnormal_close(session, code, ended.close_time, "terminated")
    finally:
        await engine.dispose()

    async def deliveries_over() -> list[str]:
        return [
            n.delivery_status
            for n in await stack.notices(continued.id.removeprefix(WORKFLOW_ID_PREFIX))
        ]

    await eventually(
        deliveries_over,
        lambda s: bool(s) and "pending" not in s and "failed_attempt" not in s,
        within=30,
        what="every notice delivered",
    )
    before = await snapshot(stack.settings.database)

    rebuilt = await fresh(tmp_path, "rebuilt", stack)
    report = await rebuild(rebuilt, client=stack.client)

    assert (report.rebuilt, report.abnormal_closes, report.failed) == (2, 1, [])
    # Every run of both: the terminated dossier's one, and each the continued dossier had (how
    # many depends on how the server batched its events into tasks, so they are counted).
    every_run = f"WorkflowId = '{continued.id}'"
    runs_kept = await eventually(
        lambda: stack.client.count_workflows(every_run),
        lambda c: c.count >= 2,
        within=10,
        what="the dossier continued as new",
    )
    assert report.runs_read == runs_kept.count + 1
    assert differences(before, await snapshot(rebuilt.database)) == []

    # The retention deleted every run but the last: what that run carried is the whole dossier.
    query = dossier_runs_query(stack.settings.task_queue) + f" AND WorkflowId = '{continued.id}'"
    (last,) = [execution async for execution in stack.client.list_workflows(query)]
    assert last.status == WorkflowExecutionStatus.COMPLETED
    runs, missing = await read_runs(stack.client, last)
    assert (len(runs), missing) == (report.runs_read - 1, 0)
    assert runs[-1].start.carried is not None
    partial = await fresh(tmp_path, "partial", stack)
    engine = create_engine(partial.database)
    try:
        async with session_factory(engine)() as session, session.begin():
            await write_runs(session, runs[-1:], None)
    finally:
        await engine.dispose()
    after = await snapshot(partial.database)
    own = {table: [r for r in before[table] if continued.id.endswith(r.get("code") or r["dossier"])]
           for table in DOSSIER_TABLES}  # fmt: skip
    assert differences(own, after) == []
