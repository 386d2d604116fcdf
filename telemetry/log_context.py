"""Log lines that say where they come from: the trace id of the span in progress, and the
dossier and its workflow, whoever logged them (a request about a dossier, an activity, workflow
code through `workflow.logger`). A structlog processor (logs.py puts it in every chain), and a
binding for what only the caller knows (the API's route parameter)."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog.types import EventDict, WrappedLogger
from temporalio import activity, workflow

from domain.limits import CODE_MAX
from telemetry.tracing import current_trace_id
from workflows.starter import dossier_code, workflow_id


def add_log_context(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """`trace_id` while a span is in progress; `workflow_id` and `dossier` where known. What the
    line names itself, or a binding, wins."""
    if trace_id := current_trace_id():
        event_dict.setdefault("trace_id", trace_id)
    if run := _workflow_id(event_dict.get("_record")):
        event_dict.setdefault("workflow_id", run)
        if code := dossier_code(run):
            event_dict.setdefault("dossier", code)
    return event_dict


def _workflow_id(record: Any) -> str | None:
    # The SDK's loggers put their context on a stdlib record's `extra`.
    if isinstance(record, logging.LogRecord):
        for extra in ("temporal_workflow", "temporal_activity"):
            info = getattr(record, extra, None)
            if isinstance(info, dict) and isinstance(info.get("workflow_id"), str):
                return info["workflow_id"]
    if activity.in_activity():
        return activity.info().workflow_id
    if workflow.in_workflow():
        return workflow.info().workflow_id
    return None


def bind_dossier(code: str) -> None:
    """Every line logged from here on in this context (a request) names the dossier `code`. Only
    a printable code of a dossier's length: the path is the caller's text."""
    if len(code) <= CODE_MAX and code.isprintable():
        structlog.contextvars.bind_contextvars(dossier=code, workflow_id=workflow_id(code))
