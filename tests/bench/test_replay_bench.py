"""`make bench-replay` (bench/replay.py): every recorded history of the current version replays
through the worker's sandbox and the SDK's plain one, and a row of figures is printed for each.
What it measured is not judged (speed is not tested)."""

from __future__ import annotations

import sys

from bench.replay import HISTORIES
from tests.commands import run_command
from tests.workflows.test_replay import VERSIONS


def test_bench_replay_prints_cpu_per_replay_for_every_history_of_the_current_version() -> None:
    version = VERSIONS[-1]
    argv = [sys.executable, "-m", "bench.replay", "--runs", "1", "--version", version]
    status, output = run_command(argv, timeout_s=120)

    assert status == 0, output
    assert "worker ms" in output and "SDK plain ms" in output, output
    for path in sorted(HISTORIES.glob(f"*.{version}.json")):
        [row] = [line for line in output.splitlines() if line.strip().startswith(path.name)]
        figures = row.split()[1:]
        assert len(figures) == 5 and all(float(f) > 0 for f in figures), row
