"""deploy/entrypoint.sh, the image's entry point, run as the pods run it (issue 11): `api` serves
the probes the API's Deployment uses, with Temporal out of reach, as api.app.uvicorn_argv runs
it, and stops on SIGTERM within its bound; `migrate` (the Job) brings an empty database to the
newest revision with the catalogue. The image itself is not built here (deploy/README.md)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory

from api.app import API_SHUTDOWN_S, uvicorn_argv
from db.migrate import alembic_config
from settings import REPO_ROOT
from tests.fixtures.api import free_port

ENTRYPOINT = REPO_ROOT / "deploy" / "entrypoint.sh"
NO_TEMPORAL = "127.0.0.1:1"
START_TIMEOUT_S = 60.0


def environment(tmp_path: Path, **more: str) -> dict[str, str]:
    """The pod's environment: the virtualenv's python first on PATH, as /opt/venv in the image."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    return {
        **keep,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MOTCUA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'motcua.db'}",
        "MOTCUA_DATA_DIR": str(tmp_path),
        "MOTCUA_LOG_FORMAT": "json",
        **more,
    }


def test_entrypoint_api_answers_the_probes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        MOTCUA_API_PORT=str(port),
        MOTCUA_TEMPORAL_ADDRESS=NO_TEMPORAL,
        MOTCUA_JWT_SECRET="entrypoint-test-secret-of-32-bytes!",
    )
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [str(ENTRYPOINT), "api"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        healthz = wait_for(f"http://127.0.0.1:{port}/healthz", process, tmp_path / "api.log")
        assert healthz.status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 503  # Temporal out of reach: no traffic to this pod
        assert ready.json()["checks"] == {"temporal": False, "database": True}

        # `exec`: the shell became uvicorn, run with the flags make run and the README use.
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
        expected = uvicorn_argv("0.0.0.0", port)[1:]
        assert argv[1 : 1 + len(expected)] == expected

        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal it caught, as its exit status.
        assert process.wait(timeout=API_SHUTDOWN_S + 10) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in (tmp_path / "api.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_entrypoint_migrate_brings_an_empty_database_to_the_newest_revision(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path)
    done = subprocess.run(
        [str(ENTRYPOINT), "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with sqlite3.connect(tmp_path / "motcua.db") as database:
        [(revision,)] = database.execute("SELECT version_num FROM alembic_version").fetchall()
        [(agencies,)] = database.execute("SELECT count(*) FROM agencies").fetchall()
    assert revision == head
    assert agencies > 0  # the catalogue file was applied


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    """The first answer from `url`; fails with the process's log if it exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} within {START_TIMEOUT_S} s:\n{log.read_text()}")
