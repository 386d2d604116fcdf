"""Record the histories that tests/workflows/test_replay.py replays: `make histories`.

Each scenario of tests/workflows/scenarios.py runs on a fresh in-memory server against the
current DossierWorkflow; every run of it (continue-as-new makes several) is written as
`<scenario>[.run<N>].<version>.json`. Existing files are never overwritten: a history recorded by
an older version is the proof that dossiers started by that version still replay. Record anew
with a new `--version` label whenever the workflow's logic changes (and keep the old files).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from dev.mailcatcher import serve
from tests.fixtures.api import free_port
from tests.fixtures.temporal import (
    TINY_HISTORY,
    binary,
    register_search_attributes,
    start_dev_server,
)
from tests.workflows.harness import running_stack, stack_settings
from tests.workflows.scenarios import CONTINUED_AS_NEW, DEV_SERVER, TIME_SKIPPING, Scenario
from workflows.converter import data_converter

HERE = Path(__file__).parent


async def record(env: WorkflowEnvironment, scenarios: dict[str, Scenario], version: str) -> None:
    for name, scenario in scenarios.items():
        with tempfile.TemporaryDirectory() as tmp:
            settings = await stack_settings(
                Path(tmp), f"record-{uuid.uuid4()}", reminder_grace="PT1S"
            )
            async with running_stack(env.client, settings) as stack:
                handle = await scenario(stack, env)
                await write_runs(env.client, handle.id, name, version)


async def write_runs(client: Client, workflow_id: str, name: str, version: str) -> None:
    # Walk back from the latest run along continue-as-new (the time-skipping server has no
    # ListWorkflowExecutions), then write the runs oldest first.
    histories = [await client.get_workflow_handle(workflow_id).fetch_history()]
    while (
        previous := histories[0]
        .events[0]
        .workflow_execution_started_event_attributes.continued_execution_run_id
    ):
        handle = client.get_workflow_handle(workflow_id, run_id=previous)
        histories.insert(0, await handle.fetch_history())
    for number, history in enumerate(histories, start=1):
        suffix = f".run{number}" if len(histories) > 1 else ""
        path = HERE / f"{name}{suffix}.{version}.json"
        if path.exists():
            print(f"kept     {path.name} (never overwritten)")
            continue
        path.write_text(history.to_json())
        print(f"recorded {path.name}: {len(history.events)} events")


async def main(version: str) -> None:
    # The scenarios' notices go out by e-mail (v3): a real SMTP server catches them.
    with tempfile.TemporaryDirectory() as mail:
        port = free_port()
        stop = asyncio.Event()
        catcher = asyncio.create_task(serve("127.0.0.1", port, Path(mail), stop))
        os.environ["MOTCUA_SMTP_HOST"], os.environ["MOTCUA_SMTP_PORT"] = "127.0.0.1", str(port)
        try:
            await record_all(version)
        finally:
            stop.set()
            await catcher


async def record_all(version: str) -> None:
    for dynamic_config, scenarios in (
        ((), DEV_SERVER),
        ((f"limit.historyCount.suggestContinueAsNew={TINY_HISTORY}",), CONTINUED_AS_NEW),
    ):
        dev = await start_dev_server(*dynamic_config)
        try:
            await record(dev, scenarios, version)
        finally:
            await dev.shutdown()
    skipping = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=data_converter,
    )
    try:
        await register_search_attributes(skipping.client)
        await record(skipping, TIME_SKIPPING, version)
    finally:
        await skipping.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="label of the workflow version, e.g. v1")
    asyncio.run(main(parser.parse_args().version))
