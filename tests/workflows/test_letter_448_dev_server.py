"""Letter 448's scenario and the update/signal contract of DossierWorkflow, on the real dev server
with a real worker and a real SQLite outbox. Times are real here: deadlines a few seconds ahead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from domain.commands import (
    ConsultationRequest,
    Handover,
    Reply,
    ResultRecord,
    ResumeRequest,
    SosAction,
    SosRequest,
)
from tests.workflows.harness import (
    ENV,
    FIRE,
    LEAD,
    Stack,
    officer,
    refusal_of,
    running_stack,
    stack_settings,
)
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_client: Client, task_queue: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace="PT2S")
    async with running_stack(dev_client, settings) as running:
        yield running


def now() -> datetime:
    return datetime.now(UTC)


async def test_letter_448_scenario_end_to_end(stack: Stack) -> None:
    """Consult two agencies; SOS stop refused naming both (R4); one answers; still refused naming
    the other; the other answers late with a cause (R7); stop accepted; resume; result; handover;
    completed (R5). Every refusal is in the events (R9, R12)."""
    handle = await stack.start(now())
    deadline = now() + timedelta(seconds=3)
    requested = await handle.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(
            actor=officer(),
            agencies=[FIRE, ENV],
            content="Đề nghị cho ý kiến về phòng cháy chữa cháy và môi trường",
            deadline=deadline,
        ),
    )
    assert [c.agency for c in requested.consultations] == [FIRE, ENV]
    assert (await handle.query(DossierWorkflow.document)).status == "consulting"

    stop = SosRequest(actor=officer(), action=SosAction.STOP, reason="Chờ ý kiến")
    refused = await refusal_of(handle.execute_update(DossierWorkflow.sos, stop))
    assert refused["code"] == "sos_rejected_awaiting_replies"
    assert [a["agency"] for a in refused["facts"]["awaiting"]] == [FIRE, ENV]
    assert all(a["overdue"] is False for a in refused["facts"]["awaiting"])

    await handle.execute_update(
        DossierWorkflow.reply, Reply(actor=officer(FIRE), agency=FIRE, opinion="Đồng ý")
    )
    refused = await refusal_of(handle.execute_update(DossierWorkflow.sos, stop))
    assert [a["agency"] for a in refused["facts"]["awaiting"]] == [ENV]

    await asyncio.sleep(max(0.0, (deadline - now()).total_seconds()) + 0.5)
    refused = await refusal_of(handle.execute_update(DossierWorkflow.sos, stop))
    assert refused["facts"]["awaiting"] == [
        {"agency": ENV, "deadline": deadline.isoformat().replace("+00:00", "Z"), "overdue": True}
    ]
    late = Reply(actor=officer(ENV), agency=ENV, opinion="Đồng ý có điều kiện")
    assert (await refusal_of(handle.execute_update(DossierWorkflow.reply, late)))[
        "code"
    ] == "late_reason_required"
    late.late_reason = "Chờ kết quả khảo sát hiện trường"
    await handle.execute_update(DossierWorkflow.reply, late)

    doc = await handle.execute_update(DossierWorkflow.sos, stop)
    assert doc.status == "stopped"
    doc = await handle.execute_update(
        DossierWorkflow.resume, ResumeRequest(actor=officer(), reason="Đã đủ ý kiến")
    )
    assert doc.status == "processing"
    doc = await handle.execute_update(
        DossierWorkflow.record_result,
        ResultRecord(actor=officer(), outcome="approved", document_no="123/GPXD", summary="Cấp"),
    )
    assert doc.status == "result_ready"
    doc = await handle.execute_update(DossierWorkflow.hand_over, Handover(actor=officer()))
    assert doc.status == "completed"
    assert doc.completed_at is not None

    final = await handle.result()
    assert final.status == "completed"
    by_kind = [e.kind for e in final.events]
    assert by_kind.count("refused") == 4
    refusals = [e.detail for e in final.events if e.kind == "refused"]
    assert [r["code"] for r in refusals] == [
        "sos_rejected_awaiting_replies",
        "sos_rejected_awaiting_replies",
        "sos_rejected_awaiting_replies",
        "late_reason_required",
    ]
    assert refusals[0]["action"] == "sos" and refusals[0]["actor_agency"] == LEAD
    env = next(c for c in final.consultations if c.agency == ENV)
    assert env.status == "answered_late"
    assert env.late_reason == "Chờ kết quả khảo sát hiện trường"
