"""A settle cancelled in the middle of its write (v8: a local activity past its bound, whose
write then goes by an activity; any activity when its worker shuts down) ends its transaction
before the cancellation is raised (`db.engine.to_the_end`). Cut short, SQLAlchemy abandons the
connection with its transaction open, and on SQLite the file's write lock stays held until the
garbage collector closes it (measured: more than 20 s), while every other writer waits and then
fails with "database is locked": the API's receipts answered 503 that way under load.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.settlement import LOCAL_WRITE_BOUND, SettlementActivities
from db.read_model import get_dossier
from domain.projection import Settlement, SettlementOutcome
from tests.db.test_read_model import view
from tests.fixtures.databases import sqlite_write_lock_free, sqlite_write_lock_held
from tests.unit.builders import CODE, dossier


async def test_a_settle_cancelled_while_it_waits_for_the_lock_writes_then_frees_it(
    sqlite_url: str, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Another writer holds the file's write lock: the settle waits inside its transaction.
    with sqlite_write_lock_held(sqlite_url) as release:
        env = ActivityEnvironment()
        activity = SettlementActivities(sqlite_sessions).settle_dossier
        settling = asyncio.create_task(env.run(activity, Settlement(projection=view(dossier()))))
        await asyncio.sleep(0.5)
        env.cancel()
        await asyncio.sleep(0.3)
        assert not settling.done(), "the cancellation waits for the write to end"
        release()
        with pytest.raises(asyncio.CancelledError):
            await settling
    # The write went to its end, and its lock is free at once.
    assert sqlite_write_lock_free(sqlite_url)
    async with sqlite_sessions() as session:
        assert await get_dossier(session, CODE) is not None


async def test_a_fenced_write_inside_a_task_past_its_bound_answers_late_and_lands_after(
    sqlite_url: str, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """v8: a local settle that cannot write within `LOCAL_WRITE_BOUND` answers `late` (the
    workflow then writes the same settlement by an activity after its task) instead of being
    timed out by the SDK, and its write goes on and lands once it can, leaving no lock."""
    activities = SettlementActivities(sqlite_sessions)
    fenced = Settlement(projection=view(dossier()), fence=datetime.now(UTC))
    with sqlite_write_lock_held(sqlite_url):
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, is_local=True)
        started = time.monotonic()
        receipt = await env.run(activities.settle_dossier, fenced)
        waited = time.monotonic() - started
        assert receipt.outcome is SettlementOutcome.LATE and not receipt.applied
        assert LOCAL_WRITE_BOUND.total_seconds() <= waited < LOCAL_WRITE_BOUND.total_seconds() + 2
        async with sqlite_sessions() as session:
            assert await get_dossier(session, CODE) is None  # not yet
    for _ in range(100):
        async with sqlite_sessions() as session:
            if await get_dossier(session, CODE) is not None:
                break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the late write never landed")
    # The workflow's activity after the task writes the same settlement: nothing new.
    again = await ActivityEnvironment().run(activities.settle_dossier, fenced)
    assert again.outcome is SettlementOutcome.WRITTEN and not again.applied
    assert sqlite_write_lock_free(sqlite_url)
