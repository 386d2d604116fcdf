"""What the API says happened, happened (issue 8), over real HTTP on a dev server of its own that
holds one in-flight update per workflow (`history.maxInFlightUpdates=1`), on both databases.

With the worker stopped, an action answers 503 `workflow_unavailable`, "nothing was changed",
and it stays true: the command expired (`not_after`), so the workflow, once a worker is back,
refuses it without a trace, and the same request with the same Idempotency-Key then applies.
Meanwhile a second action on that dossier hits the server's update-concurrency limit, and is
told 429 `workflow_busy` with `Retry-After`. And the workflow's validator itself, on the
session's dev server, refuses an expired command without a trace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import Authenticator
from db.migrate import seed
from dev.tokens import mint_token
from domain.commands import SosAction, SosRequest
from domain.dossier import DossierDocument
from settings import Settings
from tests.api.http_helpers import assert_problem, new_code, refused, serving
from tests.fixtures.api import APPLICANT, SECRET, USERS
from tests.fixtures.temporal import start_dev_server
from tests.workflows.harness import officer as officer_actor
from tests.workflows.harness import refusal_of, running_stack, stack_settings
from worker import running_worker
from workflows.dossier import DossierWorkflow
from workflows.starter import workflow_id

ACCEPT_WINDOW_S = 1.0
# The API gives a command up only once it can no longer be taken: its window, the workflow
# task that may have validated it, the clock margin (api.workflow_calls).
GIVE_UP_S = ACCEPT_WINDOW_S + 10 + 5
RETURN = {"action": "return", "reason": "Không đủ điều kiện"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def one_update_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server("history.maxInFlightUpdates=1")
    yield env
    await env.shutdown()


def officer(**headers: str) -> dict[str, str]:
    token = mint_token(USERS["sxd.officer"], SECRET, hours=1)
    return {"Authorization": f"Bearer {token}", **headers}


async def test_issue8_a_503_changes_nothing_ever_and_a_busy_dossier_is_429(
    one_update_env: WorkflowEnvironment, database_url: str, task_queue: str
) -> None:
    await seed(database_url)
    settings = Settings(
        database_url=database_url,
        task_queue=task_queue,
        temporal_address=one_update_env.client.service_client.config.target_host,
        update_accept_window_seconds=ACCEPT_WINDOW_S,
    )
    code = new_code()
    sos = f"/api/v1/dossiers/{code}/sos"
    app = create_app(settings, Authenticator.with_secret(SECRET))
    async with serving(app) as http:
        async with running_worker(one_update_env.client, settings):
            body = {"procedure_code": "DN-XD-001", "applicant": APPLICANT, "code": code}
            received = await http.post("/api/v1/dossiers", json=body, headers=officer())
            assert received.status_code == 201, received.text
        # No worker now.
        started = time.monotonic()
        first = asyncio.create_task(
            http.post(sos, json=RETURN, headers=officer(**{"Idempotency-Key": "k1"}))
        )
        await asyncio.sleep(0.5)  # the first is in flight on the server
        busy = await http.post(sos, json=RETURN, headers=officer())

        problem = assert_problem(busy, 429, "workflow_busy")
        assert int(busy.headers["Retry-After"]) >= 1, problem
        # The first still waits on the workflow service, holding no database connection (a
        # few dozen such waits would otherwise drain the pool: the crash harness saw it).
        assert not first.done()
        assert app.state.services.engine.pool.checkedout() == 0
        unavailable = await first
        assert_problem(unavailable, 503, "workflow_unavailable")
        assert time.monotonic() - started >= GIVE_UP_S - 0.5

        async with running_worker(one_update_env.client, settings):
            handle = one_update_env.client.get_workflow_handle(workflow_id(code))
            # A query waits for the pending workflow task: the one the expired command came in.
            taken = await handle.query("document")
            assert taken["status"] == "processing" and [e["kind"] for e in taken["events"]] == [
                "received"
            ]
            shown = await http.get(f"/api/v1/dossiers/{code}", headers=officer())
            assert shown.json()["status"] == "processing" and refused(shown.json()) == []

            # It left no trace, so the client's retry under the same key is a fresh command.
            retried = await http.post(
                sos, json=RETURN, headers=officer(**{"Idempotency-Key": "k1"})
            )
            assert retried.status_code == 200, retried.text
            assert retried.json()["status"] == "returned"


async def test_issue8_the_workflow_refuses_an_expired_command_and_keeps_no_trace(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    """The update validator itself (whatever client sent it): past its `not_after`, a command is
    refused `request_expired` (503) and the history holds nothing of it."""
    settings = await stack_settings(tmp_path, task_queue)
    async with running_stack(dev_env.client, settings) as stack:
        handle = await stack.start(datetime.now(UTC))
        stop = SosRequest(actor=officer_actor(), action=SosAction.STOP, reason="Chờ")
        expired = stop.model_copy(update={"not_after": datetime.now(UTC) - timedelta(seconds=1)})

        refusal = await refusal_of(handle.execute_update(DossierWorkflow.sos, expired))

        assert (refusal["code"], refusal["http_status"]) == ("request_expired", 503)
        history = await handle.fetch_history()
        accepted = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert accepted == ["receipt"]
        in_time = stop.model_copy(update={"not_after": datetime.now(UTC) + timedelta(seconds=30)})
        stopped: DossierDocument = await handle.execute_update(DossierWorkflow.sos, in_time)
        assert stopped.status == "stopped"
