"""README's `temporal workflow signal` examples, run as written through the real CLI against a
dossier on the dev server: each input has the shape its signal reads (issue 8, item 7), and does
what the README's table says."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from tests.fixtures.temporal import binary
from tests.workflows.harness import FIRE, Stack, running_stack, stack_settings
from tests.workflows.steps import consult, now
from workflows.dossier import DossierWorkflow
from workflows.starter import WORKFLOW_ID_PREFIX

pytestmark = pytest.mark.asyncio(loop_scope="session")

README = Path(__file__).parents[2] / "README.md"
EXAMPLE = re.compile(r"^temporal workflow signal --workflow-id dossier-<code> --name (\w+) .*$")


def examples() -> list[str]:
    return [line for line in README.read_text().splitlines() if EXAMPLE.match(line)]


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_client: Client, task_queue: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue)
    async with running_stack(dev_client, settings) as running:
        yield running


async def cli_signal(stack: Stack, *argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"),
        *argv,
        "--address",
        stack.client.service_client.config.target_host,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (argv, out, err)


async def test_item7_the_issues_signal_without_actor_is_recorded_not_dropped(
    stack: Stack,
) -> None:
    handle = await stack.start(now())
    await cli_signal(
        stack,
        *("workflow", "signal", "--workflow-id", handle.id, "--name", "sos_signal"),
        *("--input", '{"action": "stop", "reason": "Chờ"}'),
    )
    for _ in range(50):
        doc = await handle.query(DossierWorkflow.document)
        if doc.events[-1].kind == "refused":
            break
        await asyncio.sleep(0.1)
    refused = doc.events[-1]
    assert (refused.kind, refused.actor, refused.detail["code"]) == (
        "refused",
        "?",
        "validation_error",
    )
    assert refused.detail["errors"] == ["actor: Field required"]
    assert doc.status == "processing"


async def test_item7_every_readme_signal_example_reads_and_acts(stack: Stack) -> None:
    lines = examples()
    names = [EXAMPLE.match(line).group(1) for line in lines]  # type: ignore[union-attr]
    assert names == [
        "sos_signal",
        "reply_signal",
        "calendar_changed",
        "operator_note",
        "retry_read_model",
    ]
    handle = await stack.start(now())
    await consult(FIRE)(handle)
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    for line in lines:
        await cli_signal(stack, *shlex.split(line.replace("<code>", code))[1:])
    for _ in range(50):
        doc = await handle.query(DossierWorkflow.document)
        if doc.events[-1].kind == "operator_note":
            break
        await asyncio.sleep(0.1)
    refused = [e.detail["code"] for e in doc.events if e.kind == "refused"]
    # the SOS is read and decided by R4 (an opinion awaited), the answer is accepted
    assert refused == ["sos_rejected_awaiting_replies"]
    assert doc.consultations[0].status == "answered"
    assert (doc.events[-1].kind, doc.events[-1].actor) == ("operator_note", "ops:ops.lan")


async def test_item2_a_lone_surrogate_never_reaches_the_state(stack: Stack) -> None:
    """JSON's `\\ud800` would decode into a Python string no payload can hold again (every
    workflow task after it would fail): the SDK's JSON reader refuses it, so an update carrying
    one is refused to its sender and a signal dropped (with the SDK's log line); the dossier
    goes on answering."""
    handle = await stack.start(now())
    poison = (
        '{"actor": {"user_id": "sxd.officer", "agency": "SXD", "roles": ["officer"]}, '
        '"action": "stop", "reason": "x\\ud800"}'
    )
    common = ("--workflow-id", handle.id, "--input", poison)
    await cli_signal(stack, "workflow", "signal", "--name", "sos_signal", *common)
    process = await asyncio.create_subprocess_exec(
        binary("temporal"),
        *("workflow", "update", "execute", "--name", "sos", *common),
        *("--address", stack.client.service_client.config.target_host),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode != 0 and b"Failed decoding arguments" in err, (out, err)
    await consult(FIRE)(handle)  # still answering
    doc = await handle.query(DossierWorkflow.document)
    assert [e.kind for e in doc.events] == ["received", "consultation_requested"]
