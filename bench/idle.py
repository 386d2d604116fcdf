"""The idle-capacity benchmark (`make bench-idle`, issue 12): what open dossiers cost at rest.

It starts the stack as `make chaos` does (`bench.stack.running_stack`: the dev server on an
SQLite file in WAL mode, the mail catcher, one worker process and one API process on free ports
and a fresh data folder; the app database an SQLite file, or a fresh PostgreSQL database). Then,
through the HTTP API with C concurrent clients, it opens dossiers in steps until N reaches each
of `--steps`: each dossier a receipt and one consultation of CAT whose deadline is days away, so
that every workflow waits on its reminder timer. After each step it prints:

- the creation rate over the step and the latency of each pair of requests (receipt and
  consultation): p50, p99 and p99/p50 (target: within 3x);
- the resident memory of the worker, the dev server and the API;
- the sizes of Temporal's SQLite file and of the app database; the growth of Temporal's data per
  dossier (target: well under the 38 KB of issue 12), and the history of one dossier as Temporal
  counts it (events, bytes);
- the worker's memory per cached run: its growth since it started over min(N, the SDK's cache of
  runs) (target: well under 0.44 MB), and the 1-minute load average of the machine.

After the last step: the same first action (CAT's reply) on the most recent dossiers, still in
the worker's cache, one request at a time; the worker stopped with SIGTERM and started again;
the reply on as many of the oldest dossiers, each replayed from history (target: p99 < 150 ms);
then a few dossiers with a deadline seconds away, and how late reminder 1 came against it.

It prints rates and ratios to the targets and asserts nothing (speed is not tested).

    python -m bench.idle [--steps 1000,2000,5000] [--clients 8] [--sample 200] [--timers 20]
                         [--database sqlite|postgresql] [--json figures.json]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from temporalio.client import Client
from temporalio.worker import Worker

from bench.chaos import CONSULTED, LEAD, PROCEDURE, Clients, expect
from bench.stack import (
    BenchStack,
    add_database_arguments,
    connect,
    interruptible,
    running_stack,
    scratch,
)
from db.engine import create_engine, parse_url
from logs import configure_logging
from workflows.starter import workflow_id

AGENCY = "CAT"
DEADLINE_AHEAD = timedelta(days=3)  # within DN-XD-001's 7 working days (R2), past any step
TIMER_PATIENCE_S = 60.0  # after the last short deadline, for its reminder 1 to come
PROGRESS_EVERY_S = 60.0
MB = 1024 * 1024
# What issue 12 measured on main, and what it asks for.
TODAY_PER_CACHED_RUN_MB = 0.44
TODAY_HISTORY_PER_DOSSIER_KB = 38.0
FIRST_ACTION_P99_TARGET_MS = 150.0
CREATION_P99_OVER_P50_TARGET = 3.0
# The SDK's workflow cache (runs kept in memory): worker.py leaves it at the default.
CACHE_SIZE: int = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default


# --- what is measured -----------------------------------------------------------------------------


@dataclass
class Step:
    """The state of the stack with `dossiers` open, and how the last ones were opened."""

    dossiers: int
    seconds: float = 0.0  # to open this step's dossiers
    rate: float = 0.0  # dossiers opened per second over the step
    p50_ms: float = 0.0  # of a pair (receipt, consultation)
    p99_ms: float = 0.0
    worker_mb: float = 0.0  # resident memory
    server_mb: float = 0.0
    api_mb: float = 0.0
    temporal_db_mb: float = 0.0  # on disk, with its write-ahead log
    app_db_mb: float = 0.0
    history_kb_per_dossier: float = 0.0  # growth of Temporal's data in use / dossiers opened
    history_events: int = 0  # of the step's last dossier, as Temporal counts its history
    history_kb: float = 0.0
    worker_mb_per_cached_run: float = 0.0
    load: float = 0.0  # 1-minute load average at the end of the step
    temporal_db_used: int = 0  # bytes in use: pages minus free pages

    @property
    def tail_ratio(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else 0.0


@dataclass
class Figures:
    database: str
    clients: int
    cache_size: int = CACHE_SIZE
    steps: list[Step] = field(default_factory=list)
    cached_action_ms: list[float] = field(default_factory=list)  # reply, run in the cache
    first_action_ms: list[float] = field(default_factory=list)  # reply, run replayed
    restart_s: float = 0.0  # SIGTERM to the new worker polling
    timer_lateness_ms: list[float] = field(default_factory=list)  # reminder 1 - deadline
    timers_missing: int = 0  # reminder 1 not come within TIMER_PATIENCE_S
    load: float = 0.0  # 1-minute load average after the replies and timers
    client_retries: int = 0
    run_s: float = 0.0


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank), 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def group_rss_mb(leader: int) -> float:
    """Resident memory of the process group led by `leader` (a child of the stack and whatever
    it started), from /proc."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[2]) != leader:
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError):
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def sqlite_sizes(path: Path) -> tuple[int, int]:
    """(bytes on disk with the write-ahead log, bytes in use) of an SQLite file that another
    process writes; in use is what a reader sees, committed pages in the log included."""
    on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        page_size, pages, free = (
            db.execute(f"PRAGMA {pragma}").fetchone()[0]
            for pragma in ("page_size", "page_count", "freelist_count")
        )
    return on_disk, page_size * (pages - free)


async def app_database_bytes(url: str) -> int:
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        return sqlite_sizes(Path(parsed.database))[0]
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
    finally:
        await engine.dispose()
    return int(size or 0)


def say(message: str) -> None:
    print(f"idle | {message}", flush=True)


# --- the clients ----------------------------------------------------------------------------------


class Opener:
    """Opens dossiers waiting on a consultation's deadline, as SXD's clerks would."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.codes: list[str] = []  # in the order opened

    async def open(self, deadline_in: timedelta) -> str:
        created = await self.clients.post(
            "-",
            "/api/v1/dossiers",
            {"procedure_code": PROCEDURE, "applicant": {"name": "Nguyễn Văn Chờ"}},
            LEAD,
        )
        code: str = expect(created, 201).json()["code"]
        consulted = await self.clients.post(
            code,
            f"/api/v1/dossiers/{code}/consultations",
            {
                "agencies": [AGENCY],
                "content": "Ý kiến về phòng cháy chữa cháy",
                "deadline": (datetime.now(UTC) + deadline_in).isoformat(),
            },
            LEAD,
        )
        expect(consulted, 201)
        self.codes.append(code)
        return code

    async def reply(self, code: str) -> None:
        path = f"/api/v1/dossiers/{code}/consultations/{AGENCY}/reply"
        expect(await self.clients.post(code, path, {"opinion": "Đồng ý"}, CONSULTED[AGENCY]), 200)


async def concurrently(count: int, clients: int, task: Callable[[], Awaitable[object]]) -> None:
    """`count` runs of `task`, `clients` at a time."""
    left = iter(range(count))

    async def client() -> None:
        for _ in left:
            await task()

    await asyncio.gather(*(client() for _ in range(clients)))


async def timed(actions: Iterable[Awaitable[None]]) -> list[float]:
    """Milliseconds of each action, one at a time."""
    timings = []
    for action in actions:
        started = time.perf_counter()
        await action
        timings.append((time.perf_counter() - started) * 1000)
    return timings


# --- the run --------------------------------------------------------------------------------------


class IdleBench:
    def __init__(self, stack: BenchStack, client: Client, opener: Opener, database_url: str):
        self.stack = stack
        self.client = client
        self.opener = opener
        self.database_url = database_url
        self.baseline_worker_mb = 0.0

    def rss_mb(self, name: str) -> float:
        return group_rss_mb(self.stack.children[name].process.pid)

    async def measure(self, step: Step, previous: Step | None) -> Step:
        step.worker_mb = self.rss_mb("worker")
        step.server_mb = self.rss_mb("server")
        step.api_mb = self.rss_mb("api")
        on_disk, step.temporal_db_used = sqlite_sizes(self.stack.settings.data_dir / "temporal.db")
        step.temporal_db_mb = on_disk / MB
        step.app_db_mb = await app_database_bytes(self.database_url) / MB
        if previous is not None and step.dossiers > previous.dossiers:
            grown = step.temporal_db_used - previous.temporal_db_used
            step.history_kb_per_dossier = grown / (step.dossiers - previous.dossiers) / 1024
            last = self.client.get_workflow_handle(workflow_id(self.opener.codes[-1]))
            info = (await last.describe()).raw_description.workflow_execution_info
            step.history_events = info.history_length
            step.history_kb = info.history_size_bytes / 1024
            cached = min(step.dossiers, CACHE_SIZE)
            step.worker_mb_per_cached_run = (step.worker_mb - self.baseline_worker_mb) / cached
        step.load = os.getloadavg()[0]
        return step

    async def open_until(self, target: int, clients: int) -> Step:
        """Open dossiers until `target` are open; the step's rate and latencies."""
        count = target - len(self.opener.codes)
        latencies: list[float] = []
        started = last_said = time.monotonic()

        async def one() -> None:
            nonlocal last_said
            began = time.perf_counter()
            await self.opener.open(DEADLINE_AHEAD)
            latencies.append((time.perf_counter() - began) * 1000)
            if time.monotonic() - last_said > PROGRESS_EVERY_S:
                last_said = time.monotonic()
                rate = len(latencies) / (last_said - started)
                say(f"  {len(self.opener.codes):,} open, {rate:.1f}/s over this step")

        await concurrently(count, clients, one)
        seconds = time.monotonic() - started
        return Step(
            target,
            seconds=seconds,
            rate=count / seconds,
            p50_ms=percentile(latencies, 0.5),
            p99_ms=percentile(latencies, 0.99),
        )

    async def restart_worker(self) -> float:
        """SIGTERM the worker, as a deploy stops it, and start it again: seconds until the new
        one polls."""
        started = time.monotonic()
        await self.stack.stop_one("worker")
        await self.stack.start("worker")
        return time.monotonic() - started

    async def timers(self, count: int, clients: int, deadline_in: float) -> tuple[list[float], int]:
        """Open `count` dossiers whose consultation is due in `deadline_in` seconds; how late
        (ms) each one's reminder 1 came against its deadline, and how many never came."""
        first = len(self.opener.codes)
        await concurrently(count, clients, lambda: self.opener.open(timedelta(seconds=deadline_in)))
        waiting = set(self.opener.codes[first:])
        lateness: list[float] = []
        give_up = time.monotonic() + deadline_in + TIMER_PATIENCE_S
        while waiting and time.monotonic() < give_up:
            await asyncio.sleep(1.0)
            for code in sorted(waiting):
                (consultation,) = (await self.opener.clients.dossier(code)).consultations
                sent = [r.sent_at for r in consultation.reminders if r.level == 1]
                if sent:
                    late = (sent[0] - consultation.deadline).total_seconds() * 1000
                    lateness.append(late)
                    waiting.discard(code)
        return lateness, len(waiting)


async def run(options: argparse.Namespace) -> Figures:
    figures = Figures(options.database, options.clients)
    started = time.monotonic()
    async with scratch(options, "motcua-idle-", say) as (data_dir, database_url):
        say(f"data folder {data_dir}; steps {', '.join(f'{n:,}' for n in options.steps)}")
        async with AsyncExitStack() as exits:
            # Reminder 2 two working days after reminder 1: none during the run.
            stack = await exits.enter_async_context(running_stack(data_dir, database_url, "2d"))
            limits = httpx.Limits(max_connections=options.clients * 2)
            http = await exits.enter_async_context(
                httpx.AsyncClient(base_url=stack.api_url, timeout=60, limits=limits)
            )
            clients = Clients(http, stack.jwt_secret)
            bench = IdleBench(stack, await connect(stack), Opener(clients), database_url)
            say(f"stack up in {time.monotonic() - started:.0f} s")
            baseline = await bench.measure(Step(0), None)
            bench.baseline_worker_mb = baseline.worker_mb
            figures.steps.append(baseline)
            for target in options.steps:
                step = await bench.open_until(target, options.clients)
                await asyncio.sleep(options.settle)  # the last notices delivered, the API idle
                figures.steps.append(await bench.measure(step, figures.steps[-1]))
                say(row(figures.steps[-1]))

            sample = min(options.sample, len(bench.opener.codes) // 2)
            cached = bench.opener.codes[-sample:]  # the most recent: in the worker's cache
            oldest = bench.opener.codes[:sample]  # evicted long ago, and by the restart anyway
            figures.cached_action_ms = await timed(bench.opener.reply(c) for c in cached)
            figures.restart_s = await bench.restart_worker()
            say(f"worker restarted (SIGTERM, started again) in {figures.restart_s:.1f} s")
            figures.first_action_ms = await timed(bench.opener.reply(c) for c in oldest)
            figures.timer_lateness_ms, figures.timers_missing = await bench.timers(
                options.timers, options.clients, options.timer_deadline
            )
            figures.load = os.getloadavg()[0]
            figures.client_retries = clients.record.retries
        figures.run_s = time.monotonic() - started
    return figures


# --- the report -----------------------------------------------------------------------------------

COLUMNS = (
    f"{'open':>8} {'s':>6} {'open/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} "
    f"{'worker MB':>9} {'server MB':>9} {'API MB':>6} {'temporal.db MB':>14} {'app DB MB':>9} "
    f"{'KB/dossier':>10} {'events':>6} {'hist KB':>7} {'MB/cached run':>13} {'load':>5}"
)


def row(s: Step) -> str:
    return (
        f"{s.dossiers:>8,} {s.seconds:>6.0f} {s.rate:>6.1f} {s.p50_ms:>7.0f} {s.p99_ms:>7.0f} "
        f"{s.tail_ratio:>7.2f} {s.worker_mb:>9.0f} {s.server_mb:>9.0f} {s.api_mb:>6.0f} "
        f"{s.temporal_db_mb:>14.1f} {s.app_db_mb:>9.1f} {s.history_kb_per_dossier:>10.1f} "
        f"{s.history_events:>6} {s.history_kb:>7.1f} {s.worker_mb_per_cached_run:>13.3f} "
        f"{s.load:>5.1f}"
    )


def target_lines(figures: Figures) -> list[str]:
    """Each of issue 12's targets: what was measured, the target, and their ratio."""
    opened = [s for s in figures.steps if s.dossiers]
    full_cache = [s for s in opened if s.dossiers >= CACHE_SIZE] or opened
    flat = full_cache[-1].worker_mb / full_cache[0].worker_mb
    # At the most dossiers: the worker's one-off costs (imports, the sandbox) spread the most.
    per_run = opened[-1].worker_mb_per_cached_run
    history = max(s.history_kb_per_dossier for s in opened)
    first_p99 = percentile(figures.first_action_ms, 0.99)
    tail = max(s.tail_ratio for s in opened)
    today_run, today_kb = TODAY_PER_CACHED_RUN_MB, TODAY_HISTORY_PER_DOSSIER_KB
    first_target, tail_target = FIRST_ACTION_P99_TARGET_MS, CREATION_P99_OVER_P50_TARGET
    lines = [
        ("worker memory flat in N", f"{flat:.2f}x", "1.00x", flat,
         f"worker MB at {full_cache[-1].dossiers:,} / at {full_cache[0].dossiers:,} open"),
        ("worker MB per cached run", f"{per_run:.3f} MB", f"<< {today_run} MB",
         per_run / today_run, f"growth since start / runs cached at {opened[-1].dossiers:,}"),
        ("history per open dossier", f"{history:.1f} KB", f"<< {today_kb:.0f} KB",
         history / today_kb, "temporal.db in use, largest over the steps"),
        ("first action, evicted, p99", f"{first_p99:.0f} ms", f"< {first_target:.0f} ms",
         first_p99 / first_target, f"over {len(figures.first_action_ms)} replies"),
        ("creation p99 / p50", f"{tail:.2f}", f"<= {tail_target:.0f}",
         tail / tail_target, "largest over the steps"),
    ]  # fmt: skip
    return [
        f"  {what:<28} {measured:>10}   target {target:<10} ratio {ratio:5.2f}   ({how})"
        for what, measured, target, ratio, how in lines
    ]


def report(figures: Figures) -> None:
    cached, first = figures.cached_action_ms, figures.first_action_ms
    late = figures.timer_lateness_ms
    say(
        f"{figures.database} app database, {figures.clients} clients, workflow cache "
        f"{figures.cache_size} runs, {os.cpu_count()} cores; whole run {figures.run_s:.0f} s, "
        f"{figures.client_retries} client retries"
    )
    say("per step (p50/p99: a receipt and its consultation; KB/dossier: temporal.db growth in")
    say("use over the step's dossiers; events, hist KB: the step's last dossier's history):")
    say(COLUMNS)
    for step in figures.steps:
        say(row(step))
    say(
        f"CAT's reply, one at a time: in the cache p50 {percentile(cached, 0.5):.0f} ms p99 "
        f"{percentile(cached, 0.99):.0f} ms ({len(cached)}); after a worker restart "
        f"({figures.restart_s:.1f} s), first action on the oldest dossiers, replayed: p50 "
        f"{percentile(first, 0.5):.0f} ms p99 {percentile(first, 0.99):.0f} ms ({len(first)})"
    )
    fired = len(late)
    say(
        f"timers: reminder 1 of {fired} of {fired + figures.timers_missing} short deadlines "
        f"came {percentile(late, 0.5):.0f} ms (p50), {max(late, default=0.0):.0f} ms (max) "
        f"after the deadline; {figures.timers_missing} not within {TIMER_PATIENCE_S:.0f} s "
        f"(load {figures.load:.1f})"
    )
    say("issue 12's targets:")
    for line in target_lines(figures):
        say(line)


# --- the command ----------------------------------------------------------------------------------


def parse_steps(value: str) -> list[int]:
    steps = [int(n) for n in value.split(",")]
    if not steps or steps[0] < 2 or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError("growing numbers of dossiers, e.g. 1000,2000,5000")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument(
        "--steps", type=parse_steps, default=[1000, 2000, 5000], metavar="N,N,...",
        help="open dossiers at each step (default 1000,2000,5000; issue 12: once "
        "10000,50000,100000)",
    )  # fmt: skip
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--sample", type=int, default=200, help="replies timed, each side")
    parser.add_argument("--timers", type=int, default=20, help="dossiers with a short deadline")
    parser.add_argument(
        "--timer-deadline", type=float, default=20.0, metavar="SECONDS",
        help="their consultation's deadline, from its request",
    )  # fmt: skip
    parser.add_argument("--settle", type=float, default=3.0, metavar="SECONDS",
                        help="pause before measuring each step")  # fmt: skip
    add_database_arguments(parser, default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(argv)
    if options.clients < 1 or options.sample < 1 or options.timers < 1:
        parser.error("clients, sample and timers must be 1 or more")
    configure_logging(level=logging.WARNING)
    return asyncio.run(interruptible(run_and_report(options), say))


async def run_and_report(options: argparse.Namespace) -> int:
    figures = await run(options)
    report(figures)
    if options.json:
        options.json.write_text(json.dumps(asdict(figures)))
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # As dev.run: skip interpreter teardown, which the SDK's threads can abort (sdk-python#300).
    os._exit(status)
