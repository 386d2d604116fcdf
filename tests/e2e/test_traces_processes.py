"""Issue 11, traces as production runs them: the worker (`python worker.py`) and the API
(`uvicorn_argv`) as processes with `MOTCUA_OTLP_ENDPOINT` set export their spans to a real
OTLP/HTTP collector, one request's trace spanning both; the worker's JSON log lines carry the
same trace id, the dossier and its workflow."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import uvicorn_argv
from db.migrate import seed, upgrade
from dev.tokens import mint_token
from tests.e2e.test_shutdown import output, start, stopped_within, wait_for_line
from tests.fixtures.api import APPLICANT, SECRET, USERS, free_port
from tests.fixtures.otlp import ReceivedSpan, running_collector
from workflows.starter import workflow_id

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(150)]


async def test_one_request_traced_across_the_api_and_worker_processes_to_an_otlp_collector(
    dev_env: WorkflowEnvironment, tmp_path: Path, sqlite_url: str, task_queue: str
) -> None:
    upgrade(sqlite_url)
    await seed(sqlite_url)
    port = free_port()
    with running_collector() as collector:
        env = {
            "MOTCUA_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "MOTCUA_TASK_QUEUE": task_queue,
            "MOTCUA_DATABASE_URL": sqlite_url,
            "MOTCUA_JWT_SECRET": SECRET,
            "MOTCUA_OTLP_ENDPOINT": collector.base_url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s, not 5 s
        }
        worker_log, api_log = tmp_path / "worker.log", tmp_path / "api.log"
        worker = start([sys.executable, "worker.py"], worker_log, **env)
        api = start(uvicorn_argv("127.0.0.1", port), api_log, **env)
        try:
            await wait_for_line(worker_log, "worker_started", worker)
            await wait_for_line(api_log, "Uvicorn running", api)
            token = mint_token(USERS["sxd.officer"], SECRET, hours=1)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ) as http:
                received = await http.post(
                    "/api/v1/dossiers",
                    json={"procedure_code": "DN-XD-001", "applicant": APPLICANT},
                )
                assert received.status_code == 201, received.text
                code = received.json()["code"]
                deadline = datetime.now(UTC) + timedelta(hours=1)
                consulted = await http.post(
                    f"/api/v1/dossiers/{code}/consultations",
                    json={
                        "agencies": ["CAT"],
                        "content": "Xin ý kiến",
                        "deadline": deadline.isoformat(),
                    },
                )
                assert consulted.status_code == 201, consulted.text

            route = "POST /api/v1/dossiers/{code}/consultations"
            request = await _exported(collector.spans, lambda s: s.name == route)
            assert request.service == "motcua-api"
            delivery = await _exported(
                collector.spans,
                lambda s: (
                    s.name == "RunActivity:dispatch_change" and s.trace_id == request.trace_id
                ),
            )
            assert delivery.service == "motcua-worker"
            assert delivery.attributes["temporalWorkflowID"] == workflow_id(code)
            assert set(collector.paths) == {"/v1/traces"}

            delivered = [
                line
                for line in _json_lines(worker_log)
                if line.get("event") == "notice_delivered"
                and line.get("trace_id") == request.trace_id
            ]
            assert delivered, output(worker_log)
            assert delivered[0]["dossier"] == code
            assert delivered[0]["workflow_id"] == workflow_id(code)
        finally:
            for process, log in ((api, api_log), (worker, worker_log)):
                if process.poll() is None:
                    await stopped_within(process, log)


async def _exported(
    spans: Callable[[], list[ReceivedSpan]], wanted: Callable[[ReceivedSpan], bool]
) -> ReceivedSpan:
    """The first span `wanted`, once exported: a batch leaves its process within 0.1 s."""
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        if found := [s for s in spans() if wanted(s)]:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(sorted({(s.service, s.name) for s in spans()}))


def _json_lines(log: Path) -> list[dict[str, object]]:
    lines = []
    for row in output(log).splitlines():
        if row.startswith("{"):
            try:
                lines.append(json.loads(row))
            except json.JSONDecodeError:
                continue
    return lines
