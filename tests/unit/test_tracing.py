"""Issue 11, traces: where spans go (an OTLP collector over real HTTP, or nowhere), what is not
traced, and the log context's pieces."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from settings import Settings
from telemetry.log_context import add_log_context, bind_dossier
from telemetry.tracing import _EvictedWorkflowDetach, otlp_exporter, untraced
from tests.fixtures.otlp import Collector, running_collector
from workflows.starter import dossier_code, workflow_id


@pytest.fixture
def collector() -> Iterator[Collector]:
    with running_collector() as server:
        yield server


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("variable", ["MOTCUA_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
def test_spans_exported_by_otlp_http_to_the_configured_collector(
    collector: Collector, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, collector.base_url)
    exporter = otlp_exporter(Settings())
    assert exporter is not None
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "motcua-worker"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    with provider.get_tracer("tests").start_as_current_span("RunActivity:deliver_notice"):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert collector.paths == ["/v1/traces"]
    assert [(s.service, s.name) for s in collector.spans()] == [
        ("motcua-worker", "RunActivity:deliver_notice")
    ]


def test_nothing_exported_without_an_endpoint() -> None:
    assert otlp_exporter(Settings()) is None


@pytest.mark.parametrize(
    ("path", "traced"),
    [
        ("/healthz", False),
        ("/readyz", False),
        ("/metrics", False),
        ("/static/vendor/htmx.min.js", False),
        ("/static/app.css", False),
        ("/api/v1/dossiers/X-1/consultations", True),
        ("/dossiers/X-1", True),
        ("/healthz/more", True),
    ],
)
def test_probes_scrapes_and_static_files_untraced(path: str, traced: bool) -> None:
    assert untraced({"type": "http", "path": path}) is not traced


def test_dossier_code_read_back_from_its_workflow_id() -> None:
    assert dossier_code(workflow_id("000.00.07.H19-261207-0001")) == "000.00.07.H19-261207-0001"
    assert dossier_code("ended-runs-sweep") is None
    assert dossier_code("dossier-") is None


def _line(**bound: str) -> MutableMapping[str, Any]:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**bound)
    event = structlog.contextvars.merge_contextvars(None, "info", {"event": "x"})
    structlog.contextvars.clear_contextvars()
    return add_log_context(None, "info", event)


def test_log_line_outside_any_span_or_run_names_nothing() -> None:
    assert _line() == {"event": "x"}


def test_log_line_keeps_what_it_names_itself() -> None:
    record = logging.LogRecord("temporalio.activity", logging.INFO, "", 0, "m", None, None)
    record.temporal_activity = {"workflow_id": "dossier-A-1"}
    event = add_log_context(None, "info", {"event": "x", "dossier": "B-2", "_record": record})
    assert (event["dossier"], event["workflow_id"]) == ("B-2", "dossier-A-1")


@pytest.mark.parametrize("code", ["A-1\nforged line", "x" * 65])
def test_log_context_binds_no_dossier_code_that_could_forge_a_line(code: str) -> None:
    structlog.contextvars.clear_contextvars()
    bind_dossier(code)
    assert structlog.contextvars.get_contextvars() == {}
    bind_dossier("000.00.07.H19-261207-0001")
    assert structlog.contextvars.get_contextvars() == {
        "dossier": "000.00.07.H19-261207-0001",
        "workflow_id": "dossier-000.00.07.H19-261207-0001",
    }
    structlog.contextvars.clear_contextvars()


def _detach_failure(during: BaseException) -> logging.LogRecord:
    """OpenTelemetry's record of a detach that failed while `during` unwound the block."""
    error = ValueError("token was created in a different Context")
    error.__context__ = during
    record = logging.LogRecord(
        "opentelemetry.context", logging.ERROR, "", 0, "Failed to detach context", None, None
    )
    record.exc_info = (ValueError, error, None)
    return record


def test_detach_noise_of_an_evicted_workflow_dropped_and_no_other() -> None:
    keeps = _EvictedWorkflowDetach().filter
    assert not keeps(_detach_failure(GeneratorExit()))
    assert keeps(_detach_failure(RuntimeError("a real fault")))
