"""Issue 11, traces: one request's trace, from the HTTP server span through the dossier
workflow's update to the activities it runs and the deliveries it starts, read back from the
SDK's in-memory exporter over the real stack (dev server, a worker and the API wired as
`worker.connect` and `api.app` wire them, uvicorn, an SQLite file); and the log lines inside a
request, an activity and workflow code naming the trace, the dossier and its workflow."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.migrate import upgrade
from settings import Settings
from telemetry.log_context import add_log_context
from telemetry.tracing import install, tracing_on
from tests.fixtures.api import Api, running_service
from worker import connect
from workflows.starter import workflow_id

CONSULT = "request_consultation"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider with an in-memory exporter. OpenTelemetry allows one
    provider per process, so it stays after this module; its exporter, shut down, then drops
    whatever later tests trace."""
    memory = InMemorySpanExporter()
    install(SimpleSpanProcessor(memory), "motcua-test")
    yield memory
    memory.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def traced_client(exporter: InMemorySpanExporter, dev_env: WorkflowEnvironment) -> Client:
    """A client built as the worker process builds its own, tracing on."""
    assert tracing_on()
    target = dev_env.client.service_client.config.target_host
    return await connect(Settings(temporal_address=target))


@pytest_asyncio.fixture(loop_scope="session")
async def traced_api(traced_client: Client, sqlite_url: str, task_queue: str) -> AsyncIterator[Api]:
    """The service with the worker on `traced_client`; the API connects its own as it does in
    production (`api.app`), with the tracer provider installed."""
    upgrade(sqlite_url)
    async with running_service(traced_client, sqlite_url, task_queue) as service:
        yield service


@dataclass
class Trace:
    """The finished spans of one trace, and how they hang together."""

    trace_id: int
    spans: list[ReadableSpan]

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, (name, self.names())
        return found[0]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        parent_id = span.parent.span_id if span.parent else None
        return next((s for s in self.spans if s.context.span_id == parent_id), None)

    def ancestors(self, span: ReadableSpan) -> list[ReadableSpan]:
        chain = []
        while (up := self.parent(span)) is not None:
            chain.append(up)
            span = up
        return chain

    def names(self) -> list[str]:
        return sorted(s.name for s in self.spans)


def attribute(span: ReadableSpan, key: str) -> object:
    return (span.attributes or {}).get(key)


async def finished_trace(
    exporter: InMemorySpanExporter, trace_id: int, complete: Callable[[Trace], bool]
) -> Trace:
    """The trace once `complete` says so: deliveries run after the request is answered."""
    for _ in range(300):
        found = Trace(
            trace_id,
            [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id],
        )
        if complete(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"trace incomplete: {found.names()}")


def traceparent() -> tuple[int, int, str]:
    """A caller's W3C trace context (a gateway in front of the API, say)."""
    trace_id, span_id = secrets.randbits(128) or 1, secrets.randbits(64) or 1
    return trace_id, span_id, f"00-{trace_id:032x}-{span_id:016x}-01"


def consultation(*agencies: str, in_seconds: float = 3600) -> dict[str, Any]:
    deadline = datetime.now(UTC) + timedelta(seconds=in_seconds)
    return {"agencies": list(agencies), "content": "Xin ý kiến", "deadline": deadline.isoformat()}


def changes_dispatched(changes: int) -> Callable[[Trace], bool]:
    """What `changes` changes send, sent: one `dispatch_change` per change (v7), for its notices
    and its national-status update together."""
    return lambda t: len(t.named("RunActivity:dispatch_change")) >= changes


async def test_consultation_request_traced_from_http_through_update_to_deliveries(
    traced_api: Api, exporter: InMemorySpanExporter
) -> None:
    code = (await traced_api.receive())["code"]
    trace_id, caller_span, header = traceparent()

    path = f"/api/v1/dossiers/{code}/consultations"
    response = await traced_api.post(path, consultation("SNNMT", "CAT"), traceparent=header)
    assert response.status_code == 201, response.text

    t = await finished_trace(exporter, trace_id, changes_dispatched(1))
    run = workflow_id(code)
    # the HTTP server span continues the caller's trace
    http = t.one("POST /api/v1/dossiers/{code}/consultations")
    assert http.kind == trace.SpanKind.SERVER
    assert http.parent is not None and http.parent.span_id == caller_span
    assert attribute(http, "http.response.status_code") == 201
    # → the update sent (under FastAPI's endpoint span) → the workflow validates and handles it
    sent = t.one(f"StartWorkflowUpdate:{CONSULT}")
    assert sent.kind == trace.SpanKind.CLIENT
    assert http in t.ancestors(sent)
    assert attribute(sent, "temporalWorkflowID") == run
    assert t.parent(t.one(f"ValidateUpdate:{CONSULT}")) == sent
    handled = t.one(f"HandleUpdate:{CONSULT}")
    assert t.parent(handled) == sent
    assert attribute(handled, "temporalWorkflowID") == run
    # → the local activity that plans it, the read model's write, then the sending of its two
    # notices, by one activity
    for activity in ("plan_consultation", "settle_dossier"):
        started = t.one(f"StartActivity:{activity}")
        assert t.parent(started) == handled
        assert t.parent(t.one(f"RunActivity:{activity}")) == started
    sending = t.one("StartActivity:dispatch_change")
    assert t.parent(sending) == handled
    assert t.parent(t.one("RunActivity:dispatch_change")) == sending
    assert not t.named("StartActivity:deliver_notice")  # one activity per notice before v7
    # one tree: every span but the server's hangs from another span of the trace
    assert all(t.parent(s) is not None for s in t.spans if s is not http)
    # and the dossier's reception, its own trace, holds none of it
    received = [s for s in exporter.get_finished_spans() if s.name.startswith("StartUpdateWith")]
    assert received and all(s.context.trace_id != trace_id for s in received)


async def test_reminder_sent_later_belongs_to_the_consultation_requests_trace(
    traced_api: Api, exporter: InMemorySpanExporter
) -> None:
    """The timer the request armed runs in the handler's context: reminder 1 at the deadline,
    its write and its delivery, are found under the request's update handling."""
    code = (await traced_api.receive())["code"]
    trace_id, _, header = traceparent()
    path = f"/api/v1/dossiers/{code}/consultations"
    response = await traced_api.post(path, consultation("CAT", in_seconds=3), traceparent=header)
    assert response.status_code == 201, response.text

    # the request's own delivery, then reminder 1's (3 s later), reminder 2's (2 s after that)
    t = await finished_trace(exporter, trace_id, changes_dispatched(3))
    handled = t.one(f"HandleUpdate:{CONSULT}")
    assert len(t.named("StartActivity:settle_dossier")) >= 2
    assert all(t.parent(s) == handled for s in t.named("StartActivity:settle_dossier"))
    assert all(t.parent(s) == handled for s in t.named("StartActivity:dispatch_change"))


async def test_probes_and_static_files_not_traced(
    traced_api: Api, exporter: InMemorySpanExporter
) -> None:
    trace_id, _, header = traceparent()
    for path in ("/healthz", "/readyz", "/static/vendor/htmx.min.js"):
        response = await traced_api.http.get(path, headers={"traceparent": header})
        assert response.status_code == 200, (path, response.text)
    # a traced request after them, on the same connection: once it is exported, theirs would be
    response = await traced_api.http.get("/openapi.json", headers={"traceparent": header})
    assert response.status_code == 200

    t = await finished_trace(exporter, trace_id, lambda t: bool(t.named("GET /openapi.json")))
    paths = {attribute(s, "url.path") for s in t.spans} - {None}
    assert paths == {"/openapi.json"}


def _records_of(logger_name: str) -> tuple[logging.Handler, io.StringIO]:
    """A handler rendering the stdlib records of `logger_name` as logs.py does, JSON."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[add_log_context],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler, out


async def test_log_lines_carry_trace_id_dossier_and_workflow_id(
    traced_api: Api, traced_client: Client, exporter: InMemorySpanExporter
) -> None:
    code = (await traced_api.receive())["code"]
    run = workflow_id(code)
    path = f"/api/v1/dossiers/{code}/consultations"
    consulted, _, consulted_header = traceparent()
    refused, _, refused_header = traceparent()

    with capture_logs(
        processors=[structlog.contextvars.merge_contextvars, add_log_context]
    ) as lines:
        response = await traced_api.post(path, consultation("CAT"), traceparent=consulted_header)
        assert response.status_code == 201, response.text
        await finished_trace(exporter, consulted, changes_dispatched(1))
        # a request about the dossier refused before any handler: the API's own line
        response = await traced_api.http.post(
            path,
            json=consultation("CAT"),
            headers={"Authorization": "Bearer not-a-token", "traceparent": refused_header},
        )
        assert response.status_code == 401

    def line(event: str, trace_id: int) -> MutableMapping[str, Any]:
        found = [
            e for e in lines if e["event"] == event and e.get("trace_id") == f"{trace_id:032x}"
        ]
        assert found, (event, [(e["event"], e.get("trace_id")) for e in lines])
        return found[0]

    # activities: the read model's write and the notice's delivery, inside the request's trace
    for event in ("dossier_projected", "notice_recorded", "notice_delivered"):
        entry = line(event, consulted)
        assert (entry["dossier"], entry["workflow_id"]) == (code, run), entry
    # the API: the refused token, within the request (dossier from the route's `code`)
    entry = line("authentication_refused", refused)
    assert (entry["dossier"], entry["workflow_id"]) == (code, run), entry

    # workflow code (`workflow.logger`, a stdlib record from inside the sandbox), in the trace
    # of the signal that made it log
    handler, out = _records_of("temporalio.workflow")
    workflow_logger = logging.getLogger("temporalio.workflow")
    level = workflow_logger.level
    workflow_logger.addHandler(handler)
    workflow_logger.setLevel(logging.INFO)
    try:
        with trace.get_tracer("tests").start_as_current_span("ops asks for a retry") as ops:
            handle = traced_client.get_workflow_handle(run)
            await handle.signal("retry_read_model", {"operator": "ops.lan"})
        signalled = ops.get_span_context().trace_id
        handled = "HandleSignal:retry_read_model"  # ends once the handler has logged
        await finished_trace(exporter, signalled, lambda t: bool(t.named(handled)))
    finally:
        workflow_logger.removeHandler(handler)
        workflow_logger.setLevel(level)
    records = [json.loads(row) for row in out.getvalue().splitlines()]
    retried = [r for r in records if "read-model write retried" in r["event"]]
    assert retried, records
    assert retried[0]["trace_id"] == f"{signalled:032x}"
    assert (retried[0]["dossier"], retried[0]["workflow_id"]) == (code, run)
