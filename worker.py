"""The motcua worker: builds the Temporal client and the worker that runs dossier workflows and
their activities. `python worker.py` runs it until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
import uvloop
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.delivery import DeliveryActivities
from activities.ended_runs import EndedRunsActivities
from activities.notices import NoticeActivities
from activities.planning import PlanningActivities
from activities.settlement import SettlementActivities
from db import catalogue as catalogue_db
from db.engine import create_engine, session_factory
from domain.calendar import parse_grace
from logs import configure_logging
from settings import Settings
from sources.calendar import CalendarSource
from telemetry.metrics import worker_metrics_address, worker_runtime
from telemetry.tracing import WORKER_SERVICE, configure_tracing, flush_traces, temporal_plugins
from workflows.converter import data_converter
from workflows.dossier import DossierWorkflow
from workflows.ended_runs import EndedRunsSweep
from workflows.sandbox import CompiledOnceSandboxRunner
from workflows.temporal_setup import ensure_sweep_schedule

log = structlog.get_logger()

# Stopping (README, "Stopping"): on SIGTERM, activities in flight get GRACEFUL_SHUTDOWN to
# finish, then are cancelled (Temporal retries them elsewhere); whatever still holds the exit
# (polls retried against a Temporal server that is gone, a database that does not answer), the
# process exits at SHUTDOWN_DEADLINE_S, a workflow task it held being retried by another worker.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
SHUTDOWN_DEADLINE_S = 15.0

# Modules the sandbox takes from the host instead of re-importing them for every workflow run:
# they are deterministic (pure domain rules, pydantic models, what the Web UI shows).
PASSTHROUGH = (
    "domain",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "workflows.contract",
    "workflows.ops_view",
    "workflows.search_attributes",
)


WORKFLOWS: tuple[type, ...] = (DossierWorkflow, EndedRunsSweep)


def workflow_runner() -> CompiledOnceSandboxRunner:
    """The sandbox every worker and every replay uses."""
    return CompiledOnceSandboxRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def worker_identity(settings: Settings) -> str | None:
    """The SDK's `<pid>@<host>`, prefixed with the process's index when it is one of several
    (`make run`'s worker-1..N), so that histories and the Web UI tell them apart; None (the
    SDK's default) otherwise."""
    if settings.worker_index is None:
        return None
    return f"worker-{settings.worker_index}/{os.getpid()}@{socket.gethostname()}"


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The worker deployment version this worker polls as (README, "Upgrades"); None: an
    unversioned worker."""
    if settings.deployment_name is None or settings.build_id is None:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(
            deployment_name=settings.deployment_name, build_id=settings.build_id
        ),
        use_worker_versioning=True,
        # Every workflow type moves to the current build at its next task (README, "Upgrades").
        # Set here, not per type with `@workflow.defn(versioning_behavior=...)`: the server fails
        # every task of an unversioned worker that sends a behaviour, and `make run` and the
        # tests run unversioned.
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


async def connect(settings: Settings) -> Client:
    """The client of this worker process, with its SDK metrics served at
    `MOTCUA_WORKER_METRICS_ADDRESS` (+ `MOTCUA_WORKER_INDEX`) when set."""
    metrics = worker_metrics_address(settings.worker_metrics_address, settings.worker_index or 0)
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter,
        runtime=worker_runtime(metrics) if metrics else None,
        plugins=temporal_plugins(),  # traces, when configured (telemetry.tracing)
    )


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, workflows: Sequence[type] = WORKFLOWS
) -> AsyncIterator[Worker]:
    """The worker with every workflow and activity motcua has, wired to `settings`, running
    until the block ends; then its database connections are closed. `workflows`: another build
    of them (the rolling-upgrade test's version 2)."""
    engine = create_engine(settings.database)
    sessions = session_factory(engine)

    async def unknown_agencies(codes: list[str]) -> list[str]:
        async with sessions() as session:
            return await catalogue_db.unknown_agencies(session, codes)

    async def inactive_agencies(codes: list[str]) -> list[str]:
        async with sessions() as session:
            return await catalogue_db.inactive_agencies(session, codes)

    calendar = CalendarSource(settings.calendar_overrides)
    planning = PlanningActivities(
        calendar.calendar,
        unknown_agencies,
        parse_grace(settings.reminder_grace),
        inactive_agencies,
    )
    notices = NoticeActivities(sessions)
    settlement = SettlementActivities(sessions)
    delivery = DeliveryActivities(sessions, settings)
    ended_runs = EndedRunsActivities(sessions, settings.task_queue)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=workflows,
        activities=[
            planning.read_clock,
            planning.plan_consultation,
            planning.is_working_day,
            notices.record_notice,
            settlement.settle_dossier,
            delivery.dispatch_change,
            delivery.deliver_notice,
            delivery.push_national_status,
            ended_runs.close_dossiers_of_ended_runs,
        ],
        workflow_runner=workflow_runner(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        identity=worker_identity(settings),
        deployment_config=deployment_config(settings),
    )
    try:
        async with worker:
            yield worker
    finally:
        await delivery.close()
        await engine.dispose()


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_format)
    configure_tracing(settings, WORKER_SERVICE)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            return
        log.info(
            "worker_stopping", signal=signal.Signals(signum).name, within_s=SHUTDOWN_DEADLINE_S
        )
        stop.set()
        loop.call_later(SHUTDOWN_DEADLINE_S, _stop_now)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    client = await connect(settings)
    await ensure_sweep_schedule(client, settings.task_queue)
    log.info(
        "worker_started",
        temporal=settings.temporal_target,
        task_queue=settings.task_queue,
        identity=worker_identity(settings) or client.identity,
        metrics=worker_metrics_address(settings.worker_metrics_address, settings.worker_index or 0),
        deployment=settings.deployment_name,
        build_id=settings.build_id,
    )
    async with running_worker(client, settings):
        await stop.wait()
    log.info("worker_stopped")
    flush_traces()  # `_exit` skips the teardown that would export the last spans


def _stop_now() -> None:
    log.error("worker_stop_deadline_passed", deadline_s=SHUTDOWN_DEADLINE_S)
    _exit(1)


def _exit(status: int) -> None:
    """Exit without the interpreter's teardown, which the SDK's Rust threads can abort
    (temporalio/sdk-python#300) or hold while they retry a server that is gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    # uvloop: the loop's own work (callbacks, the SDK's and aiosqlite's thread hand-offs) in C;
    # workflow code runs on the SDK's own deterministic loop, not this one.
    uvloop.run(main())
    _exit(0)
