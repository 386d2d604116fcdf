"""Rebuild the read model from Temporal: `python -m db.rebuild [--since ISO] [--concurrency N]
[--progress FILE] [--no-query]`, into a database migrated by `python -m db.migrate`.

Every dossier's workflow is the source of truth; the SQL rows are the copy its `settle_dossier`
activity wrote. This reads them back from Temporal and writes them with the same code:

- each dossier run of the task queue (visibility, every page; the runs that continued as new
  are read through their successor), with the runs before it as far back as the history goes;
- per run, from its history, decoded with the worker's data converter: the state it was
  started with (carried through continue-as-new: the whole dossier), then every
  `settle_dossier` and `record_notice` input whose activity completed, in the order they
  completed (`write_settlement`, `write_notice`: exactly what the worker wrote), the result of a
  completed run (its whole document), each completed `deliver_notice`'s receipt and each
  `push_national_status` (`restore_delivery`, `restore_portal_update`), or of each `dispatch_change`
  that sent both for a change (v7);
- a running dossier is also asked for its `document` (the query, answered by a worker): its
  state now, with what the read model may not have had yet (a write the database refused);
  with no worker up (`--no-query`, or the first query unanswered) its history alone, which
  holds every write that landed;
- a run ended outside the rules (terminated, failed, timed out) is closed as the sweep of ended
  runs does (`record_abnormal_close`, at its close time);
- then the report totals are recounted from the rows (`rebuild_report_totals`, as migration
  0010 does) and the daily counters of dossier codes raised past every code found.

Every write is keyed by the business key and idempotent (dossier by version, events by seq,
notices by key), so a rebuild may run again, be interrupted and resumed (`--progress`: the
dossiers done are skipped), or run while workers write: nothing is written twice.

What Temporal does not hold, and so cannot come back: the refused attempts the API records
itself on dossiers already closed (R9, R12: `record_refusal_after_close`), the idempotency keys,
catalogue edits made through the API (migrate seeds the file's), each notice's `recorded_at`
and id order across dossiers, a failed delivery attempt's error and per-recipient attempt counts
(receipts of completed deliveries restore the rest), the outcome of an activity cut short by a
terminated run (a push shows pending), and, above all, any run whose history the
namespace's retention has deleted: closed dossiers older than the retention are gone (README,
"Rebuilding the read model"; deploy/README.md for backups).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import structlog
import temporalio.api.common.v1
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.delivery import ChangeDispatch, DispatchReceipt
from activities.ended_runs import ENDED_OUTSIDE_THE_RULES
from activities.settlement import SettlementReceipt
from db.deliveries import (
    DeliveryReceipt,
    PortalReceipt,
    restore_delivery,
    restore_portal_update,
)
from db.dossier_codes import restore_counters
from db.engine import create_engine, parse_url, session_factory
from db.models import DossierRecord
from db.notices import write_notice
from db.projection import write_projection
from db.read_model import record_abnormal_close
from db.report_totals import rebuild_report_totals
from db.settlement import write_settlement
from domain.dossier import DossierDocument
from domain.national_status import PortalUpdate
from domain.notices import Notice
from domain.projection import Settlement, document_projection, projection
from logs import configure_logging
from settings import Settings
from workflows.converter import data_converter
from workflows.dossier import DossierStart
from workflows.starter import dossier_runs, visibility_time

log = structlog.get_logger(__name__)

CONCURRENCY = 16  # dossiers read and written at a time
QUERY_TIMEOUT = timedelta(seconds=10)  # a running dossier's `document` query, per try
_PROGRESS_EVERY = 100  # dossiers between two progress lines
# The local-activity marker of a settlement in runs from before v6: its input is not recorded.
_LOCAL_ACTIVITY_MARKER = "core_local_activity"

M = TypeVar("M")


@dataclass
class RunHistory:
    """What one run's history holds for the read model, decoded."""

    run_id: str
    started_at: datetime
    start: DossierStart
    continued_from: str | None
    settlements: list[Settlement] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # `record_notice` (runs before v2)
    deliveries: list[DeliveryReceipt] = field(default_factory=list)
    portal: list[tuple[PortalUpdate, PortalReceipt | None]] = field(default_factory=list)
    result: DossierDocument | None = None
    # settlements run as unfenced local activities (before v6): neither their input nor their
    # result says what they wrote
    unreadable_settlements: int = 0


class RebuildReport(BaseModel):
    """What a rebuild did. `failed`: the dossiers whose rebuild raised (logged with why)."""

    listed: int = 0
    rebuilt: int = 0
    skipped: int = 0  # done by an earlier, interrupted rebuild (`--progress`)
    runs_read: int = 0
    runs_missing: int = 0  # earlier runs whose history the retention has deleted
    queried: int = 0
    query_failed: int = 0
    unreadable_settlements: int = 0
    abnormal_closes: int = 0
    counters: int = 0
    failed: list[str] = []


def dossier_runs_query(task_queue: str, since: datetime | None = None) -> str:
    """The visibility query of the dossier runs to rebuild: the last run of each dossier of the
    task queue (those that continued as new are read through it); with `since`, only those
    running or closed since then (a backup of that time restored first)."""
    query = f"{dossier_runs(task_queue)} AND ExecutionStatus != 'ContinuedAsNew'"
    if since is not None:
        at = visibility_time(since)
        query += f" AND (ExecutionStatus = 'Running' OR CloseTime >= '{at}')"
    return query


async def _decode(client: Client, payloads: temporalio.api.common.v1.Payloads, kind: type[M]) -> M:
    (value,) = await client.data_converter.decode(list(payloads.payloads), [kind])
    return value  # type: ignore[no-any-return]


async def read_run(client: Client, workflow_id: str, run_id: str) -> RunHistory:
    """Run `run_id` of `workflow_id`, read from its history (RPCError NOT_FOUND once deleted)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    run: RunHistory | None = None
    scheduled: dict[int, HistoryEvent] = {}
    async for event in handle.fetch_history_events():
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.workflow_execution_started_event_attributes
            run = RunHistory(
                run_id=run_id,
                started_at=event.event_time.ToDatetime(tzinfo=UTC),
                start=await _decode(client, started.input, DossierStart),
                continued_from=started.continued_execution_run_id or None,
            )
            continue
        assert run is not None, f"{workflow_id}/{run_id}: a history starts with its start"
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            await _completed(client, run, scheduled.pop(done.scheduled_event_id), done.result)
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            data = marker.details.get("data")
            if marker.marker_name == _LOCAL_ACTIVITY_MARKER and data and data.payloads:
                settled = json.loads(data.payloads[0].data).get("activity_type")
                if settled == "settle_dossier" and not marker.HasField("failure"):
                    await _settled_locally(client, run, marker.details.get("result"))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = event.workflow_execution_completed_event_attributes.result
            run.result = await _decode(client, result, DossierDocument)
    assert run is not None, f"{workflow_id}/{run_id}: empty history"
    # Pushes still running: their update recorded as pending, as the activity's first step does.
    for event in scheduled.values():
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == "push_national_status":
            run.portal.append((await _decode(client, attributes.input, PortalUpdate), None))
        elif attributes.activity_type.name == "dispatch_change":
            dispatch = await _decode(client, attributes.input, ChangeDispatch)
            if dispatch.portal is not None:
                run.portal.append((dispatch.portal, None))
    return run


async def _settled_locally(
    client: Client, run: RunHistory, result: temporalio.api.common.v1.Payloads | None
) -> None:
    """A `settle_dossier` run as a local activity, whose input is not in the history. Since v8
    (fenced) its receipt returns what it wrote (`settled`), written again here unfenced, as an
    activity's input is; before v6 nothing says what it wrote."""
    receipt = await _decode(client, result, SettlementReceipt) if result else None
    if receipt is None or "outcome" not in receipt.model_fields_set:
        run.unreadable_settlements += 1  # a run from before v6
    elif receipt.settled is not None:  # None: not written (`conflict`, `overtaken`)
        unfenced = {"fence": None, "confirmed": 0, "reset": False}
        run.settlements.append(receipt.settled.model_copy(update=unfenced))


async def _completed(
    client: Client,
    run: RunHistory,
    scheduled: HistoryEvent,
    result: temporalio.api.common.v1.Payloads,
) -> None:
    """An activity of `run` that completed: what it wrote, by its type."""
    attributes = scheduled.activity_task_scheduled_event_attributes
    name, given = attributes.activity_type.name, attributes.input
    if name == "settle_dossier":
        run.settlements.append(await _decode(client, given, Settlement))
    elif name == "record_notice":
        run.notices.append(await _decode(client, given, Notice))
    elif name == "deliver_notice":
        run.deliveries.append(await _decode(client, result, DeliveryReceipt))
    elif name == "push_national_status":
        update = await _decode(client, given, PortalUpdate)
        run.portal.append((update, await _decode(client, result, PortalReceipt)))
    elif name == "dispatch_change":
        dispatch = await _decode(client, given, ChangeDispatch)
        receipt = await _decode(client, result, DispatchReceipt)
        run.deliveries.extend(receipt.deliveries)
        if dispatch.portal is not None:
            run.portal.append((dispatch.portal, receipt.portal))


async def read_runs(client: Client, execution: WorkflowExecution) -> tuple[list[RunHistory], int]:
    """The runs of a dossier, oldest first, from `execution` (its last) back through those it
    continued from, as far as their histories are kept; and how many were no longer kept."""
    runs = [await read_run(client, execution.id, execution.run_id)]
    while runs[-1].continued_from is not None:
        try:
            runs.append(await read_run(client, execution.id, runs[-1].continued_from))
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return runs[::-1], 1  # deleted by the retention: the next run's carried state has it
    return runs[::-1], 0


async def write_runs(
    session: AsyncSession, runs: Sequence[RunHistory], now_document: DossierDocument | None
) -> None:
    """Write a dossier's runs (oldest first) in the session's transaction, then `now_document`,
    its state now if it is running: each write is a no-op where the read model has it already."""
    for run in runs:
        if run.start.carried is not None:
            # The whole dossier as the run began: the base when earlier runs are gone.
            carried = projection(run.start.carried, run.started_at, since=0)
            await write_projection(session, carried)
        for settlement in run.settlements:
            await write_settlement(session, settlement)
        for notice in run.notices:
            await write_notice(session, notice)
        if run.result is not None:
            await write_projection(session, document_projection(run.result))
    if now_document is not None:
        await write_projection(session, document_projection(now_document))
    for run in runs:
        for receipt in run.deliveries:
            await restore_delivery(session, receipt)
        for update, portal_receipt in run.portal:
            await restore_portal_update(session, update, portal_receipt)


class Rebuild:
    """One rebuild of the read model from Temporal into the database of `sessions`."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        task_queue: str,
        *,
        query_running: bool = True,
        progress: Path | None = None,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._task_queue = task_queue
        self._query_running = query_running
        self._progress = progress
        self.report = RebuildReport()

    async def run(
        self, since: datetime | None = None, concurrency: int = CONCURRENCY
    ) -> RebuildReport:
        """Rebuild every dossier (`concurrency` at a time), then the totals and counters."""
        done = self._done()
        queue: asyncio.Queue[WorkflowExecution | None] = asyncio.Queue(maxsize=concurrency * 2)
        started = time.monotonic()
        log.info("rebuild_started", task_queue=self._task_queue, since=since, resumed=len(done))

        async def work() -> None:
            while (execution := await queue.get()) is not None:
                await self._dossier(execution)
                if (self.report.rebuilt + len(self.report.failed)) % _PROGRESS_EVERY == 0:
                    log.info("rebuild_progress", **self._figures(started))

        workers = [asyncio.create_task(work()) for _ in range(concurrency)]
        try:
            async for execution in self._executions(since):
                self.report.listed += 1
                if execution.id in done:
                    self.report.skipped += 1
                    continue
                await queue.put(execution)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
        async with self._sessions() as session, session.begin():
            await rebuild_report_totals(session)
            codes = (await session.exec(select(DossierRecord.code))).all()
            self.report.counters = await restore_counters(session, codes)
        log.info("rebuild_finished", **self._figures(started), failed_dossiers=self.report.failed)
        return self.report

    def _figures(self, started: float) -> dict[str, Any]:
        figures = self.report.model_dump(exclude={"failed"})
        return {
            **figures,
            "failed": len(self.report.failed),
            "seconds": round(time.monotonic() - started, 1),
        }

    async def _executions(self, since: datetime | None) -> AsyncIterator[WorkflowExecution]:
        async for execution in self._client.list_workflows(
            dossier_runs_query(self._task_queue, since)
        ):
            yield execution

    async def _dossier(self, execution: WorkflowExecution) -> None:
        try:
            runs, missing = await read_runs(self._client, execution)
            code = runs[-1].start.code
            now_document = None
            if execution.status == WorkflowExecutionStatus.RUNNING and self._query_running:
                now_document = await self._query(execution)
            async with self._sessions() as session, session.begin():
                await write_runs(session, runs, now_document)
            how = ENDED_OUTSIDE_THE_RULES.get(execution.status) if execution.status else None
            if how is not None and execution.close_time is not None:
                async with self._sessions() as session:
                    if await record_abnormal_close(session, code, execution.close_time, how):
                        self.report.abnormal_closes += 1
        except Exception as error:  # one dossier's failure must not stop the others'
            self.report.failed.append(execution.id)
            log.error("dossier_rebuild_failed", workflow=execution.id, error=repr(error))
            return
        self.report.rebuilt += 1
        self.report.runs_read += len(runs)
        self.report.runs_missing += missing
        unreadable = sum(r.unreadable_settlements for r in runs)
        self.report.unreadable_settlements += unreadable
        if unreadable and runs[-1].result is None and now_document is None:
            log.warning("dossier_state_incomplete", dossier=code, unreadable_settlements=unreadable)
        if self._progress is not None:
            with self._progress.open("a", encoding="utf-8") as done:
                done.write(execution.id + "\n")

    async def _query(self, execution: WorkflowExecution) -> DossierDocument | None:
        """A running dossier's document now; None (and its history alone) if no worker answers,
        and then for every dossier after it."""
        handle = self._client.get_workflow_handle(execution.id, run_id=execution.run_id)
        try:
            document: DossierDocument = await handle.query(
                "document", result_type=DossierDocument, rpc_timeout=QUERY_TIMEOUT
            )
        except Exception as error:
            # No worker polls (a restore with them stopped): the others would wait as long.
            self.report.query_failed += 1
            self._query_running = False
            log.warning(
                "dossier_query_failed",
                workflow=execution.id,
                error=repr(error),
                then="history only",
            )
            return None
        self.report.queried += 1
        return document

    def _done(self) -> set[str]:
        if self._progress is None or not self._progress.exists():
            return set()
        return set(self._progress.read_text(encoding="utf-8").split())


async def rebuild(
    settings: Settings,
    *,
    since: datetime | None = None,
    concurrency: int = CONCURRENCY,
    progress: Path | None = None,
    query_running: bool = True,
    client: Client | None = None,
) -> RebuildReport:
    """Rebuild the read model of `settings.database` (migrated) from the Temporal of
    `settings` (or `client`)."""
    if client is None:
        client = await Client.connect(
            settings.temporal_target,
            namespace=settings.temporal_namespace,
            data_converter=data_converter,
        )
    engine = create_engine(settings.database)
    try:
        job = Rebuild(
            client,
            session_factory(engine),
            settings.task_queue,
            query_running=query_running,
            progress=progress,
        )
        return await job.run(since, concurrency)
    finally:
        await engine.dispose()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m db.rebuild",
        description="Rebuild the read model (dossiers, events, notices, report totals) from "
        "Temporal into the database of MOTCUA_DATABASE_URL, migrated first by db.migrate.",
    )
    parser.add_argument(
        "--since",
        type=datetime.fromisoformat,
        help="only dossiers running or closed since this time (ISO 8601 with its zone): "
        "after restoring a backup taken then",
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--progress",
        type=Path,
        help="a file of the dossiers done: a rebuild run again with it skips them (resume)",
    )
    parser.add_argument(
        "--no-query",
        action="store_true",
        help="do not ask running dossiers for their state (no worker needed): their history only",
    )
    arguments = parser.parse_args(argv)
    if arguments.since is not None and arguments.since.tzinfo is None:
        parser.error("--since needs a time zone, e.g. 2026-12-01T00:00:00+07:00")
    if arguments.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    settings = Settings()
    configure_logging(settings.log_format, logging.INFO)
    log.info("rebuild_database", database=parse_url(settings.database).render_as_string())
    report = asyncio.run(
        rebuild(
            settings,
            since=arguments.since,
            concurrency=arguments.concurrency,
            progress=arguments.progress,
            query_running=not arguments.no_query,
        )
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
