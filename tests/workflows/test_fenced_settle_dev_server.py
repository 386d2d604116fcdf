"""v8 (issue 12): the read model written inside the workflow task that made the change, fenced.
A worker killed after that write but before the server had the task leaves in the read model
what never happened; here that write is made by hand, as the lost task would have made it (an
SOS stop that the history does not hold, its notice, counted in the SOS totals), then the dossier
goes on through its workflow on the dev server: its next write finds the lost one, rewrites the
dossier whole, and the read model, the outbox and the report totals hold exactly what the
workflow holds (R9, R12). A write of the lost task arriving after that is refused. Several
changes in the task done again (a worker back after a crash gets every timer that fired
meanwhile in one task) each keep their notices. A task completed early by the SDK while its
write ran (a query arriving) replays with other times: the next write done live rewrites the
dossier whole."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.settlement import LOCAL_WRITE_BOUND
from db.engine import create_engine, session_factory
from db.models import DossierRecord, EventRecord, NoticeRecord
from db.report_totals import SOS_TOTALS, rebuild_report_totals
from db.settlement import write_settlement
from domain.commands import Reply
from domain.dossier import DossierDocument, DossierStatus, Event
from domain.notices import Notice, NoticeKind
from domain.projection import DossierProjection, Settlement, SettlementOutcome
from tests.fixtures.databases import sqlite_write_lock_held
from tests.workflows.harness import (
    ENV,
    FIRE,
    LEAD,
    Stack,
    officer,
    running_stack,
    stack_settings,
)
from tests.workflows.steps import consult, consult_with
from tests.workflows.test_replay import replayer
from worker import running_worker
from workflows.dossier import DossierWorkflow

THREE_DAYS_S = 3 * 24 * 3600  # a deadline no timer of these tests reaches

pytestmark = pytest.mark.asyncio(loop_scope="session")


Sessions = async_sessionmaker[AsyncSession]


@pytest_asyncio.fixture(loop_scope="session")
async def workerless(dev_client: Client, task_queue: str, tmp_path: Path) -> Stack:
    """A stack whose workers the test starts and stops itself (`running_worker`)."""
    return Stack(dev_client, await stack_settings(tmp_path, task_queue))


@pytest_asyncio.fixture(loop_scope="session")
async def stack(workerless: Stack) -> AsyncIterator[Stack]:
    async with running_stack(workerless.client, workerless.settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def read_model(workerless: Stack) -> AsyncIterator[Sessions]:
    """Sessions on the stack's read model (its SQLite file), disposed after."""
    engine = create_engine(workerless.settings.database)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def lost_write(doc: DossierDocument, fence: datetime) -> Settlement:
    """What a lost workflow task could have written: an SOS stop the history never got, with
    the notice it would send, beyond the version the workflow confirmed."""
    confirmed = len(doc.events)
    at = doc.events[-1].at + timedelta(seconds=1)
    stopped = doc.model_copy(deep=True)
    stopped.events = [Event(seq=confirmed + 1, at=at, kind="sos_stop", actor="can-bo-1", detail={})]
    stopped.status = DossierStatus.STOPPED
    notice = Notice(
        key=f"{doc.code}/sos_stop/{confirmed + 1}",
        kind=NoticeKind.STOP_NOTICE,
        dossier=doc.code,
        to="applicant",
        sent_at=at,
        subject="Tạm dừng hồ sơ",
        body="Hồ sơ tạm dừng.",
    )
    view = DossierProjection(version=confirmed + 1, document=stopped, since=confirmed)
    return Settlement(projection=view, notices=[notice], fence=fence, confirmed=confirmed)


async def test_a_lost_tasks_write_is_replaced_by_the_next_write_of_the_workflow(
    stack: Stack, read_model: Sessions
) -> None:
    handle = await stack.start(datetime.now(UTC))
    await consult(
        FIRE, in_seconds=THREE_DAYS_S, content="Đề nghị cho ý kiến về phòng cháy chữa cháy"
    )(handle)
    doc = await handle.query(DossierWorkflow.document)
    async with read_model() as session:
        row = await session.get(DossierRecord, doc.code)
        assert row is not None and row.fence is not None  # written fenced, by v8
        fence = row.fence
    lost = lost_write(doc, fence)
    async with read_model() as session, session.begin():
        assert (await write_settlement(session, lost)).outcome is SettlementOutcome.WRITTEN
    assert await sos_totals(read_model) == [(LEAD, "stop", 1)]  # counted, as it would be

    answered = await handle.execute_update(
        DossierWorkflow.reply, Reply(actor=officer(FIRE), agency=FIRE, opinion="Đồng ý")
    )

    now = await handle.query(DossierWorkflow.document)
    assert now == answered and now.status == "processing"
    async with read_model() as session:
        events = (
            await session.exec(
                select(EventRecord).where(EventRecord.dossier == doc.code).order_by("seq")
            )
        ).all()
        row = await session.get(DossierRecord, doc.code)
        notices = (
            await session.exec(select(NoticeRecord.key).where(NoticeRecord.dossier == doc.code))
        ).all()
    assert [(e.seq, e.kind) for e in events] == [(e.seq, e.kind) for e in now.events]
    assert row is not None
    assert (row.version, row.status) == (len(now.events), "processing")
    assert lost.notices[0].key not in notices
    assert await sos_totals(read_model) == []  # the stop that never happened: not counted
    kept = await sos_totals(read_model)
    async with read_model() as session, session.begin():
        await rebuild_report_totals(session)
    assert await sos_totals(read_model) == kept

    # The lost task's write, arriving after all that: refused, nothing changed.
    async with read_model() as session, session.begin():
        late = await write_settlement(session, lost)
    assert late.outcome is SettlementOutcome.OVERTAKEN
    async with read_model() as session:
        row = await session.get(DossierRecord, doc.code)
    assert row is not None and (row.version, row.status) == (len(now.events), "processing")


async def test_changes_done_again_in_one_task_after_a_lost_write_each_keep_their_notices(
    dev_client: Client, workerless: Stack, read_model: Sessions
) -> None:
    """The crash harness's case: the task done again after a lost write holds two changes (a
    worker back after a crash gets every timer that fired meanwhile in one task: here two
    consultations' first reminders, R3). The first change's write finds the lost write and
    rewrites the dossier whole, the second change already in it; the second's write must take
    that as this run's own, not as another lost task's: resetting again dropped the first's
    reminder (not sent yet) from the outbox."""
    stack = workerless
    async with running_worker(dev_client, stack.settings):
        handle = await stack.start(datetime.now(UTC))
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        await consult_with(agencies=[FIRE, ENV], content="Xin ý kiến", deadline=deadline)(handle)
        doc = await handle.query(DossierWorkflow.document)
        async with read_model() as session:
            row = await session.get(DossierRecord, doc.code)
            assert row is not None and row.fence is not None
            fence = row.fence
        lost = lost_write(doc, fence)
        async with read_model() as session, session.begin():
            assert (await write_settlement(session, lost)).outcome is SettlementOutcome.WRITTEN
    # No worker while both reminders fall due: the next task carries both timers.
    await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1.5)
    async with running_worker(dev_client, stack.settings):
        await asyncio.sleep(4)  # no query meanwhile: see the next test
        now = await handle.query(DossierWorkflow.document)
        assert sum(e.kind == "reminder_1" for e in now.events) == 2, now.events
        async with read_model() as session:
            row = await session.get(DossierRecord, doc.code)
            notices = (
                await session.exec(select(NoticeRecord.key).where(NoticeRecord.dossier == doc.code))
            ).all()
        assert row is not None and row.version == len(now.events)
        reminders = sorted(k for k in notices if "/reminder_1/" in k)
        assert reminders == sorted(
            f"{doc.code}/reminder_1/{c.agency}/{c.number}" for c in now.consultations
        ), notices
        assert lost.notices[0].key not in notices
        await stack.end_all()


async def test_a_task_completed_early_for_a_query_replays_apart_and_the_next_write_mends_it(
    dev_client: Client, workerless: Stack, read_model: Sessions
) -> None:
    """A query that arrives while a workflow task waits for a worker is answered with that task:
    the SDK completes it with no command while its fenced write still runs, and goes on in a
    new one. Replayed, the first task's code runs with the second's `workflow.now()`, so the
    reminder it made comes back with another time than the read model holds. After the replay
    (a new worker), the next write done live sends the whole dossier: the read model's events
    and the workflow's agree again, times included."""
    stack = workerless
    async with running_worker(dev_client, stack.settings):
        handle = await stack.start(datetime.now(UTC))
        deadline = datetime.now(UTC) + timedelta(seconds=4)
        await consult_with(agencies=[ENV], content="Xin ý kiến", deadline=deadline)(handle)
    # No worker while the reminder falls due (R3); a query comes meanwhile (an operator's
    # Web UI, say) and waits with the task, whose write then waits for SQLite's write lock.
    await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1)
    querying = asyncio.create_task(handle.query(DossierWorkflow.document))
    await asyncio.sleep(0.5)
    with sqlite_write_lock_held(stack.settings.database) as release:
        async with running_worker(dev_client, stack.settings):
            await asyncio.sleep(LOCAL_WRITE_BOUND.total_seconds() / 2)
            release()
            await querying
            for _ in range(50):
                if await completed_early(handle):
                    break
                await asyncio.sleep(0.1)
    assert await completed_early(handle), "no task completed early: nothing to test"
    async with running_worker(dev_client, stack.settings):  # a new worker: the run replayed
        await consult(FIRE, in_seconds=THREE_DAYS_S)(handle)
        now = await handle.query(DossierWorkflow.document)
        assert "reminder_1" in [e.kind for e in now.events]
        async with read_model() as session:
            events = (
                await session.exec(
                    select(EventRecord).where(EventRecord.dossier == now.code).order_by("seq")
                )
            ).all()
        assert [(e.seq, e.kind, e.at) for e in events] == [
            (e.seq, e.kind, e.at) for e in now.events
        ]
        await stack.end_all()


async def test_a_write_past_its_bound_goes_after_the_task_and_the_history_replays(
    dev_client: Client, workerless: Stack, read_model: Sessions
) -> None:
    """A reply whose fenced write cannot land within its bound (SQLite's write lock held by
    another writer): the local activity answers `late`, the same write goes by an activity
    after the task, the reply's caller gets its answer once it landed, and the history replays
    (a local activity timed out by the SDK instead failed replay with a nondeterminism error)."""
    stack = workerless
    async with running_worker(dev_client, stack.settings):
        handle = await stack.start(datetime.now(UTC))
        await consult(FIRE, in_seconds=THREE_DAYS_S)(handle)
        with sqlite_write_lock_held(stack.settings.database):
            replying = asyncio.create_task(
                handle.execute_update(
                    DossierWorkflow.reply,
                    Reply(actor=officer(FIRE), agency=FIRE, opinion="Đồng ý"),
                )
            )
            await asyncio.sleep(LOCAL_WRITE_BOUND.total_seconds() + 1.5)
            assert not replying.done(), "answered before its write landed"
        answered = await replying
        async with read_model() as session:
            row = await session.get(DossierRecord, answered.code)
        assert row is not None and row.version == len(answered.events)
        history = await handle.fetch_history()
        types = [
            e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
        ]
        assert "settle_dossier" in types, "the write did not go after the task"
        replayed = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, replayed.replay_failure
        await stack.end_all()


async def completed_early(handle: Any) -> bool:
    """Whether a workflow task of the run was completed with no command and another asked for
    at once (the SDK's "heartbeat" while local activities run)."""
    kinds = [e.event_type for e in (await handle.fetch_history()).events]
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    scheduled = EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    return any(a == completed and b == scheduled for a, b in itertools.pairwise(kinds))


async def sos_totals(sessions: Any) -> list[tuple[str, str, int]]:
    async with sessions() as session:
        connection = await session.connection()
        rows = await connection.execute(select(SOS_TOTALS))
        return [(r.agency, r.action, r.accepted) for r in rows]
