"""Issue 8, the crash harness as a project command: `python -m bench.chaos` (what `make chaos`
runs) at a small size on PostgreSQL: 12 dossiers through the API, the worker SIGKILLed twice and
the dev server once while the reminders fire. It exits 0 only if every invariant holds (R3: each
overdue consultation reminded exactly once at each level, none for on-time answers; no notice
lost or doubled; seq gap-free; read model equal to the workflow; no workflow stuck), and its
figures say that the kills and the reminders happened."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.commands import run_command
from tests.fixtures.databases import DEFAULT_POSTGRES_URL, POSTGRES_URL_VARIABLE

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

RUN_TIMEOUT_S = 200  # about 45 s on an idle 2-core machine


def test_chaos_small_run_on_postgresql_keeps_every_invariant(tmp_path: Path) -> None:
    figures_path = tmp_path / "chaos.json"
    argv = [
        sys.executable, "-m", "bench.chaos",
        "--dossiers", "12", "--worker-kills", "2", "--server-kills", "1",
        "--deadlines", "8:20", "--settle-timeout", "90", "--database", "postgresql",
        "--postgres-server", os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL),
        "--json", str(figures_path),
    ]  # fmt: skip
    status, output = run_command(argv, timeout_s=RUN_TIMEOUT_S)

    assert status == 0, output
    figures = json.loads(figures_path.read_text())["figures"]
    assert figures["dossiers"] == 12, output
    assert Counter(k["kind"] for k in figures["kills"]) == {"worker": 2, "server": 1}, output
    assert figures["answered_on_time"] and figures["answered_late"], output
    assert figures["never_answered"] == figures["reminders_1_expected"] > 0, output
    assert figures["reminders_1_found"] == figures["reminders_1_expected"], output
    assert figures["reminders_2_found"] == figures["reminders_2_expected"], output
    assert figures["quiescence_s"] is not None, output
