"""Helpers for workflow tests: a real worker (the production `running_worker`) on a real Temporal
server and a real SQLite outbox, dossiers started as the API will start them, and the refusal a
failed update carries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from db.engine import create_engine, session_factory
from db.migrate import prepare
from db.models import NoticeRecord
from domain.commands import Actor, Role
from domain.dossier import Applicant, DossierDocument, Procedure
from settings import Settings
from sources.catalogue import load_catalogue
from worker import WORKFLOWS, running_worker
from workflows.dossier import DossierStart, DossierWorkflow
from workflows.starter import start_dossier

CATALOGUE = load_catalogue()
# A building permit: Sở Xây dựng leads and consults the fire police and the environment department.
PROCEDURE = CATALOGUE.procedure("DN-XD-001") or pytest.fail("the seed catalogue lost DN-XD-001")
LEAD = PROCEDURE.lead_agency
FIRE = "CAT"  # Công an tỉnh (fire police)
ENV = "SNNMT"  # Sở Nông nghiệp và Môi trường
HOME_AFFAIRS = CATALOGUE.home_affairs.code


def officer(agency: str = LEAD, user: str = "can-bo-1") -> Actor:
    return Actor(user_id=user, name="Nguyễn Văn An", agency=agency, roles=[Role.OFFICER])


def head(agency: str = LEAD) -> Actor:
    return Actor(user_id="thu-truong", name="Trần Thị Bình", agency=agency, roles=[Role.HEAD])


def new_start(received_at: datetime, procedure: Procedure = PROCEDURE) -> DossierStart:
    return DossierStart(
        code=f"000.00.06.H19-{uuid.uuid4().hex[:10]}",
        procedure=procedure,
        applicant=Applicant(name="Lê Văn Cường", phone="0912345678"),
        home_affairs_agency=HOME_AFFAIRS,
        received_at=received_at,
        received_by=officer(),
    )


async def refusal_of(update: Awaitable[Any]) -> dict[str, Any]:
    """The refusal a failed update carries (its `code`, `http_status`, messages and facts)."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    refusal: dict[str, Any] = cause.details[0]
    assert refusal["code"] == cause.type
    return refusal


@dataclass
class Stack:
    client: Client
    settings: Settings
    started: list[WorkflowHandle[DossierWorkflow, DossierDocument]] = field(default_factory=list)

    async def start(
        self, received_at: datetime, procedure: Procedure = PROCEDURE
    ) -> WorkflowHandle[DossierWorkflow, DossierDocument]:
        started, _ = await start_dossier(
            self.client, new_start(received_at, procedure), task_queue=self.settings.task_queue
        )
        # As the API does: no run id, so the handle follows the dossier across continue-as-new.
        handle = self.client.get_workflow_handle_for(DossierWorkflow.run, started.id)
        self.started.append(handle)
        return handle

    async def end_all(self) -> None:
        """Terminate what a test left running: on the time-skipping server a timer due on a queue
        nobody polls any more would keep time from skipping for the next test."""
        for handle in self.started:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                with suppress(RPCError):  # it may end by itself meanwhile
                    await handle.terminate("test over")

    async def notices(self, dossier: str, kind: str | None = None) -> list[NoticeRecord]:
        engine = create_engine(self.settings.database)
        try:
            async with session_factory(engine)() as session:
                query = select(NoticeRecord).where(NoticeRecord.dossier == dossier)
                if kind:
                    query = query.where(NoticeRecord.kind == kind)
                return list((await session.exec(query.order_by(NoticeRecord.id))).all())
        finally:
            await engine.dispose()


async def stack_settings(tmp_path: Path, task_queue: str, **overrides: Any) -> Settings:
    """Settings of a test stack on its own SQLite file, migrated and seeded with the catalogue."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'motcua.db'}",
        task_queue=task_queue,
        **overrides,
    )
    await prepare(settings.database)
    return settings


@asynccontextmanager
async def running_stack(
    client: Client, settings: Settings, workflows: Sequence[type] = WORKFLOWS
) -> AsyncIterator[Stack]:
    stack = Stack(client, settings)
    async with running_worker(client, settings, workflows):
        try:
            yield stack
        finally:
            await stack.end_all()
