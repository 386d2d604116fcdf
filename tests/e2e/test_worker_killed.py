"""R3 across a crash: a real worker process (`python worker.py`) is killed with SIGKILL between
reminder 1 and reminder 2, then started again against the same dev server. Reminder 2 arrives
exactly once, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.commands import ConsultationRequest
from settings import REPO_ROOT
from tests.workflows.harness import FIRE, HOME_AFFAIRS, Stack, new_start, officer, stack_settings
from workflows.dossier import DossierWorkflow
from workflows.starter import start_dossier

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(120)]

GRACE_SECONDS = 8


class WorkerProcess:
    """`python worker.py` as production runs it, configured by the environment only."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "worker.py"],
                cwd=REPO_ROOT,
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest_asyncio.fixture(loop_scope="session")
async def worker_process(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[tuple[WorkerProcess, Stack]]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace=f"PT{GRACE_SECONDS}S")
    env = {
        **os.environ,
        "MOTCUA_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "MOTCUA_TASK_QUEUE": task_queue,
        "MOTCUA_DATABASE_URL": settings.database,
        "MOTCUA_REMINDER_GRACE": settings.reminder_grace,
        "MOTCUA_LOG_FORMAT": "json",
    }
    process = WorkerProcess(env, tmp_path / "worker.log")
    process.start()
    try:
        yield process, Stack(dev_env.client, settings)
    finally:
        process.stop()


async def wait_for(stack: Stack, code: str, kind: str, seconds: float) -> int:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if found := len(await stack.notices(code, kind)):
            return found
        await asyncio.sleep(0.2)
    return 0


async def test_r3_reminder_2_exactly_once_when_the_worker_is_killed_in_between(
    dev_client: Client, worker_process: tuple[WorkerProcess, Stack]
) -> None:
    worker, stack = worker_process
    start = new_start(datetime.now(UTC))
    handle, _ = await start_dossier(dev_client, start, task_queue=stack.settings.task_queue)
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    await handle.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(actor=officer(), agencies=[FIRE], content="Ý kiến", deadline=deadline),
    )
    try:
        assert await wait_for(stack, start.code, "reminder_1", 20) == 1
        worker.kill()
        second_due = deadline + timedelta(seconds=GRACE_SECONDS)
        await asyncio.sleep((second_due - datetime.now(UTC)).total_seconds() + 2)
        assert await stack.notices(start.code, "reminder_2") == [], "sent with no worker?"

        worker.start()
        assert await wait_for(stack, start.code, "reminder_2", 60) == 1
        await asyncio.sleep(3)  # long enough for a duplicate to show up, if there were one

        notices = await stack.notices(start.code)
        assert [n.kind for n in notices] == ["consultation_request", "reminder_1", "reminder_2"]
        assert notices[2].cc == [HOME_AFFAIRS]
        doc = await handle.query(DossierWorkflow.document)
        [consultation] = doc.consultations
        assert [r.level for r in consultation.reminders] == [1, 2]
        assert [e.kind for e in doc.events].count("reminder_2") == 1
        assert notices[2].sent_at == consultation.reminders[1].sent_at >= second_due
    finally:
        await handle.terminate("test over")
