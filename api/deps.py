"""Dependencies of the route handlers: the services built at start-up, a database session per
request, the caller (from the bearer token), and the pagination parameters of API.md."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import current_actor
from api.problems import Problem
from domain.commands import Actor
from domain.limits import forbidden_character
from telemetry.log_context import bind_dossier

if TYPE_CHECKING:
    from api.app import Services


def client_address(request: Request) -> str:
    """The caller's address, as the rate limits count it (behind a proxy, uvicorn's
    --proxy-headers make it the one the proxy saw)."""
    return request.client.host if request.client else "unknown"


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def dossier_log_context(request: Request) -> None:
    """A dependency of every route: the log lines of a request about one dossier (a path
    `…/dossiers/{code}…`; not an agency's or a procedure's code) name it and its workflow.
    Async, so that the binding is made in the request's own context, not a worker thread's."""
    route = request.scope.get("route")
    code = request.path_params.get("code")
    if isinstance(code, str) and "/dossiers/{code}" in getattr(route, "path", ""):
        bind_dossier(code)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; a database out of reach is a 503 with its code, a value of the
    request it cannot hold or search for (the command models refuse most at the boundary) is
    the client's: 422 `unsupported_value`."""
    try:
        async with services(request).sessions() as db:
            yield db
    except OverflowError as error:  # SQLite: an integer beyond 64 bits, refused by the driver
        raise Problem("unsupported_value", str(error)) from error
    except PoolTimeout as error:  # every connection of the pool busy past its timeout
        raise Problem("database_unavailable", "no database connection free") from error
    except (OperationalError, DBAPIError, OSError) as error:
        if _refused_value(error):
            raise Problem("unsupported_value", _first_line(error)) from error
        raise Problem("database_unavailable", type(error).__name__) from error


async def release_connection(db: AsyncSession) -> None:
    """Give the request's database connection back to the pool before a wait on the workflow
    service (seconds when a worker is away): a pool of twenty would otherwise run dry under a
    few dozen waiting actions. The session takes a connection again if it is used after."""
    await db.close()


def _refused_value(error: BaseException) -> bool:
    """The database refused a value, not a fault of its own: SQLSTATE class 22, data exception
    (a NUL in text, a number out of range, which asyncpg also reports so for what it cannot even
    send)."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, DataError) or (isinstance(sqlstate, str) and sqlstate[:2] == "22")


def _first_line(error: BaseException) -> str:
    return (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]


ServicesDep = Annotated["Services", Depends(services)]
SessionDep = Annotated[AsyncSession, Depends(session)]
ActorDep = Annotated[Actor, Depends(current_actor)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (API.md: default 50, max 500)")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


# Longer than any cursor this API gives (a time, a dossier code and a seq).
CURSOR_MAX = 512


def decode_cursor(cursor: str | None, shape: Any) -> Any:
    """The position a `next_cursor` stands for, checked against the `shape` this list's cursors
    have and against what the databases hold: anything else is `invalid_cursor`, never a query
    with a stranger's values."""
    if cursor is None:
        return None
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        position = TypeAdapter(shape).validate_python(
            json.loads(base64.urlsafe_b64decode(padded.encode()))
        )
        if not _storable(position):
            raise ValueError("a value no database holds")
        return position
    except (ValueError, UnicodeDecodeError, ValidationError, OverflowError) as error:
        raise Problem("invalid_cursor") from error


def _storable(value: Any) -> bool:
    """Whether both databases can compare with `value`: 64-bit integers, texts without control
    characters, times that exist in UTC."""
    if isinstance(value, tuple | list):
        return all(_storable(v) for v in value)
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        return forbidden_character(value) is None
    if isinstance(value, datetime):
        value.astimezone(UTC)  # OverflowError at the ends of time
    return True
