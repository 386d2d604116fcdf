"""A long dossier continues as new and loses nothing: its state, timers, refusals and events go
on in the next run, and a handle without a run id follows it (as the API's do)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.fixtures.temporal import TINY_HISTORY
from tests.workflows.harness import ENV, FIRE, Stack, running_stack, stack_settings
from tests.workflows.scenarios import letter_448
from workflows.starter import WORKFLOW_ID_PREFIX


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    tiny_history_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace="PT1S")
    async with running_stack(tiny_history_env.client, settings) as running:
        yield running


async def test_letter_448_over_several_runs_keeps_the_whole_dossier(stack: Stack) -> None:
    handle = await letter_448(stack, None)  # type: ignore[arg-type]
    final = await handle.result()
    assert final.status == "completed"
    history = await handle.fetch_history()
    first_event = history.events[0].workflow_execution_started_event_attributes
    assert first_event.continued_execution_run_id, "the dossier never continued as new"
    # bounded: a run ends soon after the suggestion, once the handlers and sends in flight finish
    # (on a loaded machine more of them are in flight then: 126 events were seen once in CI)
    assert len(history.events) < TINY_HISTORY * 5

    assert [e.seq for e in final.events] == list(range(1, len(final.events) + 1))
    kinds = [e.kind for e in final.events]
    assert kinds[0] == "received" and kinds[-1] == "handover"
    assert kinds.count("refused") == 3
    assert kinds.count("reminder_1") == 1 and kinds.count("reminder_2") == 1
    by_agency = {c.agency: c for c in final.consultations}
    assert by_agency[FIRE].status == "answered" and by_agency[ENV].status == "answered_late"
    assert [r.level for r in by_agency[ENV].reminders] == [1, 2]
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    assert [n.kind for n in await stack.notices(code) if n.to == ENV] == [
        "consultation_request",
        "reminder_1",
        "reminder_2",
    ]
