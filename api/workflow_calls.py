"""Calling dossier workflows from HTTP handlers, and what their failures mean in HTTP.

An update's failure carries the refusal of `domain.rules` (code, status, messages, facts) as its
detail, so the answer is a translation, never a second decision. The workflow service out of
reach, or no worker answering, is a 503 and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem

T = TypeVar("T")

# Long enough for a busy worker; short enough that a client is not left hanging without one.
UPDATE_TIMEOUT = timedelta(seconds=20)

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
