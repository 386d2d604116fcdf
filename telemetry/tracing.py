"""Traces with OpenTelemetry: from the HTTP request through the dossier workflow's update, the
activities it runs and the deliveries it starts, exported by OTLP/HTTP when an endpoint is set
(`MOTCUA_OTLP_ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); otherwise no tracer
provider is installed and nothing is traced, at no cost.

The Temporal side is the SDK's `OpenTelemetryPlugin`, not its older `TracingInterceptor`: the
latter parents every span inside a workflow on the span that *started* the workflow (another
trace, days old for a dossier) and only links the update's caller, while the plugin parents an
update's handling, and what the handler starts, on the caller's span, so that one request's
trace holds what it caused. Its spans are replay-safe: ids come from the workflow's seeded random
(`TemporalIdGenerator`), and a span is not ended (exported) while history is being replayed. It
needs the process-wide tracer provider to be its `ReplaySafeTracerProvider` (`install`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio.api.common.v1 import Payload
from temporalio.client import Plugin
from temporalio.contrib.opentelemetry import (
    OpenTelemetryPlugin,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)
from temporalio.converter import PayloadConverter

from settings import Settings

WORKER_SERVICE = "motcua-worker"
API_SERVICE = "motcua-api"

# Probes, scrapes and files: many a minute, none of them about a dossier.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNTRACED_PREFIXES = ("/static/",)

# How the SDK's interceptors carry a trace context to a workflow: a header of this name holding
# the W3C carrier as a JSON payload (TracingInterceptor.header_key, the plugin's alike).
TEMPORAL_TRACE_HEADER = "_tracer-data"
_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])

_tracer = trace.get_tracer(__name__)
_exporting = False  # an OTLP exporter is installed in this process


def otlp_exporter(settings: Settings) -> OTLPSpanExporter | None:
    """The exporter `settings` and the environment ask for, None when none is configured."""
    if settings.otlp_endpoint:
        # a base address, as OTEL_EXPORTER_OTLP_ENDPOINT is: the signal's path is appended
        return OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces")
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        return OTLPSpanExporter()  # it reads the standard variables itself (headers too)
    return None


def configure_tracing(settings: Settings, service: str) -> bool:
    """At a process's start: export its spans by OTLP when an endpoint is configured. True when
    the process traces. Sampling follows the standard OTEL_TRACES_SAMPLER variables."""
    global _exporting
    if not _exporting and (exporter := otlp_exporter(settings)) is not None:
        install(BatchSpanProcessor(exporter), service)
        _exporting = True
    return tracing_on()


class _EvictedWorkflowDetach(logging.Filter):
    """A workflow evicted from the worker's cache (a restart, a full cache) is closed wherever
    garbage collection runs: its open spans' `with` blocks then fail to detach their context
    from a context that is being discarded anyway, and OpenTelemetry logs an error with a
    traceback for each (temporalio/sdk-python#441, still so with the plugin's spans). Dropped,
    that case only."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage() == "Failed to detach context"
            and isinstance(getattr(error, "__context__", None), GeneratorExit)
        )


def install(processor: SpanProcessor, service: str) -> ReplaySafeTracerProvider:
    """Install the process's tracer provider (once; OpenTelemetry allows no other) and add
    `processor` to it. Tests add an in-memory exporter here."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, ReplaySafeTracerProvider):
        logging.getLogger("opentelemetry.context").addFilter(_EvictedWorkflowDetach())
        name = os.environ.get("OTEL_SERVICE_NAME") or service
        provider = create_tracer_provider(resource=Resource.create({SERVICE_NAME: name}))
        trace.set_tracer_provider(provider)
    provider.add_span_processor(processor)
    return provider


def flush_traces(timeout_s: float = 5.0) -> None:
    """Export the spans still buffered; for a process that exits without its teardown."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, ReplaySafeTracerProvider):
        provider.force_flush(int(timeout_s * 1000))


def tracing_on() -> bool:
    return isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider)


def temporal_plugins() -> list[Plugin]:
    """For `Client.connect(plugins=…)`: workers built on the client inherit it, and it lets
    OpenTelemetry through the workflow sandbox."""
    return [OpenTelemetryPlugin(add_temporal_spans=True)] if tracing_on() else []


def untraced(scope: MutableMapping[str, Any]) -> bool:
    path: str = scope.get("path", "")
    return path in UNTRACED_PATHS or path.startswith(UNTRACED_PREFIXES)


def fastapi_telemetry() -> TelemetryConfig:
    """For `FastAPI(telemetry=…)`: FastAPI traces requests by itself once a tracer provider is
    installed (with spans for dependencies, endpoint and serialisation); not probes or files."""
    return {"exclude": untraced}


@contextmanager
def update_sent(name: str, workflow_id: str, update_id: str) -> Iterator[Mapping[str, Payload]]:
    """The client span of an update sent through the raw workflow service, which no client
    interceptor sees (api.workflow_calls), and the header fields that carry it to the workflow:
    what the plugin does for `start_update`, under the same name."""
    with _tracer.start_as_current_span(
        f"StartWorkflowUpdate:{name}",
        kind=trace.SpanKind.CLIENT,
        attributes={"temporalWorkflowID": workflow_id, "temporalUpdateID": update_id},
    ):
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        yield (
            {TEMPORAL_TRACE_HEADER: PayloadConverter.default.to_payloads([carrier])[0]}
            if carrier
            else {}
        )


def current_trace_id() -> str | None:
    """The trace id (32 hex digits) of the span in progress, None outside any."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
