"""Calling dossier workflows from HTTP handlers, and what their failures mean in HTTP.

An update's failure carries the refusal of `domain.rules` (code, status, messages, facts) as its
detail, so the answer is a translation, never a second decision. The workflow service out of
reach, or no worker taking the command in time, is a 503 that changes nothing; a command taken
whose outcome is late is a 503 of its own (`outcome_pending`); a limit of the workflow service
(such as the in-flight updates of one workflow) is a 429 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem
from domain.commands import Command

T = TypeVar("T")

# How long a command may wait for a worker to take it. The command carries the end of this
# window (`not_after`) and the workflow's validator refuses it afterwards, leaving no trace.
ACCEPT_WINDOW = timedelta(seconds=10)
# The skew tolerated between this host's clock and the Temporal server's (whose time the
# validator reads): the API gives up on a command only once it can no longer be taken.
CLOCK_MARGIN = timedelta(seconds=5)
# Once the workflow has taken the command: how long its outcome may take (a busy worker, a
# database write retried) before the caller is told to ask again.
OUTCOME_TIMEOUT = timedelta(seconds=20)
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


async def execute(handle: WorkflowHandle[Any, Any], update: Any, command: Command, id: str) -> Any:
    """Run `update` with `command` and return its result, so that a 503 tells the truth: not
    taken within the window, it expires, and `workflow_unavailable` (nothing was changed) is
    answered only after that; taken but without an outcome in time, `outcome_pending`."""
    expiring = command.model_copy(update={"not_after": datetime.now(UTC) + ACCEPT_WINDOW})
    waiting = ACCEPT_WINDOW + CLOCK_MARGIN
    try:
        async with asyncio.timeout(waiting.total_seconds()):
            taken = await call(
                handle.start_update(
                    update,
                    expiring,
                    id=id,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    rpc_timeout=waiting,
                )
            )
    except TimeoutError as timed_out:
        raise Problem("workflow_unavailable") from timed_out

    async def outcome() -> Any:
        try:
            return await taken.result(rpc_timeout=OUTCOME_TIMEOUT)
        except WorkflowUpdateRPCTimeoutOrCancelledError as late:
            raise Problem("outcome_pending") from late

    return await call(outcome())


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
        if error.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowGone(str(error)) from error
        if error.status in _UNREACHABLE:
            raise Problem("temporal_unavailable", error.message) from error
        if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
            raise Problem(
                "workflow_busy", error.message, headers={"Retry-After": str(BUSY_RETRY_AFTER_S)}
            ) from error
        raise
    except RuntimeError as error:  # a lazy client that cannot connect
        if "connect" in str(error).lower():
            raise Problem("temporal_unavailable", str(error)) from error
        raise


def _refusal_of(cause: BaseException | None) -> dict[str, Any] | None:
    if not isinstance(cause, ApplicationError) or not cause.details:
        return None
    detail = cause.details[0]
    return detail if isinstance(detail, dict) and detail.get("code") == cause.type else None
