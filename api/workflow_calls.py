"""Calling dossier workflows from HTTP handlers, and what their failures mean in HTTP.

An update's failure carries the refusal of `domain.rules` (code, status, messages, facts) as its
detail, so the answer is a translation, never a second decision. The workflow service out of
reach, or no worker taking the command in time, is a 503 that changes nothing; a command taken
whose outcome is late is a 503 of its own (`outcome_pending`); a limit of the workflow service
(such as the in-flight updates of one workflow) is a 429 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import Header, Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Input, Meta, WaitPolicy
from temporalio.api.update.v1 import Request as UpdateRequest
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem
from domain.commands import Command
from settings import Settings
from telemetry.tracing import update_sent

T = TypeVar("T")

# A command validated in a workflow task is taken (durably accepted) when that task completes:
# at the latest at the task's timeout (Temporal's default, which dossiers keep), else the task
# fails and the command is validated again in the next one.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
# The skew tolerated between this host's clock and the Temporal server's (whose time the
# validator reads).
CLOCK_MARGIN = timedelta(seconds=5)
_ACCEPTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
_RESEND_AFTER_S = 0.5
# What a 429 asks the caller to wait: in-flight updates of a dossier finish in milliseconds.
BUSY_RETRY_AFTER_S = 1

_UNREACHABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
}


class WorkflowGone(Exception):
    """The dossier's workflow does not run (never started, or already closed)."""


def update_id(user_id: str, action: str, idempotency_key: str | None) -> str:
    """A client that retries a POST with the same `Idempotency-Key` gets the first outcome:
    Temporal runs one update per id. Without a key every call is a new action."""
    if idempotency_key:
        return f"{user_id}/{action}/{idempotency_key}"
    return str(uuid.uuid4())


async def execute(
    client: Client,
    workflow_id: str,
    update: Any,
    command: Command,
    id: str,
    settings: Settings,
) -> Any:
    """Run `update` (a workflow update method) with `command` and return its result, so that a
    503 tells the truth. The command expires (`not_after`) at the end of the accept window and
    the workflow refuses it afterwards without a trace: `workflow_unavailable` ("nothing was
    changed") is answered only once it can no longer be taken. Taken, but without an outcome in
    time: `outcome_pending`."""
    window = timedelta(seconds=settings.update_accept_window_seconds)
    expiring = command.model_copy(update={"not_after": datetime.now(UTC) + window})
    give_up = time.monotonic() + (window + WORKFLOW_TASK_TIMEOUT + CLOCK_MARGIN).total_seconds()
    # The update's name is its method's (the workflow names none itself).
    name = update.__name__
    with update_sent(name, workflow_id, id) as trace_header:
        await call(_until_taken(client, workflow_id, name, expiring, id, give_up, trace_header))
    taken = client.get_workflow_handle(workflow_id).get_update_handle_for(update, id)

    async def outcome() -> Any:
        try:
            return await taken.result(
                rpc_timeout=timedelta(seconds=settings.update_outcome_timeout_seconds)
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError as late:
            raise Problem("outcome_pending") from late

    return await call(outcome())


async def _until_taken(
    client: Client,
    workflow_id: str,
    name: str,
    command: Command,
    id: str,
    give_up: float,
    trace_header: Mapping[str, Payload],
) -> None:
    """Send the update until the workflow takes it (accepted, or already decided) or `give_up`.
    Without the SDK's own retries, which would hide the server's refusal to admit it (the
    update-concurrency limit, RESOURCE_EXHAUSTED) until the time is up. `trace_header` carries
    the trace to the workflow (no client interceptor sees this raw call)."""
    request = UpdateWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        request=UpdateRequest(
            meta=Meta(update_id=id, identity=client.identity),
            input=Input(
                header=Header(fields=trace_header),
                name=name,
                args=Payloads(payloads=await client.data_converter.encode([command])),
            ),
        ),
        wait_policy=WaitPolicy(lifecycle_stage=_ACCEPTED),
    )
    unreachable: RPCError | None = None
    while (left := give_up - time.monotonic()) > 0:
        try:
            response = await client.workflow_service.update_workflow_execution(
                request, retry=False, timeout=timedelta(seconds=left)
            )
        except RPCError as error:
            # Out of reach, or "workflow update was aborted": send it again while it may still
            # be taken; the answer waits until it cannot be, whatever the server got.
            if error.status == RPCStatusCode.UNAVAILABLE:
                unreachable = error
                await asyncio.sleep(min(_RESEND_AFTER_S, left))
                continue
            # The dossier's workflow task is failing (a worker killed mid-task, say): the server
            # admits nothing until a task completes, which a retried task soon does.
            if _task_failing(error):
                unreachable = None
                await asyncio.sleep(min(_RESEND_AFTER_S, left))
                continue
            if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                break
            raise
        if response.stage >= _ACCEPTED:
            return
        unreachable = None
    if unreachable is not None:
        raise Problem("temporal_unavailable", unreachable.message) from unreachable
    raise Problem("workflow_unavailable")


async def call(operation: Awaitable[T]) -> T:
    """Await a workflow operation and translate its failure."""
    try:
        return await operation
    except WorkflowUpdateFailedError as failed:
        refusal = _refusal_of(failed.cause)
        if refusal is None:
            raise Problem("internal_error", "the workflow failed the update") from failed
        raise Problem.of_refusal_document(refusal) from failed
    except WorkflowUpdateRPCTimeoutOrCancelledError as timed_out:
        raise Problem("workflow_unavailable") from timed_out
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND and "namespace" in error.message.lower():
            # a server starting up does not know its namespaces yet: out of reach, not gone
            raise Problem("temporal_unavailable", error.message) from error
        if error.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowGone(str(error)) from error
        if error.status in _UNREACHABLE:
            raise Problem("temporal_unavailable", error.message) from error
        if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
            raise Problem(
                "workflow_busy", error.message, headers={"Retry-After": str(BUSY_RETRY_AFTER_S)}
            ) from error
        if _task_failing(error):  # nothing was admitted: no worker could take it yet
            raise Problem("workflow_unavailable", error.message) from error
        raise
    except RuntimeError as error:  # a lazy client that cannot connect
        if "connect" in str(error).lower():
            raise Problem("temporal_unavailable", str(error)) from error
        raise


def _task_failing(error: RPCError) -> bool:
    """The server's WorkflowNotReady: "Workflow Task in failed state" (FAILED_PRECONDITION)."""
    return error.status == RPCStatusCode.FAILED_PRECONDITION and "failed state" in error.message


def _refusal_of(cause: BaseException | None) -> dict[str, Any] | None:
    if not isinstance(cause, ApplicationError) or not cause.details:
        return None
    detail = cause.details[0]
    return detail if isinstance(detail, dict) and detail.get("code") == cause.type else None
