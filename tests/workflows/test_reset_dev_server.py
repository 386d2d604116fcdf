"""Bringing back a dossier the code before issue 8 wedged, as the README tells ops staff: three
huge refused requests, recorded whole by the old code, made the state too big to continue as new
(PAYLOADS_TOO_LARGE on every workflow task). Deploying this code alone does not help (the replay
rebuilds the same state); a reset to just before the first huge request does. The updates after
that point are not reapplied (together they are too big for the server's transaction too; their
callers got no answer, so nothing they asked for had happened); signals would be."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)

import worker
from domain.commands import Actor, SosAction, SosRequest
from domain.limits import AS_RECORDED
from tests.fixtures.temporal import binary
from tests.workflows.harness import ENV, FIRE, officer, refusal_of, running_stack, stack_settings
from tests.workflows.steps import Handle, Step, consult, now, reply
from tests.workflows.unbounded_workflow import UnboundedDossierWorkflow, unlimited_data_converter
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

HUGE = 1_500_000


async def wedged(step: asyncio.Future[object] | object, seconds: float = 5) -> bool:
    try:
        await asyncio.wait_for(step, seconds)  # type: ignore[arg-type]
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return True
    return False


def huge_stop(size: int, n: int, by: Actor | None = None) -> Step:
    """An SOS stop with a huge reason, sent past the client's limits (as any client could)."""
    body = {"actor": by or officer(), "action": SosAction.STOP, "reason": "A" * size + str(n)}
    command = SosRequest.model_validate(body, context=AS_RECORDED)
    return lambda h: h.execute_update(DossierWorkflow.sos, command)


async def reset_point(handle: Handle) -> int:
    """The WorkflowTaskCompleted event before the first huge update was accepted."""
    completed = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed = event.event_id
        accepted = event.workflow_execution_update_accepted_event_attributes
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED and (
            accepted.accepted_request.input.args.ByteSize() > HUGE
        ):
            return completed
    raise AssertionError("no huge update in the history")


async def test_readme_reset_brings_back_a_dossier_the_old_code_wedged(
    dev_client: Client, task_queue: str, tmp_path: Path
) -> None:
    settings = await stack_settings(tmp_path, task_queue)
    # The old code, and its converter, with no limits: its worker took what any client sent.
    old_code = (UnboundedDossierWorkflow, *worker.WORKFLOWS[1:])
    old_client = await Client.connect(
        dev_client.service_client.config.target_host, data_converter=unlimited_data_converter
    )
    async with running_stack(old_client, settings, old_code) as old:
        handle = await old.start(now())
        old.started.clear()  # keep it running past this block
        await consult(FIRE)(handle)
        for n in range(3):
            await refusal_of(huge_stop(HUGE, n)(handle))
        assert await wedged(reply(FIRE)(handle))
    handle = dev_client.get_workflow_handle_for(DossierWorkflow.run, handle.id)

    async with running_stack(dev_client, settings) as fixed:
        fixed.started.append(handle)
        assert await wedged(reply(FIRE)(handle))  # the new code replays into the same state
        process = await asyncio.create_subprocess_exec(
            binary("temporal"),
            "workflow",
            "reset",
            "--workflow-id",
            handle.id,
            "--event-id",
            str(await reset_point(handle)),
            "--reason",
            "issue 8",
            "--reapply-exclude",
            "Update",
            "--address",
            dev_client.service_client.config.target_host,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, (out, err)
        doc = await asyncio.wait_for(reply(FIRE)(handle), 30)
        assert doc.consultations[0].status == "answered"
        assert len(doc.model_dump_json()) < 100_000
        # and a huge request is now turned away as the worker reads it, leaving no trace
        with pytest.raises(WorkflowUpdateFailedError):
            await huge_stop(HUGE, 0, by=officer(ENV))(handle)
        after = await handle.query(DossierWorkflow.document)
        assert after.events[-1].kind != "refused" and len(after.model_dump_json()) < 100_000
