"""Metrics in Prometheus format (deploy/README.md, "Monitoring").

- The worker: the Temporal SDK's own metrics (task slots, schedule-to-start latencies, sticky
  cache, activity and workflow-task failures), served by the SDK runtime's Prometheus endpoint,
  one runtime per worker process (`worker_runtime`).
- The API: requests by route template and status, their latency, and problems answered by code
  (`REQUESTS`, `REQUEST_SECONDS`, `PROBLEMS`), from prometheus-client. Several API processes
  (uvicorn `--workers`) share one port, so each cannot be scraped alone: with
  PROMETHEUS_MULTIPROC_DIR set (before this module is imported), each process writes its
  counters to files there and every scrape sums them (`scrape`).
- The business figures are not counted in any process: the API reads them from the read model at
  each scrape (`db.ops_figures`), so they are right whatever the number of processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import REGISTRY, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # a path no route serves: never the raw path (unbounded labels)

disable_created_metrics()  # no `_created` series beside each counter: Prometheus never reads them

REQUESTS = Counter(
    "motcua_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "motcua_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PROBLEMS = Counter(
    "motcua_http_problems",
    "Problem documents answered (refusals and errors), by stable code and HTTP status",
    ["code", "status"],
)


def worker_metrics_address(address: str | None, index: int = 0) -> str | None:
    """Where the worker process number `index` serves its SDK metrics: `address`'s port plus
    `index` (None when `address` is None)."""
    if address is None:
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a metrics address is host:port, not {address!r}")
    return f"{host}:{int(port) + index}"


@cache
def worker_runtime(bind_address: str) -> Runtime:
    """The SDK runtime serving Prometheus metrics at `bind_address` (`/metrics`): one per
    process, as the port can be bound once. Names follow Prometheus's conventions: counters
    end in `_total`, durations are histograms in seconds
    (`temporal_workflow_task_schedule_to_start_latency_seconds_bucket`)."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind_address,
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            )
        )
    )


class _Figures:
    """A collector of metrics computed before the scrape (the read model's figures)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def scrape(figures: Iterable[Metric] = ()) -> bytes:
    """The text exposition of this process's metrics (of every API process with
    PROMETHEUS_MULTIPROC_DIR) followed by `figures`."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_DIR_VARIABLE):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(_Figures(figures))
    return generate_latest(registry)
