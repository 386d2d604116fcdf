"""A dossier to look at, while `make run` is up: `make demo` (or `python -m dev.demo`).

Starts a building-permit dossier, asks the fire police and the environment department for their
opinions with a deadline a minute ahead, and presses SOS "stop", which letter 448 forbids while
opinions are awaited (R4): the refusal is recorded. Open the printed Web UI link to see the
status, the awaited agencies and the next deadline; the reminders follow by themselves (set
MOTCUA_REMINDER_GRACE=PT30S before `make run` to see reminder 2 within a minute as well).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowUpdateFailedError

from activities.catalogue_source import load_catalogue
from domain.commands import Actor, ConsultationRequest, Role, SosAction, SosRequest
from domain.dossier import Applicant
from settings import Settings
from worker import connect
from workflows.dossier import DossierStart, DossierWorkflow
from workflows.starter import start_dossier


async def main() -> None:
    settings = Settings()
    catalogue = load_catalogue()
    procedure = catalogue.procedure("DN-XD-001")
    assert procedure is not None
    officer = Actor(
        user_id="demo-officer",
        name="Cán bộ SXD",
        agency=procedure.lead_agency,
        roles=[Role.OFFICER],
    )
    lead = catalogue.agency(procedure.lead_agency)
    code = f"{lead.unit_id if lead else 'DEMO'}-{datetime.now(UTC):%y%m%d}-{uuid.uuid4().hex[:4]}"
    client = await connect(settings)
    handle, received = await start_dossier(
        client,
        DossierStart(
            code=code,
            procedure=procedure,
            applicant=Applicant(name="Nguyễn Văn Demo", phone="0900000000"),
            home_affairs_agency=catalogue.home_affairs.code,
            received_at=datetime.now(UTC),
            received_by=officer,
        ),
        task_queue=settings.task_queue,
    )
    print(f"dossier {code} received, due {received.due_at:%Y-%m-%d %H:%M} UTC")
    _ = await handle.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(
            actor=officer,
            agencies=["CAT", "SNNMT"],
            content="Đề nghị cho ý kiến về phòng cháy chữa cháy và môi trường",
            deadline=datetime.now(UTC) + timedelta(minutes=1),
        ),
    )
    print("asked CAT and SNNMT for their opinions, deadline in one minute")
    try:
        _ = await handle.execute_update(
            DossierWorkflow.sos,
            SosRequest(actor=officer, action=SosAction.STOP, reason="Chờ ý kiến các sở"),
        )
    except WorkflowUpdateFailedError as refused:
        print(f"SOS stop refused as letter 448 requires: {refused.cause}")
    ui = f"http://localhost:{settings.temporal_ui_port}"
    print(f"see it: {ui}/namespaces/{settings.temporal_namespace}/workflows/{handle.id}")


if __name__ == "__main__":
    asyncio.run(main())
