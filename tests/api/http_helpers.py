"""What the HTTP tests of API.md share: problem-document assertions, dossiers with codes of their
own, deadlines, polling for what the service does by itself, and serving an app on a free port.

Dossiers get explicit codes (`new_code`): the app database is fresh in every test while the
session's Temporal dev server keeps every workflow id, so generated codes (`…-0001` again in each
test) would have to skip every code the session already used.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from db.engine import create_engine, session_factory
from db.models import ConsultationRecord, DossierRecord
from tests.fixtures.api import Api, free_port

PROBLEM = "application/problem+json"
T = TypeVar("T")


def new_code() -> str:
    """A dossier code no other test of the session uses."""
    return f"T-{uuid.uuid4().hex[:12]}"


async def receive(
    api: Api, procedure: str = "DN-XD-001", user: str = "sxd.officer", **fields: Any
) -> dict[str, Any]:
    """A new dossier with a code of its own, as `POST /api/v1/dossiers` answered it."""
    return await api.receive(procedure, user, code=new_code(), **fields)


def deadline_in(seconds: float) -> str:
    """A consultation deadline `seconds` from now, with its zone."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def when(value: str) -> datetime:
    """A time of the API, which always carries its offset."""
    at = datetime.fromisoformat(value)
    assert at.tzinfo is not None, value
    return at


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem document with this HTTP status and stable `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    assert problem["status"] == status, problem
    assert problem["type"].endswith(code)
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == response.request.url.path
    return problem


async def dossier(api: Api, code: str, user: str = "sxd.officer") -> dict[str, Any]:
    """`GET /api/v1/dossiers/{code}`, which must answer 200."""
    response = await api.get(f"/api/v1/dossiers/{code}", user)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def act(
    api: Api, code: str, action: str, body: dict[str, Any], user: str = "sxd.officer"
) -> httpx.Response:
    """`POST /api/v1/dossiers/{code}/{action}`."""
    return await api.post(f"/api/v1/dossiers/{code}/{action}", body, user)


async def consult(
    api: Api, code: str, *agencies: str, in_seconds: float = 3600
) -> list[dict[str, Any]]:
    """Consultations asked of `agencies`, which must be accepted (201)."""
    response = await api.consult(code, *agencies, in_seconds=in_seconds)
    assert response.status_code == 201, response.text
    consultations: list[dict[str, Any]] = response.json()["consultations"]
    return consultations


async def reply(
    api: Api, code: str, agency: str, user: str, late_reason: str | None = None
) -> dict[str, Any]:
    """`agency` answers through `user`; the answer must be accepted (200)."""
    body = {"opinion": "Đồng ý", "late_reason": late_reason}
    response = await act(api, code, f"consultations/{agency}/reply", body, user)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def refused(document: dict[str, Any], action: str | None = None) -> list[dict[str, Any]]:
    """The dossier's `refused` events (R9), of `action` if given."""
    return [
        e
        for e in document["events"]
        if e["kind"] == "refused" and (action is None or e["detail"]["action"] == action)
    ]


async def notices(api: Api, user: str = "snv.home_affairs", **params: Any) -> list[dict[str, Any]]:
    """Every notice `user` sees with these filters, following `next_cursor` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/api/v1/notices", user, **page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def eventually(
    probe: Callable[[], Awaitable[T]], ready: Callable[[T], bool], *, within: float, what: str
) -> T:
    """The first answer of `probe` that is `ready`, polling for at most `within` seconds: what
    the service does by itself "shows up within seconds" (API.md)."""
    give_up = time.monotonic() + within
    while True:
        answer = await probe()
        if ready(answer):
            return answer
        if time.monotonic() > give_up:
            pytest.fail(f"no {what} within {within} s; last seen: {answer!r}")
        await asyncio.sleep(0.1)


async def sleep_until(moment: str | datetime, margin: float = 0.3) -> None:
    """Wait until `margin` seconds after `moment` (a deadline, say)."""
    at = when(moment) if isinstance(moment, str) else moment
    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds() + margin))


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` served by uvicorn on a free localhost port (its lifespan run), and a client for it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    running = asyncio.create_task(server.serve())
    while not server.started:
        if running.done():
            running.result()
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await running


async def in_the_read_model(database_url: str, code: str, phone: str | None = None) -> None:
    """Dossier `code` of SXD consulting CAT as the read model holds it (no workflow): what the
    API reads, and whom it lets through to the dossier."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            now = datetime.now(UTC)
            db.add(
                DossierRecord(
                    code=code,
                    procedure_code="DN-XD-001",
                    procedure_name="Cấp giấy phép xây dựng",
                    lead_agency="SXD",
                    applicant={"name": "Lê Văn Cường", "phone": phone},
                    applicant_phone=phone,
                    status="processing",
                    national_status=4,
                    received_at=now,
                    version=1,
                    updated_at=now,
                )
            )
            await db.flush()
            db.add(
                ConsultationRecord(
                    dossier=code,
                    number=1,
                    agency="CAT",
                    content="Xin ý kiến",
                    deadline=now,
                    status="awaiting",
                    requested_at=now,
                )
            )
            await db.commit()
    finally:
        await engine.dispose()
