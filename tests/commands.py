"""A project command (`python -m bench`, `python -m bench.chaos`…) run as its user runs it."""

from __future__ import annotations

import signal
import subprocess

import pytest

from settings import REPO_ROOT


def run_command(
    argv: list[str], *, timeout_s: float, stop: signal.Signals = signal.SIGTERM
) -> tuple[int, str]:
    """Run `argv` in the repository's root: its exit status and its output (stdout and stderr
    together). Past `timeout_s` it gets `stop`, whose cleanup stops every process it started,
    and the test fails with what it printed."""
    command = subprocess.Popen(
        argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = command.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        command.send_signal(stop)
        output, _ = command.communicate(timeout=60)
        pytest.fail(f"{' '.join(argv[1:3])} did not finish within {timeout_s} s:\n{output}")
    return command.returncode, output
