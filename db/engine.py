"""Engines and sessions for the two databases motcua runs on: an SQLite file (development, tests,
small installations) and PostgreSQL (production), both through asyncio drivers."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, overload

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# How long an SQLite connection waits for another one's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000

# A URL without a driver gets the asyncio driver we ship, so `postgresql://…` also works.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def parse_url(url: str) -> URL:
    """Parse `url`, giving a bare `sqlite://` or `postgresql://` its asyncio driver."""
    parsed = make_url(url)
    return parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))


def create_engine(url: str) -> AsyncEngine:
    """An engine for `url` (`sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`).

    SQLite: the file's folder is created; each connection gets WAL (readers do not block the
    writer), a busy timeout (writers queue instead of failing) and enforced foreign keys (off by
    default in SQLite, on in PostgreSQL). PostgreSQL: a pool that tests a connection before
    lending it, so that connections broken by a server restart are replaced, not handed out.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            parsed, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
        )
    if (
        parsed.database
        and parsed.database != ":memory:"
        and not parsed.database.startswith("file:")
    ):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, pool_size=5, max_overflow=15)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Pragmas are per connection (journal_mode is stored in the file, setting it again is cheap),
    # and must run outside a transaction, which is the case right after connecting.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; objects stay readable after commit (activities return them)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# Per event loop, per SQLite engine: the queue its writers take turns in (`write_turn`).
_WRITE_TURNS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Any, asyncio.Lock]
] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_turn(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Wait for this process's turn to write to an SQLite file, first come first served.

    SQLite has one writer at a time and its waiters poll, sleeping 1 ms, then longer, up to
    100 ms between tries: under load a writer that just arrived often takes the lock before
    one that has slept for seconds (measured: the worker's writes inside workflow tasks waited
    2-3 s at p99 with 8 clients). The writers of one process queue here instead; only one of
    them at a time polls against the other processes'. PostgreSQL's writers need no turn."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    turns = _WRITE_TURNS.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    turn = turns.setdefault(engine.sync_engine, asyncio.Lock())
    async with turn:
        yield


@asynccontextmanager
async def write_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction, begun once this process's turn to write has come
    (`write_turn`), committed on leaving, rolled back on an exception: the worker's writers."""
    async with write_turn(sessions), sessions() as session, session.begin():
        yield session


_T = TypeVar("_T")


@overload
async def to_the_end(transaction: Awaitable[_T]) -> _T: ...
@overload
async def to_the_end(
    transaction: Awaitable[_T], *, within: float, past: Callable[[asyncio.Future[_T]], None]
) -> _T | None: ...
async def to_the_end(
    transaction: Awaitable[_T],
    *,
    within: float | None = None,
    past: Callable[[asyncio.Future[_T]], None] | None = None,
) -> _T | None:
    """Await `transaction` (a whole session's work, begin to commit) so that cancelling the
    caller does not cut it short: the caller's cancellation waits for it to end, then is raised.
    With `within` (seconds), give up waiting after that long: `past` gets the transaction, still
    running to its end, and the answer is None.

    A statement cut short by a cancellation leaves its connection abandoned by SQLAlchemy with
    its transaction open, and on SQLite with the file's write lock held until the garbage
    collector closes it (measured: over 20 s; every other writer waits, then fails "database
    is locked"). A local activity past its timeout is cancelled that way."""
    work = asyncio.ensure_future(transaction)
    try:
        await asyncio.wait([work], timeout=within)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise
    if work.done():
        return work.result()
    assert past is not None, "a bound needs someone to hold the work past it"
    past(work)
    return None


def dialect_insert(dialect_name: str) -> Callable[..., Any]:
    """The dialect's own `insert()`, which has `on_conflict_do_nothing()` and `returning()`.

    Idempotent activities write `INSERT … ON CONFLICT (business key) DO NOTHING`; both
    databases spell it the same, but SQLAlchemy offers it per dialect.
    """
    inserts: dict[str, Callable[..., Any]] = {
        "sqlite": sqlite.insert,
        "postgresql": postgresql.insert,
    }
    try:
        return inserts[dialect_name]
    except KeyError:
        raise ValueError(f"unsupported database dialect {dialect_name!r}") from None
