"""SQLite's writers in one process take turns (`db.engine.write_turn`), first come first served,
instead of each polling for the file's write lock: SQLite's waiters sleep between tries, up to
100 ms, and under load the newest often won while the oldest waited seconds (workflow v8's
writes inside workflow tasks: p99 2-3 s with 8 clients). PostgreSQL's writers take no turn."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.settlement import SettlementActivities
from db.engine import create_engine, session_factory, write_turn
from db.migrate import upgrade
from db.read_model import get_dossier
from domain.projection import Settlement
from tests.db.test_read_model import view
from tests.fixtures.databases import sqlite_write_lock_held
from tests.unit.builders import dossier

CODES = [f"000.00.06.H19-250303-{n:04d}" for n in range(1, 6)]


def _engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


def _writers_in_transaction(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Connections the pool has lent out: writers inside their transaction, waiting or writing."""
    checked_out: int = _engine(sessions).pool.checkedout()  # type: ignore[attr-defined]
    return checked_out


async def test_sqlite_writers_of_one_process_wait_in_line_and_all_land_in_order(
    sqlite_url: str, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    activities = SettlementActivities(sqlite_sessions)
    landed: list[str] = []

    async def settle(code: str) -> None:
        await ActivityEnvironment().run(
            activities.settle_dossier, Settlement(projection=view(dossier(code=code)))
        )
        landed.append(code)

    with sqlite_write_lock_held(sqlite_url):  # another process writing
        settling = []
        for code in CODES:
            settling.append(asyncio.create_task(settle(code)))
            await asyncio.sleep(0.05)  # arrivals in this order
        await asyncio.sleep(0.3)
        # One of them polls for the file's lock; the others wait for their turn, holding no
        # connection (each would poll on its own without the turns: 5 connections).
        assert _writers_in_transaction(sqlite_sessions) == 1
        assert landed == []
    await asyncio.gather(*settling)
    assert landed == CODES, "first come, first served"
    async with sqlite_sessions() as session:
        for code in CODES:
            assert await get_dossier(session, code) is not None


@pytest.mark.postgres
async def test_a_turn_is_per_sqlite_engine_and_none_on_postgresql(
    sqlite_url: str, empty_postgres_url: str
) -> None:
    upgrade(sqlite_url)
    upgrade(empty_postgres_url)
    sqlite_a, sqlite_b, postgres = (
        create_engine(sqlite_url),
        create_engine(sqlite_url),
        create_engine(empty_postgres_url),
    )
    try:
        a, b, pg = session_factory(sqlite_a), session_factory(sqlite_b), session_factory(postgres)
        async with write_turn(a):
            # another engine (another pool: as another process would) is not held back
            await asyncio.wait_for(_take_turn(b), timeout=1)
            # nor is PostgreSQL, whose writers wait on row locks, in order
            await asyncio.wait_for(_take_turn(pg), timeout=1)
            # the same engine is
            queued = asyncio.create_task(_take_turn(a))
            await asyncio.sleep(0.2)
            assert not queued.done()
        await asyncio.wait_for(queued, timeout=1)
    finally:
        for engine in (sqlite_a, sqlite_b, postgres):
            await engine.dispose()


async def _take_turn(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with write_turn(sessions):
        pass
