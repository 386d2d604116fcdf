"""A real Prometheus (Debian's) scrapes a running stack (issue 11): a worker process
(`python worker.py`) serving the Temporal SDK's metrics, and the API as production runs it,
uvicorn with two worker processes sharing PROMETHEUS_MULTIPROC_DIR, on a dev server and
PostgreSQL of their own. After a few dossiers driven over HTTP, the figures are read back through
Prometheus's query API: requests by route counted exactly across the two API processes, the open
dossiers and the overdue consultation of the read model, the SDK's slots, schedule-to-start
latency and sticky cache, the sweep's last run, and the alert rules loaded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.app import uvicorn_argv
from db.migrate import seed, upgrade
from dev.tokens import mint_token
from settings import REPO_ROOT
from tests.fixtures.api import APPLICANT, SECRET, USERS, free_port
from tests.fixtures.temporal import start_dev_server
from tests.monitoring.tools import DEPLOY, tool
from workflows.temporal_setup import SWEEP_SCHEDULE_ID

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(240)]

T = TypeVar("T")
WITHIN = 60.0  # seconds for a figure to reach Prometheus (1 s scrapes; a slow, shared machine)
TASK_QUEUE = "motcua-prometheus-test"


class Processes:
    """Processes this test started, each the leader of its own process group, with a log."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped with its children
            )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


async def eventually(probe: Callable[[], Awaitable[T]], ready: Callable[[T], bool], what: str) -> T:
    give_up = time.monotonic() + WITHIN
    while True:
        try:
            answer: T | None = await probe()
        except httpx.TransportError:
            answer = None
        if answer is not None and ready(answer):
            return answer
        if time.monotonic() > give_up:
            pytest.fail(f"no {what} within {WITHIN:.0f} s; last seen: {answer!r}")
        await asyncio.sleep(0.5)


class Stack:
    def __init__(self, env: WorkflowEnvironment, api: str, prometheus: str) -> None:
        self.env, self.api, self.prometheus = env, api, prometheus
        self.http = httpx.AsyncClient(timeout=30)

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of `promql`, as Prometheus's HTTP API answers it."""
        answer = await self.http.get(f"{self.prometheus}/api/v1/query", params={"query": promql})
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    async def value(self, promql: str) -> float | None:
        """The single value of `promql`, None while it has no sample."""
        result = await self.query(promql)
        return float(result[0]["value"][1]) if result else None

    async def figure(self, promql: str, expected: float) -> None:
        await eventually(lambda: self.value(promql), lambda v: v == expected, promql)

    async def present(self, promql: str) -> float:
        found = await eventually(lambda: self.value(promql), lambda v: v is not None, promql)
        assert found is not None
        return found


@pytest_asyncio.fixture(loop_scope="session")
async def stack(empty_postgres_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    prometheus_binary = tool("prometheus")
    upgrade(empty_postgres_url)
    await seed(empty_postgres_url)
    env = await start_dev_server()
    processes = Processes(tmp_path)
    worker_metrics, api_port, prometheus_port = free_port(), free_port(), free_port()
    multiproc = tmp_path / "prometheus-multiproc"
    multiproc.mkdir()
    common = {
        **os.environ,
        "MOTCUA_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "MOTCUA_DATABASE_URL": empty_postgres_url,
        "MOTCUA_TASK_QUEUE": TASK_QUEUE,
        "MOTCUA_REMINDER_GRACE": "PT2S",
        "MOTCUA_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{DEPLOY / "alerts.yml"}"]
scrape_configs:
  - job_name: motcua-worker
    static_configs: [{{targets: ["127.0.0.1:{worker_metrics}"]}}]
  - job_name: motcua-api
    static_configs: [{{targets: ["127.0.0.1:{api_port}"]}}]
""",
        encoding="utf-8",
    )
    try:
        processes.start(
            "worker",
            [sys.executable, "worker.py"],
            # Index 1 on a base address: the second worker process of a host, its own port.
            {
                **common,
                "MOTCUA_WORKER_METRICS_ADDRESS": f"127.0.0.1:{worker_metrics - 1}",
                "MOTCUA_WORKER_INDEX": "1",
            },
        )
        processes.start(
            "api",
            [*uvicorn_argv("127.0.0.1", api_port), "--workers", "2"],
            {**common, "MOTCUA_JWT_SECRET": SECRET, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        )
        processes.start(
            "prometheus",
            [
                str(prometheus_binary),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            common,
        )
        running = Stack(env, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{prometheus_port}")
        try:
            await eventually(
                lambda: running.http.get(f"{running.api}/healthz"),
                lambda r: r.status_code == 200,
                "API",
            )
            yield running
        finally:
            await running.http.aclose()
    except BaseException:
        for name in ("worker", "api", "prometheus"):
            print(f"--- {name}.log\n{processes.log(name)}")
        raise
    finally:
        processes.stop()
        await env.shutdown()


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(USERS[user], SECRET, hours=1)}"}


async def test_prometheus_scrapes_the_worker_sdk_metrics_the_api_and_the_read_model(
    stack: Stack,
) -> None:
    http, officer = stack.http, bearer("sxd.officer")
    codes = []
    for _ in range(3):
        received = await http.post(
            f"{stack.api}/api/v1/dossiers",
            json={"procedure_code": "DN-XD-001", "applicant": APPLICANT},
            headers=officer,
        )
        assert received.status_code == 201, received.text
        codes.append(received.json()["code"])
    for code in codes:
        assert (await http.get(f"{stack.api}/api/v1/dossiers/{code}", headers=officer)).is_success
    deadline = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    asked = await http.post(
        f"{stack.api}/api/v1/dossiers/{codes[0]}/consultations",
        json={"agencies": ["CAT"], "content": "Xin ý kiến", "deadline": deadline},
        headers=officer,
    )
    assert asked.status_code == 201, asked.text
    await stack.env.client.get_schedule_handle(SWEEP_SCHEDULE_ID).trigger()

    # The API: counted by route template across its two processes, exactly.
    requests = (
        'sum(motcua_http_requests_total{job="motcua-api",method="%s",route="%s",status="%s"})'
    )
    await stack.figure(requests % ("POST", "/api/v1/dossiers", "201"), 3)
    await stack.figure(requests % ("GET", "/api/v1/dossiers/{code}", "200"), 3)
    await stack.figure(
        'sum(motcua_http_request_duration_seconds_count{route="/api/v1/dossiers/{code}"})', 3
    )
    # The read model's figures.
    await stack.figure('sum(motcua_open_dossiers{lead_agency="SXD"})', 3)
    await stack.figure('motcua_open_dossiers{lead_agency="SXD",status="consulting"}', 1)
    await stack.figure('motcua_overdue_consultations{agency="CAT"}', 1)
    await stack.figure('motcua_reminders_sent_total{kind="reminder_1"}', 1)
    swept = await stack.present("motcua_ended_runs_sweep_last_run_timestamp_seconds")
    assert abs(swept - time.time()) < 300
    # The worker: the Temporal SDK's own metrics, from its runtime's endpoint.
    await stack.figure('up{job="motcua-worker"}', 1)
    slots = (
        'temporal_worker_task_slots_available{job="motcua-worker",task_queue="%s",worker_type="%s"}'
    )
    assert await stack.present(slots % (TASK_QUEUE, "WorkflowWorker")) > 0
    assert await stack.present(slots % (TASK_QUEUE, "ActivityWorker")) > 0
    assert (
        await stack.present(
            'sum(temporal_workflow_task_schedule_to_start_latency_seconds_count{job="motcua-worker"})'
        )
        > 0
    )
    await stack.present('temporal_sticky_cache_size{job="motcua-worker"}')
    assert (
        await stack.present(
            "sum(temporal_local_activity_execution_latency_seconds_count"
            '{activity_type="settle_dossier"})'
        )
        >= 4
    )

    # The alert rules are loaded and quiet: a worker is up, the sweep ran. An evaluation that
    # came before the worker's first scrape left MotcuaNoWorker pending: the next one clears it.
    async def rules() -> dict[str, Any]:
        groups = (await http.get(f"{stack.prometheus}/api/v1/rules")).json()["data"]["groups"]
        return {rule["name"]: rule for group in groups for rule in group["rules"]}

    loaded = await eventually(
        rules, lambda found: found["MotcuaNoWorker"]["state"] == "inactive", "MotcuaNoWorker quiet"
    )
    assert len(loaded) == 6 and all(rule["health"] == "ok" for rule in loaded.values())
