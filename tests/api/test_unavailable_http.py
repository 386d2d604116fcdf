"""The database or Temporal out of reach answers 503 with a documented code, never 500 (API.md,
"Operations"): the app is served by uvicorn on a free port with a PostgreSQL URL and a Temporal
address where nothing listens (port 1), one or both at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import Authenticator
from db.migrate import seed
from dev.tokens import mint_token
from domain.localtime import local_date
from settings import Settings
from tests.api.http_helpers import PROBLEM, assert_problem, in_the_read_model, serving
from tests.fixtures.api import APPLICANT, SECRET, USERS

NO_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
NO_TEMPORAL = "127.0.0.1:1"
UNAVAILABLE = {"temporal_unavailable", "database_unavailable"}

READS = ["/api/v1/dossiers/X-1", "/api/v1/dossiers", "/api/v1/notices", "/api/v1/agencies"]
ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/dossiers", {"procedure_code": "DN-XD-001", "applicant": APPLICANT}),
    ("/api/v1/dossiers/X-1/sos", {"action": "stop", "reason": "Chờ"}),
    ("/api/v1/dossiers/X-1/consultations/CAT/reply", {"opinion": "Đồng ý"}),
    ("/api/v1/dossiers/X-1/result", {"outcome": "approved", "document_no": "1"}),
]


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(USERS[user], SECRET, hours=1)}"}


@asynccontextmanager
async def service(
    database_url: str, temporal_address: str, **more: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, temporal_address=temporal_address, **more)
    async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as client:
        yield client


def assert_unavailable(answer: httpx.Response, codes: set[str] = UNAVAILABLE) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["code"] in codes, problem
    assert problem["status"] == 503 and problem["title"] and problem["detail"]


async def test_database_and_temporal_out_of_reach_answer_503_with_a_code() -> None:
    async with service(NO_DATABASE, NO_TEMPORAL) as client:
        officer = bearer("sxd.officer")

        assert_problem(
            await client.get("/api/v1/dossiers/X-1", headers=officer), 503, "database_unavailable"
        )
        for path in READS:
            assert_unavailable(await client.get(path, headers=officer), {"database_unavailable"})
        public = await client.get("/public/v1/dossiers/X-1", params={"phone": "0912345678"})
        assert_unavailable(public, {"database_unavailable"})
        for path, body in ACTIONS:
            assert_unavailable(await client.post(path, json=body, headers=officer))

        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"temporal": False, "database": False}
        assert (await client.get("/healthz")).status_code == 200
        # Who is calling is checked first, and needs neither.
        assert_problem(await client.get("/api/v1/dossiers/X-1"), 401, "unauthenticated")


async def test_temporal_out_of_reach_reads_still_answer_actions_503(database_url: str) -> None:
    await seed(database_url)
    await in_the_read_model(database_url, "X-1")
    async with service(database_url, NO_TEMPORAL) as client:
        officer = bearer("sxd.officer")

        assert_problem(
            await client.get("/api/v1/dossiers/X-2", headers=officer), 404, "dossier_not_found"
        )
        assert (await client.get("/api/v1/dossiers/X-1", headers=officer)).status_code == 200
        assert (await client.get("/api/v1/agencies", headers=officer)).status_code == 200
        for path, body in ACTIONS:
            user = bearer("cat.officer" if path.endswith("/reply") else "sxd.officer")
            answer = await client.post(path, json=body, headers=user)
            assert_unavailable(answer, {"temporal_unavailable"})
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"temporal": False, "database": True}


async def test_database_out_of_reach_with_temporal_up(dev_env: WorkflowEnvironment) -> None:
    temporal = dev_env.client.service_client.config.target_host
    async with service(NO_DATABASE, temporal) as client:
        officer = bearer("sxd.officer")

        assert_unavailable(await client.get("/api/v1/dossiers", headers=officer))
        for path, body in ACTIONS:
            assert_unavailable(await client.post(path, json=body, headers=officer))
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"temporal": True, "database": False}


async def test_readiness_reports_the_calendar_without_deciding_it(tmp_path: Path) -> None:
    # A file that confirms no year: this year and next are holidays.VN's guess, said in details.
    guess = tmp_path / "overrides.toml"
    guess.write_text("", encoding="utf-8")
    async with service(NO_DATABASE, NO_TEMPORAL, calendar_overrides=guess) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503  # for Temporal and the database, not for the calendar
    calendar = ready.json()["details"]["calendar"]
    this_year = local_date(datetime.now(UTC)).year
    assert calendar["confirmed_years"] == [] and calendar["to_confirm"] == []
    assert calendar["unconfirmed_years"] == [this_year, this_year + 1]
    assert f"{this_year}, {this_year + 1}" in calendar["warning"]

    broken = tmp_path / "broken.toml"
    broken.write_text('[[day_off]]\ndate = 2026-01-02\nname = "x"\n', encoding="utf-8")
    async with service(NO_DATABASE, NO_TEMPORAL, calendar_overrides=broken) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    warning = ready.json()["details"]["calendar"]["warning"]
    assert str(broken) in warning and "source must be a non-empty string" in warning
