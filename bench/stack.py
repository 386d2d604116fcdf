"""What the benches run against. The harnesses (`make chaos`, `make bench-idle`): motcua started
as `make run` does (`dev.run`), each part a process of its own on free ports, over a fresh data
folder and a fresh app database that are removed at the end, and how such a harness is run as a
command (its database options, SIGINT and SIGTERM stopping every process it started). The
benches over a seeded read model (`make bench-reports`, `bench-pages`, `bench-reads`): the API
alone, without Temporal (`serve_api`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.auth import Authenticator
from bench.seed_reports import drop_database, recreate_database
from db.engine import parse_url
from db.migrate import prepare
from dev.bytecode import write_bytecode
from dev.run import (
    Child,
    DevSettings,
    Stack,
    StackError,
    connect_when_up,
    free_ports,
    temporal_server_argv,
    wait_listening,
)
from settings import REPO_ROOT, Settings
from workflows.converter import data_converter
from workflows.temporal_setup import ensure_search_attributes

DEFAULT_POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
API_SECRET = "bench-secret-of-at-least-thirty-two-bytes"  # of `serve_api`'s tokens


class BenchError(Exception):
    """The harness itself could not go on (a process would not start, a client gave up)."""


class BenchStack:
    """The dev server, mail catcher, worker and API of `dev.run`, each in its own process group
    with its log in the data folder, which can be SIGKILLed and started again one by one. The
    API accepts tokens signed with `jwt_secret`, drawn afresh for each stack."""

    def __init__(self, data_dir: Path, database_url: str, grace: str) -> None:
        write_bytecode()  # as `make bench` and the image: measure what production runs
        grpc, ui, http, metrics, api, smtp = free_ports(6)
        self.settings = DevSettings(
            data_dir=data_dir,
            database_url=database_url,
            temporal_port=grpc,
            temporal_ui_port=ui,
            temporal_http_port=http,
            temporal_metrics_port=metrics,
            api_port=api,
            smtp_port=smtp,
            reminder_grace=grace,
        )
        self.target = f"127.0.0.1:{grpc}"
        self.api_url = f"http://127.0.0.1:{api}"
        self.jwt_secret = secrets.token_urlsafe(32)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        self.stack = Stack(
            data_dir,
            {
                **inherited,  # nothing of the caller's motcua settings may point elsewhere
                "MOTCUA_DATA_DIR": str(data_dir),
                "MOTCUA_DATABASE_URL": database_url,
                "MOTCUA_TEMPORAL_ADDRESS": self.target,
                "MOTCUA_SMTP_HOST": "127.0.0.1",
                "MOTCUA_SMTP_PORT": str(smtp),
                "MOTCUA_MAIL_DIR": str(data_dir / "mail"),
                "MOTCUA_REMINDER_GRACE": grace,
                "MOTCUA_JWT_SECRET": self.jwt_secret,
                "MOTCUA_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
            },
        )
        self.children: dict[str, Child] = {}

    def argv(self, name: str) -> list[str]:
        python = sys.executable
        return {
            "server": temporal_server_argv(self.settings, self.settings.data_dir),
            "mail": [python, "-m", "dev.mailcatcher"],
            "worker": [python, "worker.py"],
            "api": api_argv(self.settings.api_port),
        }[name]

    async def start(self, name: str) -> None:
        """Start `name` and wait until it serves (the worker: until it has connected)."""
        child = await self.stack.start(name, self.argv(name), echo=False)
        self.children[name] = child
        if name == "server":
            await connect_when_up(child, self.target, self.settings.temporal_namespace)
        elif name == "mail":
            await wait_listening(child, self.settings.smtp_port)
        elif name == "api":
            await wait_listening(child, self.settings.api_port)
        elif name == "worker":
            await self._logged(child, '"worker_started"')

    async def _logged(self, child: Child, marker: str, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while marker not in child.tail():
            if child.process.returncode is not None:
                raise child.died("exited while starting")
            if time.monotonic() > deadline:
                raise StackError(f"{child.name} did not log {marker} within {seconds:.0f} s")
            await asyncio.sleep(0.2)

    async def kill(self, name: str) -> None:
        """SIGKILL the process group of `name`, as a crash or the OOM killer would."""
        child = self.children.pop(name)
        self.stack.children.remove(child)
        if child.process.returncode is None:
            os.killpg(child.process.pid, signal.SIGKILL)
        await child.wait_exited()

    async def stop_one(self, name: str) -> None:
        """SIGTERM `name` and wait until it has stopped, as a deploy stops it."""
        child = self.children.pop(name)
        self.stack.children.remove(child)
        await child.stop()

    def exited_by_themselves(self) -> list[str]:
        return [
            f"{name} (exit status {c.process.returncode})"
            for name, c in self.children.items()
            if c.process.returncode is not None
        ]

    async def stop(self) -> None:
        """The API, worker and mail catcher together, then the server (SIGTERM, then SIGKILL)."""
        apps = [c for name, c in self.children.items() if name != "server"]
        await asyncio.gather(*(c.stop() for c in apps))
        if server := self.children.get("server"):
            await server.stop()
        self.children.clear()


@asynccontextmanager
async def running_stack(data_dir: Path, database_url: str, grace: str) -> AsyncIterator[BenchStack]:
    """The whole stack, as `dev.run` starts it, until the block ends; then stopped."""
    stack = BenchStack(data_dir, database_url, grace)
    try:
        await stack.start("server")
        await ensure_search_attributes(await connect(stack), stack.settings.temporal_namespace)
        await prepare(database_url)
        for name in ("mail", "worker", "api"):
            await stack.start(name)
        yield stack
    finally:
        await stack.stop()


async def connect(stack: BenchStack) -> Client:
    return await Client.connect(
        stack.target,
        namespace=stack.settings.temporal_namespace,
        data_converter=data_converter,
    )


def api_argv(port: int, *options: str) -> list[str]:
    """uvicorn serving `api.app:create_app` on 127.0.0.1:`port`, without an access log."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", *options,
    ]  # fmt: skip


# --- the API alone, over a seeded read model ----------------------------------------------------


@dataclass(frozen=True)
class ServedApi:
    url: str  # its base URL
    app: FastAPI | None  # served in this process; None: in a process of its own


@asynccontextmanager
async def serve_api(database_url: str, *, in_process: bool = False) -> AsyncIterator[ServedApi]:
    """The API over `database_url`, served by uvicorn on a free port of 127.0.0.1 until the block
    ends, its tokens signed with API_SECRET. No Temporal: what these benches read is the read
    model's. In a process of its own, as production serves it; `in_process`, in this one, so
    that the bench can watch the API's own engine (`ServedApi.app`)."""
    (port,) = free_ports(1)
    served = _served_here if in_process else _served_apart
    async with served(database_url, port) as app:
        yield ServedApi(f"http://127.0.0.1:{port}", app)


@asynccontextmanager
async def _served_apart(database_url: str, port: int) -> AsyncIterator[None]:
    environment = {
        **os.environ,
        "MOTCUA_DATABASE_URL": database_url,
        "MOTCUA_JWT_SECRET": API_SECRET,
        "MOTCUA_LOG_FORMAT": "json",
    }
    argv = api_argv(port, "--log-level", "warning")
    server = await asyncio.create_subprocess_exec(*argv, cwd=REPO_ROOT, env=environment)
    try:
        await _wait_until_up(f"http://127.0.0.1:{port}", server)
        yield None
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def _wait_until_up(url: str, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"the API exited with {server.returncode} before it served")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not answer /healthz within 60 s")


@asynccontextmanager
async def _served_here(database_url: str, port: int) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        temporal_address="127.0.0.1:1",  # never called
        log_format="json",
    )
    app = create_app(settings, Authenticator.with_secret(API_SECRET))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    try:
        yield app
    finally:
        server.should_exit = True
        await serving


# --- a fresh data folder and app database for each run ------------------------------------------


def add_database_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """--database (`default`: sqlite or postgresql), --postgres-server and --keep."""
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default=default)
    parser.add_argument(
        "--postgres-server",
        default=DEFAULT_POSTGRES_SERVER,
        help="where the fresh database motcua_chaos_<random> is created (and dropped after)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder and database")


async def fresh_database(options: argparse.Namespace, data_dir: Path) -> str:
    if options.database == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'motcua.db'}"
    server = parse_url(options.postgres_server)
    url = server.set(database=f"motcua_chaos_{secrets.token_hex(4)}")
    try:
        await recreate_database(url)
    except RuntimeError as error:  # the server is out of reach
        raise BenchError(str(error)) from error
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def scratch(
    options: argparse.Namespace, prefix: str, say: Callable[[str], None]
) -> AsyncIterator[tuple[Path, str]]:
    """A fresh data folder (named `prefix`…) and app database (`add_database_arguments`) for
    one run: (the folder, the database's URL). Removed when the block ends, the PostgreSQL
    database dropped, unless `--keep`."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        database_url = await fresh_database(options, data_dir)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    try:
        yield data_dir, database_url
    finally:
        if options.keep:
            say(f"kept: {data_dir} and {parse_url(database_url).render_as_string()}")
        else:
            if options.database == "postgresql":
                await drop_database(database_url)
            shutil.rmtree(data_dir, ignore_errors=True)


# --- the command --------------------------------------------------------------------------------


async def interruptible(work: Coroutine[Any, Any, int], say: Callable[[str], None]) -> int:
    """The exit status of `work` (a run and its report); SIGINT or SIGTERM cancels it, whose
    cleanup stops every process (130), and a stack that could not be run is 2."""
    running = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, running.cancel)
    try:
        return await running
    except asyncio.CancelledError:
        say("interrupted; every process stopped")
        return 130
    except (BenchError, StackError) as error:
        say(f"could not run: {error}")
        return 2
