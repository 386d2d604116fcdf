"""End to end: `make run` (`python -m dev.run`) on free ports and a fresh data folder brings up the
Web UI, the API, the search attributes, the migrated database and the mail catcher; two worker
and two API processes, one of each killed and started again while the stack keeps answering;
Ctrl-C stops every process it started and exits 0; a second run on the same folder still has the
first run's dossier; `make demo` (`python -m dev.demo`) receives its dossier through that API as
sxd.officer, listed like any other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from domain.localtime import VN
from settings import REPO_ROOT, Settings
from workflows.dossier import DossierWorkflow
from workflows.search_attributes import ALL
from workflows.starter import workflow_id

pytestmark = pytest.mark.timeout(240)  # two starts and two stops of the whole stack, ~40 s

T = TypeVar("T")
STARTUP_TIMEOUT_S = 45.0
STOP_TIMEOUT_S = 30.0


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on, all held open together so that they are distinct."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process from /proc, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return fields[0], int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every living descendant of `root`: pid -> start time (which tells pid reuse apart)."""
    parent: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) and stat[0] != "Z":
            parent[int(entry.name)] = (stat[1], stat[2])
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, (ppid, started) in parent.items():
            if ppid == pid and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def still_alive(processes: dict[int, int]) -> list[int]:
    return [
        pid
        for pid, started in processes.items()
        if (stat := proc_stat(pid)) and stat[0] != "Z" and stat[2] == started
    ]


class DevRun:
    """One `python -m dev.run` in its own process group, as a terminal would run `make run`."""

    def __init__(self, env: dict[str, str], output: Path) -> None:
        self.output = output
        with output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dev.run"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        self.children: dict[int, int] = {}

    def report(self) -> str:
        return f"dev.run output ({self.output}):\n{self.output.read_text(errors='replace')}"

    async def eventually(self, what: str, check: Callable[[], Awaitable[T]]) -> T:
        """Poll `check` until it gives a true value and return that value; fail if dev.run exits
        or time runs out. Errors of a server that is not up yet count as not yet."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert self.process.poll() is None, f"dev.run exited while {what}\n{self.report()}"
            self.children |= descendants(self.process.pid)
            with contextlib.suppress(httpx.HTTPError, RuntimeError, RPCError, sqlite3.Error):
                if result := await check():
                    return result
            assert time.monotonic() < deadline, f"timed out: {what}\n{self.report()}"
            await asyncio.sleep(0.25)

    async def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the foreground process group; return the exit status."""
        self.children |= descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (status := self.process.poll()) is None:
            assert time.monotonic() < deadline, f"dev.run did not stop\n{self.report()}"
            await asyncio.sleep(0.1)
        return status

    def pids_said(self, pattern: str) -> list[int]:
        """The pids that `pattern`'s group matches in the output so far, in order."""
        return [int(pid) for pid in re.findall(pattern, self.output.read_text(errors="replace"))]

    def kill_leftovers(self) -> None:
        """After a failure, end dev.run and whatever it started, by pid, so nothing outlives the
        test holding ports or the SQLite files."""
        if self.process.poll() is None:
            self.children |= descendants(self.process.pid)
            self.process.kill()
            self.process.wait()
        for pid in still_alive(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def dev_run(env: dict[str, str], output: Path) -> AsyncIterator[DevRun]:
    run = DevRun(env, output)
    try:
        yield run
    finally:
        run.kill_leftovers()


async def http_ok(url: str, expected_json: object = None) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as http:
        response = await http.get(url)
    return response.status_code == 200 and (
        expected_json is None or response.json() == expected_json
    )


WORKER_1_STARTED = r"worker-1 \| .*worker_started .*identity=worker-1/(\d+)@"
API_1_STARTED = r"api-1 \| INFO: +Started server process \[(\d+)\]"


async def supervised_processes_come_back(run: DevRun, api_port: int) -> None:
    """SIGKILL worker-1 and api-1: dev.run says so with the exit status and starts each again
    (a new pid under the same name), the dev server and the others untouched, the API answering
    throughout on its one port."""

    async def started(pattern: str, count: int) -> list[int]:
        pids = run.pids_said(pattern)
        return pids if len(pids) >= count else []

    [worker_pid] = await run.eventually("worker-1 starting", lambda: started(WORKER_1_STARTED, 1))
    [api_pid] = await run.eventually("api-1 starting", lambda: started(API_1_STARTED, 1))
    os.kill(worker_pid, signal.SIGKILL)
    os.kill(api_pid, signal.SIGKILL)
    assert await http_ok(f"http://127.0.0.1:{api_port}/healthz"), run.report()  # api-2, or queued
    worker_pids = await run.eventually("worker-1 restarted", lambda: started(WORKER_1_STARTED, 2))
    api_pids = await run.eventually("api-1 restarted", lambda: started(API_1_STARTED, 2))
    assert worker_pids[0] == worker_pid != worker_pids[1] and api_pids[1] != api_pid
    said = run.report()
    for name in ("worker-1", "api-1"):
        assert re.search(
            rf"dev.run \| {name} exited \(killed by SIGKILL\) after \d+ s; restart 1 in 1 s", said
        ), said
        assert re.search(
            rf"child_restarting .*child={name} .*exit_status=.?killed by SIGKILL", said
        ), said
    assert "worker-2 exited" not in said and "api-2 exited" not in said, said


async def worker_metrics_served(port: int) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    return response.status_code == 200 and "temporal_worker_task_slots_available" in response.text


async def test_make_run_serves_stops_cleanly_and_keeps_workflows(tmp_path: Path) -> None:
    grpc, ui, http_api, metrics, api, smtp, worker_metrics = free_ports(7)
    overrides = {
        "MOTCUA_DATA_DIR": str(tmp_path / "var"),
        "MOTCUA_TEMPORAL_PORT": str(grpc),
        "MOTCUA_TEMPORAL_UI_PORT": str(ui),
        "MOTCUA_TEMPORAL_HTTP_PORT": str(http_api),
        "MOTCUA_TEMPORAL_METRICS_PORT": str(metrics),
        "MOTCUA_API_PORT": str(api),
        "MOTCUA_SMTP_PORT": str(smtp),
        "MOTCUA_WORKER_PROCESSES": "2",
        "MOTCUA_API_PROCESSES": "2",
        "MOTCUA_WORKER_METRICS_ADDRESS": f"127.0.0.1:{worker_metrics}",
    }
    env = {**os.environ, **overrides}
    for inherited in ("MOTCUA_TEMPORAL_ADDRESS", "MOTCUA_DATABASE_URL"):  # would point elsewhere
        env.pop(inherited, None)
    settings = Settings(data_dir=tmp_path / "var", database_url=None)
    app_db = make_url(settings.database).database
    assert app_db is not None
    target = f"127.0.0.1:{grpc}"

    async def connect() -> Client:
        return await Client.connect(
            target, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
        )

    async def search_attributes_registered(client: Client) -> bool:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=settings.temporal_namespace)
        )
        wanted = {k.name: IndexedValueType.ValueType(k.indexed_value_type.value) for k in ALL}
        return {name: listed.custom_attributes.get(name) for name in wanted} == wanted

    async def mail_catcher_greets() -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", smtp)
        try:
            return (await asyncio.wait_for(reader.readline(), 5)).startswith(b"220 ")
        finally:
            writer.close()
            await writer.wait_closed()

    async def migrations_applied() -> bool:
        with contextlib.closing(sqlite3.connect(f"file:{app_db}?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1

    async with dev_run(env, tmp_path / "first-run.out") as first:
        await first.eventually("waiting for the Web UI", lambda: http_ok(f"http://127.0.0.1:{ui}/"))
        await first.eventually(
            "waiting for the API",
            lambda: http_ok(f"http://127.0.0.1:{api}/healthz", {"status": "ok"}),
        )
        client = await first.eventually("connecting to Temporal", connect)
        await first.eventually(
            "registering search attributes", lambda: search_attributes_registered(client)
        )
        await first.eventually("migrating the app database", migrations_applied)
        await first.eventually("the mail catcher's SMTP greeting", mail_catcher_greets)
        await supervised_processes_come_back(first, api)
        await first.eventually(
            "worker-1's SDK metrics", lambda: worker_metrics_served(worker_metrics + 1)
        )
        # As the README tells a newcomer: a token from `python -m dev.tokens`, then the API.
        minting = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dev.tokens", "--user", "sxd.officer",
            cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        token = (await minting.communicate())[0].decode().strip()
        assert minting.returncode == 0 and token
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
            created = await http.post(
                "/api/v1/dossiers",
                json={"procedure_code": "DN-XD-001", "applicant": {"name": "Lê Văn Cường"}},
                headers=auth,
            )
            assert created.status_code == 201, created.text
            received = created.json()
            deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            consulted = await http.post(
                f"/api/v1/dossiers/{received['code']}/consultations",
                json={"agencies": ["CAT"], "content": "Ý kiến về PCCC", "deadline": deadline},
                headers=auth,
            )
            assert consulted.status_code == 201, consulted.text
        assert len(first.children) >= 6, (
            f"expected server, mail catcher, two workers and two APIs\n{first.report()}"
        )
        logs = {path.name for path in (tmp_path / "var").glob("*.log")}
        assert {"worker-1.log", "worker-2.log", "api-1.log", "api-2.log"} <= logs, logs
        pages = f"http://localhost:{api}"
        said = first.report()
        assert f"pages            {pages}/" in said, said
        worker_1 = f"http://127.0.0.1:{worker_metrics + 1}/metrics (worker-1, Temporal SDK"
        assert worker_1 in said, said
        assert f"Đăng nhập / sign in: open {pages}/signin and pick a development user" in said

        # `make demo`: a dossier received through the API by sxd.officer, like any other.
        demo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dev.demo",
            cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = (text.decode() for text in await demo.communicate())
        assert demo.returncode == 0, f"dev.demo:\n{out}{err}"
        page_link = re.search(rf"{re.escape(pages)}/dossiers/(\S+)", out)
        assert page_link, out
        demo_code = page_link[1]
        today = datetime.now(VN).strftime("%y%m%d")
        assert re.fullmatch(rf"[\w.]+-{today}-\d{{4}}", demo_code), demo_code  # daily sequence
        assert (
            f"/workflows/{workflow_id(demo_code)}" in out and "sos_rejected_awaiting_replies" in out
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
            listed = await http.get("/api/v1/dossiers", headers=auth)
            assert listed.status_code == 200, listed.text
            assert demo_code in [item["code"] for item in listed.json()["items"]], listed.text
            shown = (await http.get(f"/api/v1/dossiers/{demo_code}", headers=auth)).json()
        assert shown["status"] == "consulting"
        assert {c["agency"] for c in shown["consultations"]} == {"SNNMT", "CAT"}
        refused = [e for e in shown["events"] if e["kind"] == "refused"]
        assert [(e["actor"], e["detail"]["action"]) for e in refused] == [("sxd.officer", "sos")], (
            shown["events"]
        )

        assert await first.interrupt() == 0, first.report()
        assert still_alive(first.children) == [], first.report()

    async with dev_run(env, tmp_path / "second-run.out") as second:
        await second.eventually(
            "waiting for the API after a restart",
            lambda: http_ok(f"http://127.0.0.1:{api}/healthz"),
        )
        client = await connect()
        again = client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(received["code"]))
        doc = await second.eventually(
            "the first run's dossier, served by the new worker",
            lambda: again.query(DossierWorkflow.document),
        )
        assert (
            doc.status == "consulting"
            and doc.due_at.isoformat().replace("+00:00", "Z") == received["due_at"]
        )
        assert [c.agency for c in doc.consultations] == ["CAT"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
            kept = await http.get(f"/api/v1/dossiers/{received['code']}", headers=auth)
            assert kept.status_code == 200 and kept.json()["status"] == "consulting", kept.text

        assert await second.interrupt() == 0, second.report()
        assert still_alive(second.children) == [], second.report()
