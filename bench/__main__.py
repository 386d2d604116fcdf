"""The lifecycle benchmark (`make bench`): what the whole motcua stack costs against bare Temporal.

One run starts the local stack exactly as `make run` does (`python -m dev.run`: the dev server on
an SQLite file in WAL mode, the worker and the API as processes of their own) on free ports and a
fresh data folder, plus a worker of the bare reference workflow (bench/bare_workflow.py) on the
same dev server. Then, with the same number of concurrent clients:

- full stack: through the HTTP API, create a dossier, consult three agencies, three replies, the
  result, the handover (7 requests, each with a bearer token, each a workflow update that writes
  notices and the read model before it answers);
- bare Temporal: the same seven updates on the reference workflow, from a Temporal client.

It prints both rates (lifecycles per second), their ratio, and the latency of an SOS stop refused
by R4 at idle (p50, p99 over sequential requests). Targets (issue 3): ratio >= 0.8, p50 < 50 ms.
Beside them, per lifecycle on each side (issue 12): the CPU of each process (median over the
rounds; a round's CPU counts until its workflows have ended), and the history a lifecycle writes
(events, bytes, and events by type, from `--history-sample` closed workflows of the last round).
`--profile` also samples the worker processes and the API process with py-spy during their
side's rounds and writes where their time goes as text (bench/profiling.py; `make bench-profile`).
Options: `--lifecycles N` per round, `--clients C`, `--rounds R` (alternating full and bare
rounds, so drift of the machine falls on both), `--refusals N`, `--workers N` (issue 11: the
figures with 1 worker process, then with N, each side with as many workers: motcua's started by
dev.run, `MOTCUA_WORKER_PROCESSES`, and the bare reference's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.bare_workflow import BareDossier
from bench.histories import HistoryFigures, histories, wait_closed
from bench.profiling import API, PY_SPY_OPTIONS, SAMPLE_RATE, WORKER, Profile, Sampler, summary
from dev.run import free_ports
from dev.tokens import load_users, mint_token
from settings import REPO_ROOT
from workflows.starter import workflow_id

SECRET = "bench-secret-of-at-least-thirty-two-bytes"
AGENCIES = ["CAT", "SNNMT", "SYT"]
APPLICANT = {"name": "Bench", "phone": "0900000000"}  # of every dossier the bench receives
USERS = {u.id: u for u in load_users()}
BARE_QUEUE = "bench-bare"


class LocalStack:
    """`python -m dev.run` and the bare workers, in their own process groups."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        self.workers = workers
        # Every port its own, the mail catcher's and the workers' metrics too: what the
        # environment names may be taken (a test session's own catcher sets MOTCUA_SMTP_PORT).
        grpc, ui, http_api, metrics, api, smtp, worker_metrics = free_ports(7)
        self.api_url = f"http://127.0.0.1:{api}"
        self.target = f"127.0.0.1:{grpc}"
        self.env = {
            **os.environ,
            "MOTCUA_DATA_DIR": str(data_dir),
            "MOTCUA_TEMPORAL_PORT": str(grpc),
            "MOTCUA_TEMPORAL_UI_PORT": str(ui),
            "MOTCUA_TEMPORAL_HTTP_PORT": str(http_api),
            "MOTCUA_TEMPORAL_METRICS_PORT": str(metrics),
            "MOTCUA_API_PORT": str(api),
            "MOTCUA_SMTP_PORT": str(smtp),
            "MOTCUA_WORKER_METRICS_ADDRESS": f"127.0.0.1:{worker_metrics}",  # worker-n at + n
            "MOTCUA_JWT_SECRET": SECRET,
            "MOTCUA_LOG_FORMAT": "json",
            "MOTCUA_WORKER_PROCESSES": str(workers),
            "MOTCUA_API_PROCESSES": "1",
        }
        for inherited in ("MOTCUA_TEMPORAL_ADDRESS", "MOTCUA_DATABASE_URL", "MOTCUA_JWT_JWKS_URL"):
            self.env.pop(inherited, None)
        if url := os.environ.get("MOTCUA_BENCH_DATABASE_URL"):
            self.env["MOTCUA_DATABASE_URL"] = url
        self.log = data_dir / "bench-stack.log"
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], env: dict[str, str]) -> None:
        with self.log.open("ab") as out:
            self.processes.append(
                subprocess.Popen(
                    argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                    process_group=0,
                )
            )  # fmt: skip

    async def start(self) -> None:
        self.spawn([sys.executable, "-m", "dev.run"], self.env)
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(240):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.api_url}/readyz")).status_code == 200:
                        break
                if self.processes[0].poll() is not None:
                    raise SystemExit(f"dev.run exited; see {self.log}")
                await asyncio.sleep(0.25)
            else:
                raise SystemExit(f"the stack did not come up; see {self.log}")
        bare_env = {
            **self.env,
            "MOTCUA_TEMPORAL_ADDRESS": self.target,
            "MOTCUA_TASK_QUEUE": BARE_QUEUE,
        }
        for _ in range(self.workers):
            self.spawn([sys.executable, "-m", "bench.bare_worker"], bare_env)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


class FullStack:
    """One lifecycle through the HTTP API, as a lead agency and its consulted agencies do it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.workflow_ids: list[str] = []  # of the lifecycles started, for their histories
        self.auth: dict[str, dict[str, str]] = {
            user: {"Authorization": f"Bearer {mint_token(USERS[user], SECRET, hours=2)}"}
            for user in ("sxd.officer", "cat.officer", "snnmt.officer", "syt.officer")
            if user in USERS
        }

    async def post(self, path: str, body: dict[str, object], user: str) -> httpx.Response:
        response = await self.http.post(path, json=body, headers=self.auth[user])
        if response.status_code >= 300:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        return response

    async def lifecycle(self) -> None:
        created = await self.post(
            "/api/v1/dossiers",
            {"procedure_code": "DN-XD-001", "applicant": APPLICANT},
            "sxd.officer",
        )
        code = created.json()["code"]
        self.workflow_ids.append(workflow_id(code))
        base = f"/api/v1/dossiers/{code}"
        deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        await self.post(
            f"{base}/consultations",
            {"agencies": AGENCIES, "content": "Ý kiến", "deadline": deadline},
            "sxd.officer",
        )
        for agency in AGENCIES:
            user = f"{agency.lower()}.officer"
            await self.post(f"{base}/consultations/{agency}/reply", {"opinion": "Đồng ý"}, user)
        await self.post(
            f"{base}/result", {"outcome": "approved", "document_no": "1/GP"}, "sxd.officer"
        )
        await self.post(f"{base}/handover", {}, "sxd.officer")


class Bare:
    """The same seven calls on the bare reference workflow."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.workflow_ids: list[str] = []

    async def lifecycle(self) -> None:
        code = f"bare-{uuid.uuid4()}"
        self.workflow_ids.append(code)
        operation = WithStartWorkflowOperation(
            BareDossier.run,
            code,
            id=code,
            task_queue=BARE_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await self.client.execute_update_with_start_workflow(
            BareDossier.receipt, start_workflow_operation=operation
        )
        handle = await operation.workflow_handle()
        await handle.execute_update(BareDossier.consult, AGENCIES)
        for agency in AGENCIES:
            await handle.execute_update(BareDossier.reply, agency)
        await handle.execute_update(BareDossier.record_result)
        await handle.execute_update(BareDossier.hand_over)


# Where CPU goes, by process role (recognised from the command line). The workers' figure is
# the sum over all worker processes.
ROLES = {
    "temporal server": "Temporal dev server",
    "worker.py": "motcua worker",
    "dev.api_process": "motcua API",
    "bench.bare_worker": "bare worker",
}


def role_pids(stack: LocalStack) -> dict[str, list[int]]:
    """The processes of `stack` (not those of anyone else on the machine) by role."""
    pids: dict[str, list[int]] = {}
    for pid in sorted(_descendants({p.pid for p in stack.processes})):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        for marker, role in ROLES.items():
            if marker in command:
                pids.setdefault(role, []).append(pid)
    return pids


def cpu_seconds(stack: LocalStack) -> dict[str, float]:
    """CPU seconds used so far by each role's processes of `stack`, and by this benchmark's
    client."""
    used: dict[str, float] = {"benchmark client": _cpu_of(os.getpid())}
    tick = os.sysconf("SC_CLK_TCK")
    for role, pids in role_pids(stack).items():
        used[role] = sum(_cpu_of(pid, tick) for pid in pids)
    return used


def _descendants(roots: set[int]) -> set[int]:
    """`roots` and every living process below them."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat:
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found = set(roots)
    while grown := {pid for pid, ppid in parents.items() if ppid in found} - found:
        found |= grown
    return found


def _cpu_of(pid: int, tick: int | None = None) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / (tick or os.sysconf("SC_CLK_TCK"))


def cpu_per_lifecycle(
    before: dict[str, float], after: dict[str, float], count: int
) -> dict[str, float]:
    """Milliseconds of CPU per lifecycle, by role."""
    return {role: (after[role] - before.get(role, 0.0)) * 1000 / count for role in after}


async def rate(lifecycle: Callable[[], Awaitable[None]], count: int, clients: int) -> float:
    """Lifecycles per second: `count` lifecycles run by `clients` concurrent clients."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def client() -> None:
        while not queue.empty():
            queue.get_nowait()
            await lifecycle()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return count / (time.perf_counter() - started)


async def refusal_latency(full: FullStack, count: int) -> list[float]:
    """Milliseconds of `POST …/sos {stop}` refused by R4, one request at a time (at idle)."""
    created = await full.post(
        "/api/v1/dossiers",
        {"procedure_code": "DN-XD-001", "applicant": APPLICANT},
        "sxd.officer",
    )
    base = f"/api/v1/dossiers/{created.json()['code']}"
    deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await full.post(
        f"{base}/consultations",
        {"agencies": ["CAT"], "content": "Ý kiến", "deadline": deadline},
        "sxd.officer",
    )
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = await full.http.post(
            f"{base}/sos",
            json={"action": "stop", "reason": "Chờ"},
            headers=full.auth["sxd.officer"],
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert response.json()["code"] == "sos_rejected_awaiting_replies", response.text
    return timings


@dataclass
class Figures:
    """What one stack measured."""

    workers: int
    full_rates: list[float] = field(default_factory=list)
    bare_rates: list[float] = field(default_factory=list)
    # side ("full", "bare") → one {role: ms per lifecycle} per round
    cpu: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"full": [], "bare": []})
    history: dict[str, HistoryFigures] = field(default_factory=dict)
    timings: list[float] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)  # profiled role → its profile
    load: list[tuple[float, float, float]] = field(default_factory=list)  # at start, at end

    def cpu_ms(self, side: str, role: str) -> float:
        """Median over the rounds of `role`'s CPU per lifecycle on `side`."""
        return statistics.median(r.get(role, 0.0) for r in self.cpu[side])

    @property
    def full_rate(self) -> float:
        return statistics.median(self.full_rates)

    @property
    def bare_rate(self) -> float:
        return statistics.median(self.bare_rates)


# The processes whose time --profile breaks down: (side, role, how to read it, file name).
PROFILED = (
    ("full", "motcua worker", WORKER, "worker"),
    ("bare", "bare worker", WORKER, "worker"),
    ("full", "motcua API", API, "api"),
)
SIDES = ("full", "bare")


async def measure(args: argparse.Namespace, workers: int) -> Figures:
    """The rounds on a fresh stack with `workers` worker processes on each side."""
    figures = Figures(workers, load=[os.getloadavg()])
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        stack = LocalStack(Path(tmp), workers)
        try:
            await stack.start()
            client = await Client.connect(stack.target, data_converter=pydantic_data_converter)
            limits = httpx.Limits(max_connections=args.clients * 2)
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=60, limits=limits) as http:
                full, bare = FullStack(http), Bare(client)
                await rate(full.lifecycle, args.clients, args.clients)  # warm-up: caches, imports
                await rate(bare.lifecycle, args.clients, args.clients)
                await wait_closed(client, full.workflow_ids + bare.workflow_ids)
                if args.profile:
                    figures.profiles = {role: Profile() for _, role, _, _ in PROFILED}
                for _ in range(args.rounds):
                    for name, runner, rates in (
                        ("full", full, figures.full_rates),
                        ("bare", bare, figures.bare_rates),
                    ):
                        runner.workflow_ids.clear()
                        samplers = [
                            (Sampler(figures.profiles[role], Path(tmp), breakdown), role)
                            for side, role, breakdown, _ in PROFILED
                            if side == name and figures.profiles
                        ]
                        pids = role_pids(stack)
                        for sampler, role in samplers:
                            sampler.start(pids.get(role, []))
                        before = cpu_seconds(stack)
                        started = time.perf_counter()
                        rates.append(await rate(runner.lifecycle, args.lifecycles, args.clients))
                        # What a lifecycle leaves running after its last update is its cost too.
                        await wait_closed(client, runner.workflow_ids)
                        spent = cpu_per_lifecycle(before, cpu_seconds(stack), args.lifecycles)
                        for sampler, _ in samplers:
                            sampler.stop(args.lifecycles, time.perf_counter() - started)
                        figures.cpu[name].append(spent)
                for name, runner in (("full", full), ("bare", bare)):
                    sample = runner.workflow_ids[: args.history_sample]
                    figures.history[name] = await histories(client, sample)
                await asyncio.sleep(1)  # idle again
                figures.timings = await refusal_latency(full, args.refusals)
        finally:
            stack.stop()
    figures.load.append(os.getloadavg())
    return figures


def report(args: argparse.Namespace, figures: Figures) -> None:
    timings = figures.timings
    p50 = statistics.median(timings)
    p99 = statistics.quantiles(timings, n=100)[98]
    print(
        f"  full stack (HTTP API)   {figures.full_rate:7.2f} lifecycles/s   rounds: "
        + ", ".join(f"{r:.2f}" for r in figures.full_rates)
    )
    print(
        f"  bare Temporal           {figures.bare_rate:7.2f} lifecycles/s   rounds: "
        + ", ".join(f"{r:.2f}" for r in figures.bare_rates)
    )
    print(
        f"  ratio full / bare       {figures.full_rate / figures.bare_rate:7.2f}"
        "         (target >= 0.80)"
    )
    print(f"  SOS refusal (R4), idle  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
          f"over {len(timings)} requests (target p50 < 50 ms)")  # fmt: skip
    for line in per_lifecycle_lines(args, figures):
        print(line)


# Rows of the per-lifecycle table: a label, the role on the full side, the role on the bare side.
CPU_ROWS = (
    ("CPU Temporal dev server", "Temporal dev server", "Temporal dev server"),
    ("CPU worker (motcua / bare)", "motcua worker", "bare worker"),
    ("CPU motcua API", "motcua API", None),
    ("CPU benchmark client", "benchmark client", "benchmark client"),
)
EVENT_TYPES_SHOWN = 14
EVENT_BYTES_SHOWN = 6


def per_lifecycle_lines(args: argparse.Namespace, figures: Figures) -> list[str]:
    """Per lifecycle, side by side: each process's CPU, the history's events and bytes, and the
    events by type."""
    full, bare = figures.history["full"], figures.history["bare"]
    lines = [
        f"  per lifecycle (CPU: median of {args.rounds} rounds)  full stack  bare Temporal   ratio"
    ]

    def row(label: str, on_full: float, on_bare: float | None, unit: str, digits: int) -> None:
        ratio = f"{on_full / on_bare:7.1f}×" if on_bare else "        "
        shown_bare = f"{on_bare:11.{digits}f} {unit:2}" if on_bare is not None else " " * 14
        lines.append(f"    {label:40} {on_full:8.{digits}f} {unit:2} {shown_bare} {ratio}")

    for label, full_role, bare_role in CPU_ROWS:
        row(
            label,
            figures.cpu_ms("full", full_role),
            figures.cpu_ms("bare", bare_role) if bare_role else None,
            "ms",
            0,
        )
    cpu = {side: sum(figures.cpu_ms(side, role) for role in ROLES.values()) for side in SIDES}
    row("CPU, all of the above", cpu["full"] + figures.cpu_ms("full", "benchmark client"),
        cpu["bare"] + figures.cpu_ms("bare", "benchmark client"), "ms", 0)  # fmt: skip
    row("history events", full.per_lifecycle(full.events), bare.per_lifecycle(bare.events), "", 1)
    row("history KB", full.per_lifecycle(full.size_bytes) / 1024,
        bare.per_lifecycle(bare.size_bytes) / 1024, "", 1)  # fmt: skip
    lines.append(
        f"  history events by type, per lifecycle ({full.sampled} and {bare.sampled} closed "
        "workflows of the last round):"
    )
    shown = [name for name, _ in (full.by_type + bare.by_type).most_common(EVENT_TYPES_SHOWN)]
    for name in shown:
        row(name, full.per_lifecycle(full.by_type[name]), bare.per_lifecycle(bare.by_type[name]),
            "", 1)  # fmt: skip
    rest = [sum(n for t, n in h.by_type.items() if t not in shown) for h in (full, bare)]
    if any(rest):
        row("other types", full.per_lifecycle(rest[0]), bare.per_lifecycle(rest[1]), "", 1)
    lines.append("  history KB by type, per lifecycle (the largest, inputs and results included):")
    for name, _ in (full.bytes_by_type + bare.bytes_by_type).most_common(EVENT_BYTES_SHOWN):
        row(name, full.per_lifecycle(full.bytes_by_type[name]) / 1024,
            bare.per_lifecycle(bare.bytes_by_type[name]) / 1024, "", 1)  # fmt: skip
    load = " → ".join(" ".join(f"{x:.1f}" for x in at) for at in figures.load)
    lines.append(f"  load average (1, 5, 15 min) at start → at end: {load}")
    return lines


async def run(args: argparse.Namespace) -> None:
    database = os.environ.get("MOTCUA_BENCH_DATABASE_URL", "SQLite file (make run's default)")
    print(
        f"motcua lifecycle benchmark — {args.rounds} rounds × {args.lifecycles} lifecycles, "
        f"{args.clients} concurrent clients, app database: {database}, {os.cpu_count()} cores",
        flush=True,
    )
    measured = []
    for workers in sorted({1, args.workers}):
        figures = await measure(args, workers)
        print(f"with {workers} worker process{'es' if workers > 1 else ''} on each side:")
        report(args, figures)
        if figures.profiles:
            write_profile(args, figures)
        measured.append(figures)
    if len(measured) > 1:
        one, many = measured
        print(
            f"{many.workers} worker processes / 1: full stack "
            f"{many.full_rate / one.full_rate:.2f}×, bare Temporal "
            f"{many.bare_rate / one.bare_rate:.2f}×"
        )


def write_profile(args: argparse.Namespace, figures: Figures) -> None:
    """The text breakdown of each side's worker into one file, the API's into another, and their
    collapsed stacks beside them (`<date>-worker[-N].txt` with `….full.folded` and
    `….bare.folded`, `<date>-api[-N].txt` with `….full.folded`)."""
    args.profile_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{figures.workers}" if figures.workers > 1 else ""
    database = os.environ.get("MOTCUA_BENCH_DATABASE_URL", "SQLite file")
    load = " → ".join(" ".join(f"{x:.1f}" for x in at) for at in figures.load)
    head = [
        f"python -m bench --profile: {args.rounds} rounds × {args.lifecycles} lifecycles, "
        f"{args.clients} clients, {figures.workers} worker process(es) a side, app database: "
        f"{database}, {os.cpu_count()} cores, load average (1, 5, 15 min) {load}",
        f"sampled with py-spy record --rate {SAMPLE_RATE} --function {' '.join(PY_SPY_OPTIONS)} "
        "during the rounds of each side (bench/profiling.py); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *(line.strip() for line in per_lifecycle_lines(args, figures)),
    ]
    parts: dict[Path, list[str]] = {}
    for side, role, breakdown, name in PROFILED:
        path = args.profile_dir / f"{datetime.now():%Y-%m-%d}-{name}{suffix}.txt"
        profile = figures.profiles[role]
        title = f"==== {role} ({'full stack' if side == 'full' else 'bare Temporal'} rounds) ===="
        parts.setdefault(path, ["\n".join(head) + "\n"]).append(
            summary(profile, title, breakdown=breakdown)
        )
        folded = path.with_suffix(f".{side}.folded")
        folded.write_text("".join(f"{k} {n}\n" for k, n in sorted(profile.stacks.items())))
    for path, texts in parts.items():
        path.write_text("\n".join(texts))
        print(f"  profile: {path} (collapsed stacks: {path.with_suffix('.full.folded').name}, …)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=40, help="lifecycles per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, alternating")
    parser.add_argument("--refusals", type=int, default=200, help="SOS refusals timed")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes: figures with 1, then with N"
    )
    parser.add_argument(
        "--history-sample", type=int, default=10, help="closed workflows whose history is counted"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the workers and the API with py-spy, write their profiles",
    )
    parser.add_argument(
        "--profile-dir", type=Path, default=REPO_ROOT / "bench" / "profiles",
        help="where --profile writes <date>-worker.txt and <date>-api.txt",
    )  # fmt: skip
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
