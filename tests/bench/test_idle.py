"""Issue 12, the idle-capacity benchmark as a project command: `python -m bench.idle` (what
`make bench-idle` runs) at a small size (20 dossiers) on the real stack. It runs end to end and
prints every column and every target; what it measured is not judged (speed is not tested)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.idle import COLUMNS
from tests.commands import run_command

pytestmark = pytest.mark.timeout(240)

RUN_TIMEOUT_S = 200  # about 35 s on a 2-core machine shared with other work


def test_idle_bench_opens_dossiers_restarts_the_worker_and_prints_every_column(
    tmp_path: Path,
) -> None:
    figures_path = tmp_path / "idle.json"
    argv = [
        sys.executable, "-m", "bench.idle",
        "--steps", "10,20", "--clients", "4", "--sample", "5", "--timers", "3",
        "--timer-deadline", "8", "--settle", "0.5", "--json", str(figures_path),
    ]  # fmt: skip
    status, output = run_command(argv, timeout_s=RUN_TIMEOUT_S)

    assert status == 0, output
    assert COLUMNS in output, output
    for target in (
        "worker memory flat in N",
        "worker MB per cached run",
        "history per open dossier",
        "first action, evicted, p99",
        "creation p99 / p50",
    ):
        assert f"  {target}" in output, output
    assert "worker restarted (SIGTERM, started again)" in output, output

    figures = json.loads(figures_path.read_text())
    baseline, *steps = figures["steps"]
    assert baseline["dossiers"] == 0 and baseline["worker_mb"] > 0, output
    assert [s["dossiers"] for s in steps] == [10, 20], output
    for step in steps:
        for column in (
            "rate", "p50_ms", "p99_ms", "worker_mb", "server_mb", "api_mb", "temporal_db_mb",
            "app_db_mb", "history_kb_per_dossier", "history_events", "history_kb", "load",
        ):  # fmt: skip
            assert step[column] > 0, (column, output)
    assert len(figures["cached_action_ms"]) == len(figures["first_action_ms"]) == 5, output
    # Every short deadline's reminder 1 came, after its deadline (never before).
    assert figures["timers_missing"] == 0, output
    assert len(figures["timer_lateness_ms"]) == 3, output
    assert all(late >= 0 for late in figures["timer_lateness_ms"]), output
