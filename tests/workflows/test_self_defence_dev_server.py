"""Issue 8: the workflow defends itself, whatever reaches it (an update, a signal from the CLI),
on the dev server with the read model on a real PostgreSQL.

- item 1: a NUL sent past the API: by update, turned away as the worker reads it with the
  command's limits; by signal, refused and recorded escaped; never freezing the dossier;
- item 2: huge requests (turned away by update, kept as excerpts by signal) and many distinct
  refused ones keep the state bounded and the dossier answering;
- a write the database refuses (injected past the API: a CHECK constraint, a NUL in an
  applicant's name started through the Temporal client) is recorded, the dossier goes on, and
  the read model is repaired once the cause is fixed; a dossier the old code wedged on one comes
  back by deploying this worker;
- item 7: every signal is accounted for: one that does not decode, an unknown one, an officer's
  action under an ops identity are refused and recorded; ops staff act as `ops:<operator>`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)

from db.migrate import prepare
from domain.commands import Actor, SosAction, SosRequest
from domain.dossier import REFUSALS_KEPT_PER_ACTOR, Applicant
from domain.limits import AS_RECORDED
from settings import REPO_ROOT, Settings
from tests.workflows.harness import (
    FIRE,
    LEAD,
    Stack,
    new_start,
    officer,
    refusal_of,
    running_stack,
)
from tests.workflows.steps import Handle, Step, consult, now, sos
from workflows.dossier import DossierWorkflow
from workflows.starter import WORKFLOW_ID_PREFIX, start_dossier

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.postgres]


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    dev_client: Client, task_queue: str, empty_postgres_url: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    settings = Settings(
        database_url=empty_postgres_url, task_queue=task_queue, reminder_grace="PT30S"
    )
    await prepare(settings.database)
    async with running_stack(dev_client, settings) as running:
        yield running


async def sql(stack: Stack, statement: str, *args: Any) -> list[asyncpg.Record]:
    url = make_url(stack.settings.database).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        return await connection.fetch(statement, *args)
    finally:
        await connection.close()


async def read_model_events(stack: Stack, handle: Handle) -> list[asyncpg.Record]:
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    return await sql(
        stack, "SELECT seq, kind, actor, detail FROM events WHERE dossier = $1 ORDER BY seq", code
    )


async def settled_events(stack: Stack, handle: Handle, count: int) -> list[asyncpg.Record]:
    """The read model's events once it has `count` of them (a signal's write lands after the
    signal is accepted), or what it has after 5 s."""
    for _ in range(50):
        events = await read_model_events(stack, handle)
        if len(events) >= count:
            break
        await asyncio.sleep(0.1)
    return events


async def details(handle: Handle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


def unchecked_sos(action: SosAction, by: Actor | None = None, **fields: Any) -> Step:
    """An SOS update sent past any client's checks (as the CLI or another client may)."""
    body = {"actor": (by or officer()).model_dump(mode="json"), "action": action, **fields}
    command = SosRequest.model_validate(body, context=AS_RECORDED)
    return lambda h: h.execute_update(DossierWorkflow.sos, command)


async def sos_by_signal(handle: Handle, by: Actor | None = None, **fields: Any) -> None:
    actor = (by or officer()).model_dump(mode="json")
    await handle.signal("sos_signal", {"actor": actor, "action": "stop", **fields})


async def accepted_updates(handle: Handle) -> list[int]:
    """The size of each update input the history accepted."""
    history = await handle.fetch_history()
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.ByteSize()
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def test_item1_a_nul_reaches_no_state_and_freezes_nothing(stack: Stack) -> None:
    handle = await stack.start(now())
    await consult(FIRE)(handle)
    before = len(await read_model_events(stack, handle))
    # By update: the worker reads it with the command's limits and turns it away unaccepted.
    with pytest.raises(WorkflowUpdateFailedError):
        await unchecked_sos(SosAction.STOP, reason="x\u0000y", by=officer("SNNMT"))(handle)
    assert len(await accepted_updates(handle)) == 2  # the receipt and the consultation
    # By signal, which cannot be turned away: refused, recorded escaped, written to PostgreSQL.
    await sos_by_signal(handle, by=officer("SNNMT"), reason="x\u0000y")
    events = await settled_events(stack, handle, before + 1)
    refused = json.loads(events[-1]["detail"])
    assert (events[-1]["kind"], refused["code"]) == ("refused", "validation_error")
    assert "x\\u0000y" in refused["request"]["body"]
    # the dossier still answers at once: the next action is decided and written
    assert (await refusal_of(sos(SosAction.STOP)(handle)))[
        "code"
    ] == "sos_rejected_awaiting_replies"
    assert len(await read_model_events(stack, handle)) == before + 2


async def test_item2_huge_requests_keep_the_state_bounded(stack: Stack) -> None:
    handle = await stack.start(now())
    await consult(FIRE)(handle)
    huge = "A" * 1_500_000
    for n in range(3):  # by update: turned away unaccepted, the history keeps none of them
        with pytest.raises(WorkflowUpdateFailedError):
            await unchecked_sos(SosAction.STOP, reason=huge + str(n))(handle)
    assert max(await accepted_updates(handle)) < 10_000
    for n in range(3):  # by signal: refused (beyond the limits) and kept as an excerpt
        await sos_by_signal(handle, reason=huge + str(n))
    for _ in range(REFUSALS_KEPT_PER_ACTOR + 10):  # distinct, past the actor's cap
        await refusal_of(sos(SosAction.STOP, reason=f"{_}" * 200)(handle))
    doc = await handle.query(DossierWorkflow.document)
    assert len(doc.model_dump_json()) < 200_000
    refused = [e for e in doc.events if e.kind == "refused"]
    assert len(refused) <= REFUSALS_KEPT_PER_ACTOR + 1
    assert sum(e.detail.get("repeated", 1) for e in refused) == 3 + REFUSALS_KEPT_PER_ACTOR + 10
    assert refused[0].detail["code"] == "validation_error"
    assert len(refused[0].detail["request"]["body"]) <= 1001
    # the read model has every attempt counted, on the rows it holds
    rows = await read_model_events(stack, handle)
    counted = sum(
        json.loads(r["detail"]).get("repeated", 1) for r in rows if r["kind"] == "refused"
    )
    assert counted == 3 + REFUSALS_KEPT_PER_ACTOR + 10


async def test_a_write_the_database_refuses_is_recorded_and_repaired_once_fixed(
    stack: Stack,
) -> None:
    await sql(
        stack,
        "ALTER TABLE dossiers ADD CONSTRAINT test_poison CHECK (applicant->>'name' <> 'POISON')",
    )
    try:
        start = new_start(now()).model_copy(update={"applicant": Applicant(name="POISON")})
        started, _ = await start_dossier(stack.client, start, task_queue=stack.settings.task_queue)
        handle = stack.client.get_workflow_handle_for(DossierWorkflow.run, started.id)
        stack.started.append(handle)
        # not frozen: an action is decided and answered at once
        assert (await refusal_of(sos(SosAction.STOP, reason=" ")(handle)))["code"] == (
            "reason_required"
        )
        assert "READ MODEL BEHIND" in await details(handle)
        assert await read_model_events(stack, handle) == []
        doc = await handle.query(DossierWorkflow.document)
        assert "read_model_write_failed" in [e.kind for e in doc.events]
    finally:
        await sql(stack, "ALTER TABLE dossiers DROP CONSTRAINT test_poison")
    await handle.signal("retry_read_model", {"operator": "ops.lan"})
    events = await settled_events(stack, handle, 3)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "received" and "read_model_write_failed" in kinds and "refused" in kinds
    assert "READ MODEL BEHIND" not in await details(handle)


async def test_a_nul_in_an_applicants_name_started_past_the_api_freezes_nothing(
    stack: Stack,
) -> None:
    poisoned = Applicant.model_validate({"name": "Lê\u0000Văn"}, context=AS_RECORDED)
    start = new_start(now()).model_copy(update={"applicant": poisoned})
    started, _ = await start_dossier(stack.client, start, task_queue=stack.settings.task_queue)
    handle = stack.client.get_workflow_handle_for(DossierWorkflow.run, started.id)
    stack.started.append(handle)
    await consult(FIRE)(handle)  # accepted and answered, though the read model is behind
    assert "READ MODEL BEHIND" in await details(handle)
    assert (await handle.query(DossierWorkflow.document)).status == "consulting"


async def test_item7_a_signal_that_does_not_decode_is_recorded_not_dropped(
    stack: Stack,
) -> None:
    handle = await stack.start(now())
    await handle.signal("sos_signal", {"action": "stop", "reason": "Chờ"})  # no actor
    await handle.signal("sos_signal", {"actor": {"user_id": "u1", "agency": LEAD}, "action": 7})
    await handle.signal("no_such_signal", {"x": "\u0000"})
    await handle.signal("reply_signal", args=["a", "b"])
    doc = await handle.query(DossierWorkflow.document)
    refused = [e for e in doc.events if e.kind == "refused"]
    assert [(e.detail["code"], e.detail["via"]) for e in refused] == [
        ("validation_error", "signal"),
        ("validation_error", "signal"),
        ("unknown_signal", "signal"),
        ("validation_error", "signal"),
    ]
    assert refused[0].actor == "?" and "actor" in refused[0].detail["reason"]
    assert '"reason": "Chờ"' in refused[0].detail["request"]["body"]
    assert (refused[1].actor, refused[1].detail["actor_agency"]) == ("u1", LEAD)
    assert refused[2].detail["action"] == "no_such_signal"
    assert "\\u0000" in refused[2].detail["request"]["body"]
    assert len(await settled_events(stack, handle, len(doc.events))) == len(doc.events)


async def test_item7_ops_staff_act_as_ops_identity_never_as_an_officer(stack: Stack) -> None:
    handle = await stack.start(now())
    await handle.signal("sos_signal", {"operator": "ops.lan", "action": "stop", "reason": "x"})
    ops_actor = Actor(user_id="ops:ops.lan", agency=LEAD).model_dump(mode="json")
    await handle.signal("sos_signal", {"actor": ops_actor, "action": "stop", "reason": "x"})
    await handle.signal("operator_note", {"operator": "ops.lan", "note": "Reset sau sự cố"})
    await handle.signal("calendar_changed", {"operator": "ops.lan"})
    doc = await handle.query(DossierWorkflow.document)
    assert doc.status == "processing"  # no stop
    refused = [e for e in doc.events if e.kind == "refused"]
    assert [(e.actor, e.detail["code"]) for e in refused] == [
        ("ops:ops.lan", "forbidden"),
        ("ops:ops.lan", "forbidden"),
    ]
    note = doc.events[-1]
    assert (note.kind, note.actor, note.detail) == (
        "operator_note",
        "ops:ops.lan",
        {"note": "Reset sau sự cố"},
    )


async def test_a_dossier_the_old_code_wedged_on_a_refused_write_needs_only_this_worker(
    dev_client: Client, task_queue: str, empty_postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=empty_postgres_url, task_queue=task_queue)
    await prepare(settings.database)
    env = {
        **os.environ,
        "MOTCUA_TEMPORAL_ADDRESS": dev_client.service_client.config.target_host,
        "MOTCUA_TASK_QUEUE": task_queue,
        "MOTCUA_DATABASE_URL": settings.database,
        "MOTCUA_LOG_FORMAT": "json",
    }
    with (tmp_path / "old_worker.log").open("wb") as log:
        old = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.workflows.old_worker",
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        stack = Stack(dev_client, settings)
        handle = await stack.start(now())
        await sql(stack, "ALTER TABLE events ADD CONSTRAINT test_poison CHECK (kind <> 'refused')")
        with pytest.raises((TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError)):
            # wedged: the write is retried forever
            await asyncio.wait_for(refusal_of(sos(SosAction.STOP, reason=" ")(handle)), 5)
    finally:
        old.kill()  # the old worker never stops short of it, with a write in retry
        await old.wait()
    async with running_stack(dev_client, settings) as fixed:
        fixed.started.append(handle)
        # the write in retry now fails as refused, and the dossier answers again
        await asyncio.wait_for(consult(FIRE)(handle), 60)
        assert "READ MODEL BEHIND" in await details(handle)
        await sql(fixed, "ALTER TABLE events DROP CONSTRAINT test_poison")
        await handle.signal("retry_read_model", {"operator": "ops.lan"})
        doc = await handle.query(DossierWorkflow.document)
        events = await settled_events(fixed, handle, len(doc.events))
        assert [e["kind"] for e in events] == [e.kind for e in doc.events]
        assert "refused" in [e.kind for e in doc.events]
