"""Replaying a dossier's history (`make bench-replay`): what a worker spends to bring a run it
does not hold back into memory, the cost behind the first action on an evicted dossier (issue 12).

Each recorded history of the current version (tests/histories/*.<version>.json) is replayed
`--runs` times through the worker's own sandbox and converter (`worker.workflow_runner`), one
fresh run each, after one warm-up; it prints the CPU per replayed run and per history event, and
the same figures through the SDK's plain sandbox runner beside them, as a ratio (what the
worker's sandbox, `workflows/sandbox.py`, saves).

    python -m bench.replay [--runs 30] [--version v7]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker import WORKFLOWS, workflow_runner
from workflows.converter import data_converter

HISTORIES = Path(__file__).parents[1] / "tests" / "histories"


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def cpu_per_replay(runner: WorkflowRunner, history: WorkflowHistory, runs: int) -> float:
    """CPU seconds per replay of `history` (each replay a new run in the sandbox)."""
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=data_converter, workflow_runner=runner
    )
    await replayer.replay_workflow(history)  # warm-up: imports, first compilations
    started = time.process_time()
    async with replayer.workflow_replay_iterator(_repeat(history, runs)) as results:
        async for result in results:
            assert result.replay_failure is None, result.replay_failure
    return (time.process_time() - started) / runs


async def _repeat(history: WorkflowHistory, runs: int) -> AsyncIterator[WorkflowHistory]:
    for n in range(runs):
        yield WorkflowHistory(f"{history.workflow_id}-{n}", history.events)


async def main(runs: int, version: str) -> None:
    plain = SandboxedWorkflowRunner(restrictions=workflow_runner().restrictions)
    paths = sorted(HISTORIES.glob(f"*.{version}.json"))
    print(f"motcua replay benchmark — {runs} replays of each {version} history, CPU per replay")
    header = ("history", "events", "worker ms", "µs/event", "SDK plain ms", "ratio")
    print("  {:<40} {:>6} {:>10} {:>9} {:>13} {:>6}".format(*header))
    for path in paths:
        history = load(path)
        ours = await cpu_per_replay(workflow_runner(), history, runs)
        sdk = await cpu_per_replay(plain, history, runs)
        events = len(history.events)
        print(
            f"  {path.name:<40} {events:>6} {ours * 1000:>10.1f} {ours / events * 1e6:>9.0f}"
            f" {sdk * 1000:>13.1f} {ours / sdk:>6.2f}"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="replays of each history")
    parser.add_argument("--version", default="v7", help="the recorded version to replay")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.version))


if __name__ == "__main__":
    cli()
