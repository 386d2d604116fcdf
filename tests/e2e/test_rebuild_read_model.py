"""Issue 11, recovery: the application database lost, `python -m db.rebuild` brings the read model
back from Temporal: the same dossiers, events, notices and report figures (on SQLite and
PostgreSQL, the stack over real HTTP on the dev server).

Dossiers in varied states are driven through the API (open with a consultation awaited and an SOS
refused; answered then stopped; completed and handed over; withdrawn; cancelled by an operator),
the database is snapshotted once the service is quiet, then a fresh database is migrated and
rebuilt by the command, and compared table by table and through the report API."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import Authenticator
from db.engine import create_engine, parse_url
from db.migrate import prepare, sync_calendar
from db.rebuild import rebuild
from domain.localtime import local_date
from settings import REPO_ROOT, Settings
from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    eventually,
    new_code,
    reply,
    serving,
)
from tests.fixtures.api import SECRET, Api
from tests.fixtures.databases import _create_database, _drop_database
from workflows.starter import workflow_id

STOP = {"action": "stop", "reason": "Chờ kết quả thẩm định"}
RESULT = {"outcome": "approved", "document_no": "123/GPXD", "summary": "Cấp phép"}
WITHDRAWAL = {"reason": "Người nộp xin rút", "application_ref": "DON-01"}
SIGNED = {"signature_ref": "KY-01"}
TODAY = local_date(datetime.now(UTC))
FIRST, LAST = TODAY - timedelta(days=60), TODAY + timedelta(days=400)  # the calendar written
PERIOD = {
    "from": (TODAY - timedelta(days=3)).isoformat(),
    "to": (TODAY + timedelta(days=3)).isoformat(),
}
REPORTS = {
    "/api/v1/reports/agency-delays": "snv.home_affairs",
    "/api/v1/reports/sos-audit": "vpubnd.inspector",
    "/api/v1/reports/on-time": "vpubnd.inspector",
    "/api/v1/reports/late-without-apology": "snv.home_affairs",
}

# Every table the rebuild writes, by its key.
TABLES = {
    "dossiers": "code",
    "consultations": "dossier, number",
    "events": "dossier, seq",
    "notices": "key",
    "notice_deliveries": "notice_key, recipient",
    "portal_updates": "dossier, seq",
    "consultation_totals": "agency, day",
    "closed_dossier_totals": "lead_agency, receiving_desk, procedure_code, day",
    "sos_totals": "agency, action, day",
}
# Minus what only says when a row was written, and the totals' high-water mark of events
# (`events_counted`): a projection moves it on SOS events only, the recount to each dossier's
# last event; either way no event is left uncounted, which the SOS totals compared show.
# (and what only a fenced write from the workflow's own task sets: the dossier's `fence`, the
# notices' `settlement_version`; a rebuild writes from history, unfenced)
NOT_COMPARED = {
    "updated_at",
    "recorded_at",
    "id",
    "events_counted",
    "fence",
    "settlement_version",
}


async def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of `TABLES`, in key order, without the times they were written."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = {}
            for table, key in TABLES.items():
                rows = await connection.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
                tables[table] = [
                    {k: v for k, v in row._mapping.items() if k not in NOT_COMPARED} for row in rows
                ]
            return tables
    finally:
        await engine.dispose()


def differences(
    before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
) -> list[tuple[str, int, str, Any, Any]]:
    """(table, row, column, before, after) wherever two snapshots differ: a readable failure."""
    found: list[tuple[str, int, str, Any, Any]] = []
    for table, rows in before.items():
        if len(rows) != len(after[table]):
            found.append((table, -1, "rows", len(rows), len(after[table])))
            continue
        for n, (old, new) in enumerate(zip(rows, after[table], strict=True)):
            found += [(table, n, k, old[k], new.get(k)) for k in old if old[k] != new.get(k)]
    return found


async def through_the_api(http: httpx.AsyncClient, api: Api, codes: list[str]) -> dict[str, Any]:
    """What readers get: each dossier, the list, every notice, the four reports."""

    async def get(path: str, user: str, **params: Any) -> Any:
        response = await http.get(path, headers=api.headers(user), params=params)
        assert response.status_code == 200, response.text
        return response.json()

    answers: dict[str, Any] = {
        code: await get(f"/api/v1/dossiers/{code}", "sxd.officer") for code in codes
    }
    answers["list"] = await get("/api/v1/dossiers", "snv.home_affairs", limit=100)
    notices = await get("/api/v1/notices", "snv.home_affairs", limit=200)
    answers["notices"] = sorted(
        ({k: v for k, v in n.items() if k != "id"} for n in notices["items"]),
        key=lambda n: (n["dossier"], n["sent_at"], n["kind"], n["to"]),
    )
    for path, user in REPORTS.items():
        answers[path] = {k: v for k, v in (await get(path, user, **PERIOD)).items() if k != "as_of"}
    return answers


@asynccontextmanager
async def fresh_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as `database_url`: the one lost is not reused."""
    server = parse_url(database_url)
    if server.get_backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'rebuilt' / 'motcua.db'}"
        return
    name = f"motcua_rebuilt_{secrets.token_hex(4)}"
    url = await _create_database(server, name)
    try:
        yield url
    finally:
        await _drop_database(server, name)


async def quiet(api: Api) -> None:
    """Every notice and national status sent out, or given up: what the service does by itself
    is over, so the snapshot holds still."""
    engine = create_engine(api.settings.database)

    async def pending() -> int:
        unsettled = "IN ('pending', 'failed_attempt')"
        async with engine.connect() as connection:
            counts = [
                await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} {unsettled}")
                )
                for table, column in (("notices", "delivery_status"), ("portal_updates", "status"))
            ]
            return sum(int(count.scalar_one()) for count in counts)

    try:
        await eventually(pending, lambda n: n == 0, within=30, what="quiet service")
    finally:
        await engine.dispose()


async def drive(api: Api, dev_env: WorkflowEnvironment) -> list[str]:
    """Five dossiers in five states; their codes."""
    codes = [new_code() for _ in range(5)]
    for code in codes:
        await api.receive(code=code)
    awaited, stopped, completed, withdrawn, cancelled = codes

    await consult(api, awaited, "CAT")
    assert_problem(await act(api, awaited, "sos", STOP), 409, "sos_rejected_awaiting_replies")

    await consult(api, stopped, "CAT", "SNNMT")
    await reply(api, stopped, "CAT", "cat.officer")
    await reply(api, stopped, "SNNMT", "snnmt.officer")
    assert (await act(api, stopped, "sos", STOP)).status_code == 200

    assert (await act(api, completed, "result", RESULT)).status_code == 200
    handed = await act(api, completed, "handover", {"received_by": "Lê Văn Cường"})
    assert handed.status_code == 200, handed.text

    await consult(api, withdrawn, "SYT")
    assert (await act(api, withdrawn, "withdrawal", WITHDRAWAL)).status_code == 202
    confirmed = await act(api, withdrawn, "withdrawal/confirm", SIGNED, "sxd.head")
    assert confirmed.json()["status"] == "withdrawn", confirmed.text

    handle = dev_env.client.get_workflow_handle(workflow_id(cancelled))
    await handle.cancel()
    for code in (completed, withdrawn, cancelled):
        # a closed dossier's run ends once its last write landed
        await eventually(
            dev_env.client.get_workflow_handle(workflow_id(code)).describe,
            lambda d: d.close_time is not None,
            within=30,
            what=f"the end of {code}'s run",
        )
    return codes


async def run_the_command(settings: Settings, *arguments: str) -> str:
    """`python -m db.rebuild` with `settings` in its environment; its output."""
    environment = {
        **os.environ,
        "MOTCUA_DATABASE_URL": settings.database,
        "MOTCUA_TEMPORAL_ADDRESS": settings.temporal_target,
        "MOTCUA_TASK_QUEUE": settings.task_queue,
        "MOTCUA_LOG_FORMAT": "json",
    }
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "db.rebuild", *arguments,
        cwd=REPO_ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await command.communicate()
    assert command.returncode == 0, output.decode()
    return output.decode()


async def test_issue_11_read_model_dropped_then_rebuilt_from_temporal_is_the_same(
    api: Api, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    await sync_calendar(api.settings.database, first=FIRST, last=LAST)
    codes = await drive(api, dev_env)
    await quiet(api)
    before = await snapshot(api.settings.database)
    seen_before = await through_the_api(api.http, api, codes)
    assert len(before["dossiers"]) == 5 and before["notices"] and before["sos_totals"]

    async with fresh_database(api.settings.database, tmp_path) as url:
        settings = Settings(
            database_url=url,
            task_queue=api.settings.task_queue,
            temporal_address=api.settings.temporal_target,
        )
        await prepare(url)
        await sync_calendar(url, first=FIRST, last=LAST)
        progress = tmp_path / "rebuilt.txt"
        output = await run_the_command(settings, "--progress", str(progress))

        assert '"rebuild_finished"' in output, output
        assert differences(before, await snapshot(url)) == []
        assert sorted(progress.read_text().split()) == sorted(workflow_id(c) for c in codes)
        async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as http:
            assert await through_the_api(http, api, codes) == seen_before

        # Run again (written twice: nothing changes), and resumed (every dossier done: skipped).
        again = await rebuild(settings, client=dev_env.client)
        resumed = await rebuild(settings, client=dev_env.client, progress=progress)
        assert (again.rebuilt, again.queried, again.failed) == (5, 2, [])
        assert (resumed.skipped, resumed.rebuilt) == (5, 0)
        assert differences(before, await snapshot(url)) == []
