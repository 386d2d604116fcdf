"""Issue 12, the lifecycle benchmark's new output: `python -m bench --profile` at a tiny size on
the real stack prints each process's CPU and the history's events (by type) and bytes per
lifecycle beside bare Temporal's, and writes the py-spy profiles of both workers and of the API
as text. What it
measured is not judged (speed is not tested); the summariser is checked on stacks of our own."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from bench.histories import event_type_name
from bench.profiling import API, API_AREAS, Frame, Profile, area_of, summary
from tests.commands import run_command

RUN_TIMEOUT_S = 200  # about 30 s on a 2-core machine shared with other work


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_bench_prints_cpu_and_history_events_per_lifecycle_beside_bare_and_writes_the_profile(
    tmp_path: Path,
) -> None:
    argv = [
        sys.executable, "-m", "bench", "--lifecycles", "2", "--clients", "2", "--rounds", "1",
        "--refusals", "5", "--history-sample", "2", "--profile", "--profile-dir", str(tmp_path),
    ]  # fmt: skip
    status, output = run_command(argv, timeout_s=RUN_TIMEOUT_S, stop=signal.SIGINT)

    assert status == 0, output
    for row in (
        "CPU Temporal dev server",
        "CPU worker (motcua / bare)",
        "CPU motcua API",
        "history events",
        "history KB",
        "history events by type, per lifecycle (2 and 2 closed workflows",
        "load average (1, 5, 15 min)",
    ):
        assert f"    {row}" in output or f"  {row}" in output, output
    # Each of the seven actions is an update on both sides: accepted and completed.
    for update_event in ("WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted"):
        assert re.search(rf"^    {update_event} +7\.0 +7\.0 +1\.0×$", output, re.M), output

    text = profile_text(
        tmp_path,
        "worker",
        "==== motcua worker (full stack rounds) ====",
        "==== bare worker (bare Temporal rounds) ====",
        "Worker CPU by thread",
        "Python samples by area",
        "Top 25 functions by self samples",
        "Top 25 functions by cumulative samples",
    )
    assert "2 lifecycles" in text, text
    text = profile_text(
        tmp_path,
        "api",
        "==== motcua API (full stack rounds) ====",
        "API CPU by thread",
        "Python samples by area",
        "the caller from the token (api.auth.current_actor)",
    )
    assert "==== bare worker" not in text, text


def profile_text(directory: Path, name: str, *headings: str) -> str:
    """The one `<date>-<name>.txt` profile in `directory`, holding every heading, with its full
    stack's collapsed stacks beside it."""
    [profile] = directory.glob(f"*-{name}.txt")
    text = profile.read_text()
    for heading in headings:
        assert heading in text, text
    assert profile.with_suffix(".full.folded").read_text().strip(), text
    return text


def test_a_sample_counts_in_the_area_of_its_innermost_recognised_frame() -> None:
    def frames(*names: str) -> list[Frame]:
        return [Frame.parse(n) for n in names]

    settle = "SettlementActivities.settle_dossier (activities/settlement.py:40)"
    execute = "Connection._execute (aiosqlite/core.py:120)"
    dumps = "dumps (json/__init__.py:231)"
    assert area_of(frames("<module> (worker.py:1)", settle, execute)) == "SQL: SQLAlchemy, drivers"
    assert area_of(frames(settle, dumps)) == "payload conversion (pydantic, JSON)"
    assert area_of(frames(settle)) == "our activities and db/"
    assert area_of(frames("f (somewhere.py:1)")) == "other"


def test_an_api_sample_counts_in_the_api_area_of_its_innermost_recognised_frame() -> None:
    def area(*names: str) -> str:
        return area_of([Frame.parse(n) for n in names], API_AREAS)

    actor = "current_actor (api/auth.py:560)"
    decode = "PyJWT.decode (jwt/api_jwt.py:200)"
    parties = "parties (db/read_model.py:100)"
    execute = "Connection._execute (aiosqlite/core.py:150)"
    solve = "solve_dependencies (fastapi/dependencies/utils.py:671)"
    assert area(solve, actor, decode) == "auth: JWT verification"
    assert area(solve, parties, execute) == "SQL: SQLAlchemy, drivers"
    assert area(solve, parties) == "our service/, db/, domain/ code"
    assert area(solve) == "FastAPI: dependencies, validation, serialisation"


def test_the_api_summary_names_its_process_and_tasks() -> None:
    profile = Profile(lifecycles=1, thread_cpu_s={API.main_thread: 0.1})
    profile.add_raw(
        "app (fastapi/routing.py:1);current_actor (api/auth.py:5);decode (jwt/api_jwt.py:9) 1\n"
    )
    text = summary(profile, "title", breakdown=API)
    assert "API CPU by thread" in text, text
    assert "  100.0 ms/lifecycle  100.0 %  auth: JWT verification" in text, text
    assert "  100.0 ms/lifecycle  100.0 %  the caller from the token" in text, text


def test_summary_counts_self_and_cumulative_samples() -> None:
    profile = Profile(lifecycles=2, thread_cpu_s={"main thread": 0.2})
    profile.add_raw(
        "run (asyncio/runners.py:1);settle (activities/settlement.py:5);"
        "execute (sqlalchemy/engine/base.py:9) 3\n"
        "run (asyncio/runners.py:1);settle (activities/settlement.py:5) 1\n"
    )
    text = summary(profile, "title")
    assert "  75.0 %  execute (sqlalchemy/engine/base.py)" in text, text  # self
    assert " 100.0 %  settle (activities/settlement.py)" in text, text  # cumulative
    assert "   75.0 ms/lifecycle   75.0 %  SQL: SQLAlchemy, drivers" in text, text


def test_event_types_are_named_as_temporal_shows_them() -> None:
    name = event_type_name(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    assert name == "WorkflowExecutionUpdateAccepted"
