"""Issue 8: the settlement tells a write the database refuses for its data (no retry cures it:
`read_model_rejected`, non-retryable) from a database that is away (retried), with real
databases' real errors (SQLite refuses no value the workflow can hold; its constraints are
refused the same way, tests/workflows/scenarios.py `read_model_failure`)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.settlement import SettlementActivities
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from domain.dossier import Applicant
from domain.limits import AS_RECORDED
from domain.projection import READ_MODEL_REJECTED, Settlement
from tests.db.test_read_model import view
from tests.unit.builders import dossier

Sessions = async_sessionmaker[AsyncSession]


async def settle(sessions: Sessions, name: str) -> None:
    # as recorded: a value that got past no limit (a run started past the API, say)
    applicant = Applicant.model_validate({"name": name, "phone": "0912345678"}, context=AS_RECORDED)
    d = dossier(applicant=applicant)
    settlement = Settlement(projection=view(d))
    await ActivityEnvironment().run(SettlementActivities(sessions).settle_dossier, settlement)


@pytest.mark.postgres
async def test_a_nul_on_postgresql_is_refused_not_retried(empty_postgres_url: str) -> None:
    engine = create_engine(empty_postgres_url)
    upgrade(empty_postgres_url)
    try:
        with pytest.raises(ApplicationError) as refused:
            await settle(session_factory(engine), "Lê\x00Văn")
        assert refused.value.type == READ_MODEL_REJECTED and refused.value.non_retryable
        assert "Lê" not in refused.value.message  # the database's answer, not the values
    finally:
        await engine.dispose()


async def test_a_database_that_is_away_is_retried() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(OSError):  # not an ApplicationError: Temporal retries it
            await settle(session_factory(engine), "Lê Văn A")
    finally:
        await engine.dispose()
