"""`GET /metrics` in Prometheus's text format, and the middleware that counts every request by
route template (deploy/README.md, "Monitoring"; the instruments are in `telemetry.metrics`).

Not in the OpenAPI document and never rate-limited. Meant to be reachable from inside the
cluster only; where the API's port is public, `MOTCUA_METRICS_TOKEN` makes it ask for
`Authorization: Bearer <token>` (Prometheus's `authorization` of a scrape config).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ServicesDep
from api.problems import Problem
from db.ops_figures import OpsFigures, read_ops_figures
from telemetry.metrics import REQUEST_SECONDS, REQUESTS, UNMATCHED_ROUTE, scrape

Family = TypeVar("Family", GaugeMetricFamily, CounterMetricFamily)

log = structlog.get_logger()

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request, services: ServicesDep) -> Response:
    expected = services.settings.metrics_token
    if expected is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            # a problem document, not the pages' error page that a path outside /api gets
            return Problem("unauthenticated", "The metrics need the metrics token").response(
                request
            )
    now = datetime.now(UTC)
    try:
        async with services.sessions() as session:
            figures = list(ops_metrics(await read_ops_figures(session, now), now))
        readable = 1.0
    except Exception:  # the database away: the process's own metrics still tell something
        log.warning("ops_figures_unreadable", exc_info=True)
        figures, readable = [], 0.0
    up = GaugeMetricFamily(
        "motcua_ops_figures_up", "Whether this scrape could read the figures of the read model"
    )
    up.add_metric([], readable)
    return Response(scrape([*figures, up]), media_type=CONTENT_TYPE_LATEST)


def ops_metrics(figures: OpsFigures, now: datetime) -> Iterator[Metric]:
    """The read model's figures as metrics, each family present even when it has no sample."""
    yield labelled(
        GaugeMetricFamily(
            "motcua_open_dossiers",
            "Dossiers not closed, by status and lead agency",
            labels=["status", "lead_agency"],
        ),
        figures.open_dossiers,
    )
    yield labelled(
        GaugeMetricFamily(
            "motcua_overdue_consultations",
            "Consultations awaited past their deadline, by consulted agency (R3)",
            labels=["agency"],
        ),
        figures.overdue_consultations,
    )
    # A count of rows that only grows: a counter, so rate() and increase() apply.
    yield labelled(
        CounterMetricFamily(
            "motcua_reminders_sent",
            "Reminders recorded in the outbox, by kind (R3)",
            labels=["kind"],
        ),
        figures.reminders_sent,
    )
    yield labelled(
        GaugeMetricFamily(
            "motcua_undelivered_notices",
            "Notices not delivered yet, by delivery status (pending, failed_attempt)",
            labels=["delivery_status"],
        ),
        figures.undelivered_notices,
    )
    oldest = GaugeMetricFamily(
        "motcua_oldest_undelivered_notice_age_seconds",
        "Age of the oldest notice not delivered yet (0 when none)",
    )
    at = figures.oldest_undelivered_at
    oldest.add_metric([], max(0.0, (now - at).total_seconds()) if at else 0.0)
    yield oldest
    if figures.sweep_finished_at is not None:  # absent until a first sweep: absent() alerts
        sweep = GaugeMetricFamily(
            "motcua_ended_runs_sweep_last_run_timestamp_seconds",
            "When the sweep of ended runs (R5) last finished, Unix time",
        )
        sweep.add_metric([], figures.sweep_finished_at.timestamp())
        yield sweep


def labelled(family: Family, counts: Mapping[str, int] | Mapping[tuple[str, str], int]) -> Family:
    """`family` with one sample per entry of `counts`, keyed by its label value (or values)."""
    for key, count in sorted(counts.items()):
        values = [key] if isinstance(key, str) else list(key)
        family.add_metric(values, count)
    return family


class RequestMetrics:
    """Counts each HTTP request and times it, by method, route template (`/api/v1/dossiers/
    {code}`, never the raw path: one series per route, whatever the codes) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # the app raised before it answered
        asked = dict(scope)  # as received: a mount rewrites the scope's root_path

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = route_template(scope, asked)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def route_template(served: Scope, asked: Scope) -> str:
    """The template of the route that served the request (`served`: the scope the app filled
    in), or of the mount it went to (`asked`: the scope as received), e.g. `/static`."""
    route = served.get("route")
    if route is not None:
        return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED_ROUTE))
    for candidate in getattr(served.get("router"), "routes", []):
        match, _ = candidate.matches(asked)
        if match is not Match.NONE:
            return str(getattr(candidate, "path_format", None) or candidate.path)
    return UNMATCHED_ROUTE
