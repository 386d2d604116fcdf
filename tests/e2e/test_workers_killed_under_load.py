"""Several worker processes (issue 11): two `python worker.py` processes, as `make run` starts
them (each its own SDK runtime and identity), serve the dossiers that clients drive through the
HTTP API; one is SIGKILLed mid-way. Nothing is lost: every dossier is handed over, its read model
equals its workflow's document; and the other worker carried on, taking the dead one's dossiers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import Authenticator
from bench.chaos import CONSULTED, LEAD, Clients, differences, expect
from db.migrate import seed, upgrade
from settings import REPO_ROOT, Settings
from tests.api.http_helpers import serving
from tests.fixtures.api import SECRET
from workflows.dossier import DossierWorkflow
from workflows.starter import workflow_id

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.timeout(300),
    pytest.mark.postgres,
]

DOSSIERS = 24
CLIENTS = 6  # concurrent lifecycles
KILL_LANDS = timedelta(seconds=1)  # from recording the kill to the process being gone
KILL_AFTER = 6  # lifecycles handed over before worker-1 may be killed


@contextmanager
def worker_processes(
    env: dict[str, str], logs: Path, count: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes numbered 1..count, as dev.run starts them; stopped after."""
    processes = []
    for index in range(1, count + 1):
        with (logs / f"worker-{index}.log").open("ab") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "worker.py"],
                    cwd=REPO_ROOT,
                    env={**env, "MOTCUA_WORKER_INDEX": str(index)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def pollers(client: Client, task_queue: str) -> set[str]:
    """The identities polling `task_queue` for workflow tasks."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {poller.identity for poller in described.pollers}


async def workflow_task_identities(client: Client, code: str) -> list[tuple[datetime, str]]:
    """(time, worker identity) of each workflow task completed in the dossier's history."""
    history = await client.get_workflow_handle(workflow_id(code)).fetch_history()
    return [
        (
            event.event_time.ToDatetime(tzinfo=UTC),
            event.workflow_task_completed_event_attributes.identity,
        )
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


async def test_issue11_one_of_two_workers_killed_under_load_nothing_lost_the_other_carries_on(
    dev_env: WorkflowEnvironment, empty_postgres_url: str, task_queue: str, tmp_path: Path
) -> None:
    client = dev_env.client
    upgrade(empty_postgres_url)
    await seed(empty_postgres_url)
    target = client.service_client.config.target_host
    settings = Settings(
        database_url=empty_postgres_url, task_queue=task_queue, temporal_address=target
    )
    env = {
        **os.environ,
        "MOTCUA_TEMPORAL_ADDRESS": target,
        "MOTCUA_TASK_QUEUE": task_queue,
        "MOTCUA_DATABASE_URL": empty_postgres_url,
        "MOTCUA_LOG_FORMAT": "json",
    }
    app = create_app(settings, Authenticator.with_secret(SECRET))
    with worker_processes(env, tmp_path, 2) as (worker_1, worker_2):
        expected = {f"worker-{i}/{p.pid}@" for i, p in ((1, worker_1), (2, worker_2))}
        for _ in range(300):  # both polling before the load starts, so both take a share
            polling = await pollers(client, task_queue)
            if {identity.split("@")[0] + "@" for identity in polling} >= expected:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(
                f"the workers did not poll: {polling}\n{(tmp_path / 'worker-1.log').read_text()}"
            )
        [survivor] = [i for i in polling if i.startswith("worker-2/")]
        [victim] = [i for i in polling if i.startswith("worker-1/")]

        async with serving(app) as http:
            clients = Clients(http, SECRET)
            handed_over: list[str] = []
            killed_at: list[datetime] = []

            async def lifecycle() -> None:
                created = await clients.post(
                    "-",
                    "/api/v1/dossiers",
                    {"procedure_code": "DN-XD-001", "applicant": {"name": "Nguyễn Thị Tải"}},
                    LEAD,
                )
                code = expect(created, 201).json()["code"]
                base = f"/api/v1/dossiers/{code}"
                deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
                body = {"agencies": list(CONSULTED), "content": "Ý kiến", "deadline": deadline}
                expect(await clients.post(code, f"{base}/consultations", body, LEAD), 201)
                if not killed_at and len(handed_over) >= KILL_AFTER:
                    # Mid-way, and while worker-1 serves this dossier, its replies still to come
                    # (other lifecycles in flight too): kill it.
                    serving = (await workflow_task_identities(client, code))[-1][1]
                    # Checked again after the await: another lifecycle may have killed it since.
                    if serving == victim and not killed_at:
                        killed_at.append(datetime.now(UTC))
                        worker_1.send_signal(signal.SIGKILL)
                for agency, user in CONSULTED.items():
                    path = f"{base}/consultations/{agency}/reply"
                    expect(await clients.post(code, path, {"opinion": "Đồng ý"}, user), 200)
                result = {"outcome": "approved", "document_no": "1/GP"}
                expect(await clients.post(code, f"{base}/result", result, LEAD), 200)
                expect(await clients.post(code, f"{base}/handover", {}, LEAD), 200)
                handed_over.append(code)

            queue = asyncio.Queue[None]()
            for _ in range(DOSSIERS):
                queue.put_nowait(None)

            async def client_loop() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    await lifecycle()

            await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
            assert worker_1.wait(timeout=10) == -signal.SIGKILL

            # Nothing lost: every dossier handed over, the read model equal to the workflow.
            assert len(handed_over) == DOSSIERS and clients.record.unanswered == []
            for code in handed_over:
                handle = client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(code))
                document = await handle.query(DossierWorkflow.document)
                assert document.status == "completed", (code, document.status)
                read = await clients.dossier(code)
                assert dict(differences(document, read)) == {}, code

        # The other worker carried on: after the kill every workflow task was completed by
        # worker-2, including tasks of dossiers that worker-1 had been serving.
        [kill] = killed_at
        after_kill: set[str] = set()
        taken_over = []
        for code in handed_over:
            tasks = await workflow_task_identities(client, code)
            # The server stamps a completion when it receives it: one worker-1 sent in the
            # instant before the signal landed may carry a time just after `kill`.
            after_kill |= {identity for at, identity in tasks if at > kill + KILL_LANDS}
            served_by = [identity for _, identity in tasks]
            if victim in served_by and survivor in served_by[served_by.index(victim) :]:
                taken_over.append(code)
        print(
            f"{len(taken_over)} of {DOSSIERS} dossiers moved from {victim} to {survivor}; "
            f"{clients.record.retries} requests retried"
        )
        assert after_kill == {survivor}, after_kill
        assert taken_over, "no dossier moved from the killed worker to the other"
        assert worker_2.poll() is None
