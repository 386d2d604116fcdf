"""Where a process's time goes (issue 12): `python -m bench --profile` samples the worker processes
and the API process with py-spy (https://github.com/benfred/py-spy, attached from outside: they
run unchanged) during the rounds of their side, and writes a text breakdown of each: its CPU by
thread (the SDK core's Rust threads are invisible to py-spy), the samples by area (`WORKER`'s or
`API`'s), the top functions by self and by cumulative samples, and the hottest call paths of our
own code.

py-spy records only threads that are running (not idle), 100 times a second: a sample is about
10 ms of CPU of one Python thread. Its collapsed stacks ("raw" format: one line per distinct
stack, frames root first, separated by ';', then the count) are kept beside the text, so that
they can be summarised again or opened in https://www.speedscope.app.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_RATE = 100  # per second, py-spy's default
# Only the thread holding the GIL, read without pausing the process: py-spy's test of whether a
# thread is idle reads its state from /proc, and on a loaded machine (or when paused) threads
# waiting on a queue or in epoll_wait are counted as running; with --gil a sample is Python at
# work. Work done without the GIL (SQLite's own C code, the SDK core's Rust) is in the threads'
# CPU from /proc instead. BENCH_PY_SPY replaces these options (e.g. "--native", "--idle").
PY_SPY_OPTIONS = os.environ.get("BENCH_PY_SPY", "--nonblocking --gil").split()

# Areas of the worker's work, each recognised by a frame of the stack (its file, as py-spy
# shortens it to the package path, or its function). A sample belongs to the area of its
# innermost recognised frame, so "SQL" inside the settle activity counts as SQL and "payload
# conversion" inside the SDK as conversion; the order decides between two areas that name the
# same frame (rarely).
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "sandbox: imports and module reloads",
        (
            "temporalio/worker/workflow_sandbox/_importer.py",
            "temporalio/worker/workflow_sandbox/_restrictions.py",
            "<frozen importlib",
            "importlib/",
        ),
    ),
    (
        "payload conversion (pydantic, JSON)",
        (
            "temporalio/converter.py",
            "temporalio/contrib/pydantic",
            "pydantic/",
            "pydantic_core/",
            "json/",
            "workflows/converter.py",
        ),
    ),
    (
        "SDK payload visiting and codecs",
        (
            "temporalio/bridge/_visitor.py",
            "temporalio/worker/_command_aware_visitor.py",
        ),
    ),
    (
        "SQL: SQLAlchemy, drivers",
        (
            "sqlalchemy/",
            "sqlmodel/",
            "sqlite3/",
            "asyncpg/",
            "aiosqlite/",
            "psycopg",
        ),
    ),
    ("protobuf (de)serialisation", ("google/protobuf/",)),
    (
        "logging, tracing, metrics",
        (
            "structlog/",
            "logging/",
            "opentelemetry/",
            "telemetry/",
            "logs.py",
        ),
    ),
    ("our activities and db/", ("activities/", "db/")),
    ("our workflow code", ("workflows/",)),
    ("our domain code", ("domain/",)),
    (
        "SDK: workflow activations (Python side)",
        (
            "temporalio/worker/_workflow_instance.py",
            "temporalio/worker/_workflow.py",
            "temporalio/worker/workflow_sandbox/",
        ),
    ),
    ("SDK: activities (Python side)", ("temporalio/worker/_activity.py",)),
    (
        "SDK: core bridge calls (polls, completions)",
        (
            "temporalio/bridge/",
            "temporalio/worker/_worker.py",
            "temporalio/service.py",
            "temporalio/client.py",
        ),
    ),
    ("SDK: other", ("temporalio/",)),
    (
        "notices out: e-mail composition, SMTP, HTTP",
        (
            "email/",
            "httpx/",
            "httpcore/",
            "smtplib",
            "aiosmtplib/",
            "ssl.py",
        ),
    ),
    ("asyncio event loop", ("asyncio/", "uvloop/", "selectors.py")),
    ("threads (executors, locks)", ("concurrent/", "threading.py", "queue.py")),
)
# Areas of the API's work (`API`), as the worker's: the innermost recognised frame decides.
API_AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "auth: JWT verification",
        ("jwt/", "cryptography/", "hmac.py", "hashlib.py", "api/auth.py"),
    ),
    ("pydantic (validation, serialisation)", ("pydantic/", "pydantic_core/")),
    ("json", ("json/", "orjson")),
    (
        "SQL: SQLAlchemy, drivers",
        ("sqlalchemy/", "sqlmodel/", "sqlite3/", "asyncpg/", "aiosqlite/", "psycopg", "greenlet"),
    ),
    ("protobuf (de)serialisation", ("google/protobuf/",)),
    ("temporalio client (updates, conversion, bridge)", ("temporalio/",)),
    ("structlog and stdlib logging", ("structlog/", "logging/", "logs.py", "telemetry/log_")),
    ("tracing and metrics", ("opentelemetry/", "prometheus_client/", "telemetry/", "api/metrics")),
    ("FastAPI: dependencies, validation, serialisation", ("fastapi/",)),
    ("Starlette: routing, middleware, requests, responses", ("starlette/", "itsdangerous/")),
    ("uvicorn: HTTP protocol", ("uvicorn/", "h11/", "httptools/")),
    ("our service/, db/, domain/ code", ("service/", "db/", "domain/", "workflows/")),
    ("our api/ code", ("api/", "web/", "settings.py")),
    ("asyncio event loop", ("asyncio/", "uvloop/", "selectors.py")),
    ("threads (executors, locks)", ("concurrent/", "threading.py", "queue.py")),
    ("typing, enum, copy, dataclasses", ("typing.py", "enum.py", "copy.py", "dataclasses.py")),
)
OTHER = "other"
# Tasks both processes have: SQLAlchemy's statements (in greenlets) and pydantic's work.
_SHARED_TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL in greenlets (SQLAlchemy's async sessions)", ("greenlet_spawn ",)),
    ("pydantic (validation and serialisation)", ("pydantic",)),
)
# Tasks of the worker, each the samples with a frame of it anywhere on the stack (they overlap).
# SQLAlchemy's async sessions run their statements in greenlets, whose stacks py-spy shows apart
# from the activity that awaits them: an activity's share leaves its SQL out (that is in "SQL").
TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("workflow activations (all: decode, run in the sandbox, encode)",
     ("_WorkflowWorker._handle_activation ",)),
    ("  a new run's sandbox: the workflow module imported again",
     ("_WorkflowWorker._create_workflow_instance ",)),
    ("  payload visiting (serialization context, in the sandbox)",
     ("temporalio/bridge/_visitor",)),
    ("activity tasks (all, without their greenlet SQL)",
     ("_ActivityWorker._handle_start_activity_task ",)),
    ("  settle_dossier (read model and outbox)", ("SettlementActivities.settle_dossier ",)),
    ("  deliver_notice (recipients, delivery rows)", ("DeliveryActivities.deliver_notice ",)),
    ("  e-mail of a notice (compose, SMTP)", ("DeliveryActivities._mail ",)),
    ("  push_national_status (the portal's row)", ("DeliveryActivities.push_national_status ",)),
    ("  plan_consultation", ("PlanningActivities.plan_consultation ",)),
    *_SHARED_TASKS,
    ("protobuf across the bridge (polls and completions)", ("Worker.complete_", "Worker.poll_")),
)  # fmt: skip
OURS = ("activities/", "db/", "workflows/", "domain/", "worker.py", "settings.py")
# Tasks of the API (overlapping, as the worker's). Every request runs inside the middleware, so a
# middleware's share counts only its own frames' work, not the app's beneath it.
API_TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the dossier actions' handlers (service.dossiers.act)", ("act (service/dossiers.py",)),
    ("  receipt (service.dossiers.receive)", ("receive (service/dossiers.py",)),
    ("  the update call (api.workflow_calls.execute)", ("execute (api/workflow_calls.py",)),
    ("  the party check (service.dossiers.admit)", ("admit (service/dossiers.py",)),
    ("  the idempotency record (db.idempotency)", ("(db/idempotency.py",)),
    ("the caller from the token (api.auth.current_actor)", ("current_actor (api/auth.py",)),
    ("FastAPI: a request's dependencies and body (solve_dependencies)",
     ("solve_dependencies (fastapi/",)),
    ("FastAPI: the answer's serialisation (serialize_response)", ("serialize_response (fastapi/",)),
    *_SHARED_TASKS,
    ("logging (structlog and stdlib)", ("structlog/", "logging/")),
    ("temporalio client", ("temporalio/",)),
    ("uvicorn: parsing requests, writing answers",
     ("H11Protocol.data_received ", "RequestResponseCycle.send ")),
)  # fmt: skip
API_OURS = ("api/", "service/", "db/", "domain/", "web/", "workflows/", "telemetry/", "logs.py")


@dataclass(frozen=True)
class Breakdown:
    """How `summary` reads one kind of process: its name, areas, tasks and our own code."""

    process: str
    main_thread: str  # what its main thread runs
    areas: tuple[tuple[str, tuple[str, ...]], ...]
    tasks: tuple[tuple[str, tuple[str, ...]], ...]
    ours: tuple[str, ...]


WORKER = Breakdown(
    "Worker", "main thread (asyncio loop: activities, polls, conversion)", AREAS, TASKS, OURS
)
API = Breakdown(
    "API", "main thread (asyncio loop: uvicorn, the app)", API_AREAS, API_TASKS, API_OURS
)


@dataclass
class Frame:
    function: str
    file: str

    @classmethod
    def parse(cls, text: str) -> Frame:
        """`handle_activation (temporalio/worker/_workflow.py:123)` → its function and file."""
        function, _, where = text.partition(" (")
        return cls(function, where.rstrip(")").rsplit(":", 1)[0])

    def __str__(self) -> str:
        return f"{self.function} ({self.file})"


def area_of(frames: list[Frame], areas: tuple[tuple[str, tuple[str, ...]], ...] = AREAS) -> str:
    """The area of a sample among `areas`: that of its innermost recognised frame."""
    for frame in reversed(frames):
        for area, markers in areas:
            if any(marker in frame.file for marker in markers):
                return area
    return OTHER


@dataclass
class Profile:
    """Collapsed stacks of the worker processes and their threads' CPU, over the profiled
    rounds."""

    stacks: Counter[str] = field(default_factory=Counter)
    thread_cpu_s: dict[str, float] = field(default_factory=dict)
    lifecycles: int = 0
    wall_s: float = 0.0

    def add_raw(self, text: str) -> None:
        for line in text.splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                self.stacks[stack] += int(count)


def thread_cpu_seconds(pids: Iterable[int], main_thread: str) -> dict[str, float]:
    """CPU seconds of the threads of `pids`, by thread name with digits dropped (`tokio-runtime-w`,
    `ThreadPoolExecutor-…`), so that a pool's threads add up; the main thread named
    `main_thread`."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            kind = main_thread if int(task.name) == pid else thread_kind(name)
            used[kind] = used.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def thread_kind(name: str) -> str:
    kind = "".join(c for c in name if not c.isdigit()).rstrip("-_ ")
    return {
        "tokio-rt-worker": "SDK core (Rust, tokio: gRPC, polls, encoding)",
        "workflow-proces": "SDK core (Rust, workflow state machines)",
        # Python 3.11 does not name its threads: these are aiosqlite's connection threads (where
        # SQLite's own C code runs) and the thread pools (workflow activations, sync activities).
        "python": "other Python threads (aiosqlite connections, thread pools)",
    }.get(kind, kind)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


class Sampler:
    """py-spy attached to some processes, from `start` to `stop`; their samples and their
    threads' CPU added to `profile` (their main thread named as `breakdown` says)."""

    def __init__(self, profile: Profile, directory: Path, breakdown: Breakdown = WORKER) -> None:
        self.profile = profile
        self.directory = directory
        self.main_thread = breakdown.main_thread
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.pids: list[int] = []
        self.cpu_before: dict[str, float] = {}

    def start(self, pids: list[int]) -> None:
        self.pids = pids
        for pid in pids:
            out = self.directory / f"py-spy-{pid}-{len(self.running)}.txt"
            argv = [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--function",
                    "--rate", str(SAMPLE_RATE), *PY_SPY_OPTIONS, "--output", str(out)]  # fmt: skip
            self.running.append(
                (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out)
            )
        self.cpu_before = thread_cpu_seconds(pids, self.main_thread)

    def stop(self, lifecycles: int, wall_s: float) -> None:
        spent = self.profile.thread_cpu_s
        for kind, seconds in thread_cpu_seconds(self.pids, self.main_thread).items():
            spent[kind] = spent.get(kind, 0.0) + seconds - self.cpu_before.get(kind, 0.0)
        for process, out in self.running:
            process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            _, errors = process.communicate(timeout=60)
            if not out.exists():
                raise SystemExit(f"py-spy wrote nothing: {errors.decode(errors='replace')}")
            self.profile.add_raw(out.read_text())
        self.running.clear()
        self.profile.lifecycles += lifecycles
        self.profile.wall_s += wall_s


def summary(profile: Profile, title: str, top: int = 25, breakdown: Breakdown = WORKER) -> str:
    """The profile of a `breakdown.process` as text: threads' CPU, areas, tasks, functions by
    self and cumulative samples, and the hottest stacks through our code."""
    total = sum(profile.stacks.values())
    per = profile.lifecycles or 1
    ms_per_sample = 1000 / SAMPLE_RATE
    lines = [title, ""]

    cpu = sum(profile.thread_cpu_s.values())
    lines += [
        f"{breakdown.process} CPU by thread over the profiled rounds "
        f"({profile.lifecycles} lifecycles, {profile.wall_s:.1f} s): "
        f"{cpu * 1000 / per:.0f} ms per lifecycle",
        "  (from /proc; py-spy samples only the Python threads)",
    ]
    for name, seconds in sorted(profile.thread_cpu_s.items(), key=lambda kv: -kv[1]):
        if seconds > 0.005:
            lines.append(
                f"  {seconds * 1000 / per:7.1f} ms/lifecycle  {_share(seconds, cpu)}  {name}"
            )

    parsed = [([Frame.parse(f) for f in s.split(";")], n) for s, n in profile.stacks.items()]
    areas: Counter[str] = Counter()
    for frames, count in parsed:
        areas[area_of(frames, breakdown.areas)] += count
    python_cpu = sum(s for kind, s in profile.thread_cpu_s.items() if "SDK core" not in kind)
    lines += [
        "",
        f"Python samples by area ({total} samples holding the GIL, {ms_per_sample:.0f} ms each "
        f"= {total * ms_per_sample / per:.0f} ms per lifecycle; ms below: the share times the "
        f"Python threads' CPU, {python_cpu * 1000 / per:.0f} ms; a sample's area is that of its "
        "innermost recognised frame):",
    ]
    for area, count in areas.most_common():
        ms = count / total * python_cpu * 1000 / per if total else 0.0
        lines.append(f"  {ms:7.1f} ms/lifecycle  {_share(count, total)}  {area}")

    lines += ["", "Samples by task (a frame of the task anywhere on the stack; tasks overlap):"]
    for label, markers in breakdown.tasks:
        count = sum(n for st, n in profile.stacks.items() if any(m in st for m in markers))
        ms = count / total * python_cpu * 1000 / per if total else 0.0
        lines.append(f"  {ms:7.1f} ms/lifecycle  {_share(count, total)}  {label}")

    self_samples: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    for frames, count in parsed:
        self_samples[str(frames[-1])] += count
        for name in {str(f) for f in frames}:
            cumulative[name] += count
    lines += ["", f"Top {top} functions by self samples (the frame running when sampled):"]
    lines += [f"  {_share(n, total)}  {name}" for name, n in self_samples.most_common(top)]
    lines += ["", f"Top {top} functions by cumulative samples (anywhere on the stack):"]
    lines += [f"  {_share(n, total)}  {name}" for name, n in cumulative.most_common(top)]

    ours: Counter[str] = Counter()
    for frames, count in parsed:
        path = [
            str(f) for f in frames if f.file.startswith(breakdown.ours) and f.function != "<module>"
        ]
        if path:
            ours[" > ".join(_dedup(path))] += count
    lines += ["", f"Top {top} call paths through our code (our frames only, outermost first):"]
    lines += [f"  {_share(n, total)}  {path}" for path, n in ours.most_common(top)]
    return "\n".join(lines) + "\n"


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    - %"


def _dedup(path: list[str]) -> list[str]:
    """Repeated neighbours (recursion, wrappers of one name) once."""
    return [name for i, name in enumerate(path) if i == 0 or path[i - 1] != name]
