"""Every rule's refusal through a real update on the dev server: the validator asks the domain,
the handler records the refusal in the dossier's events (R9, R12), and the caller gets the code
of API.md synchronously. Signals record their refusals too; what validators turn away leaves no
trace because it cannot be held to account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError

from domain.commands import (
    Actor,
    ConsultationRequest,
    Reply,
    SosAction,
    SosRequest,
)
from tests.workflows.harness import (
    ENV,
    FIRE,
    LEAD,
    PROCEDURE,
    Stack,
    head,
    officer,
    refusal_of,
    running_stack,
    stack_settings,
)
from tests.workflows.steps import (
    Step,
    apology,
    confirm,
    consult,
    consult_with,
    deliver,
    hand_over,
    now,
    reply,
    result,
    resume,
    sos,
    sunday_in,
    supplement_request,
    withdraw,
    working_day_in,
)
from workflows import search_attributes as sa
from workflows.dossier import DossierWorkflow
from workflows.starter import WORKFLOW_ID_PREFIX

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_client: Client, task_queue: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace="PT30S")
    async with running_stack(dev_client, settings) as running:
        yield running


@dataclass
class Case:
    rule: str
    code: str
    attempt: Step
    setup: list[Step] = field(default_factory=list)
    received_days_ago: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "r1-content": Case("R1", "content_required", consult_with(content=" ", deadline=None)),
    "r1-deadline": Case("R1", "deadline_required", consult_with(content="Xin ý kiến")),
    "r1-past": Case("R1", "deadline_in_past", consult(FIRE, in_seconds=-60)),
    "r2-maximum": Case("R2", "deadline_beyond_maximum", consult(FIRE, in_seconds=86400 * 30)),
    "r2-unknown": Case("R2", "unknown_agency", consult("KHONG-CO")),
    "r2-self": Case("R2", "unknown_agency", consult(LEAD)),
    # a district committee abolished on 1 July 2025: the worker's catalogue says so (issue 10)
    "r2-abolished": Case("R2", "agency_inactive", consult("UBND-LONGTHANH")),
    "r2-already": Case("R2", "already_consulting", consult(FIRE, ENV), [consult(FIRE)]),
    "r2-not-lead": Case(
        "R2",
        "not_lead_agency",
        lambda h: h.execute_update(
            DossierWorkflow.request_consultation,
            ConsultationRequest(actor=officer(ENV), agencies=[FIRE], content="x", deadline=now()),
        ),
    ),
    "r2-not-yours": Case(
        "R2", "not_your_consultation", reply(FIRE, by=officer(ENV)), [consult(FIRE)]
    ),
    "r2-not-found": Case("R2", "consultation_not_found", reply(ENV), [consult(FIRE)]),
    "r2-answered": Case("R2", "already_answered", reply(FIRE), [consult(FIRE), reply(FIRE)]),
    "r2-opinion": Case("R2", "opinion_required", reply(FIRE, opinion=""), [consult(FIRE)]),
    "r4-stop": Case("R4", "sos_rejected_awaiting_replies", sos(SosAction.STOP), [consult(FIRE)]),
    "r4-supplement": Case(
        "R4", "sos_rejected_awaiting_replies", supplement_request(), [consult(FIRE, ENV)]
    ),
    "r4-return": Case("R4", "sos_rejected_awaiting_replies", sos(SosAction.RETURN), [consult(ENV)]),
    "sos-reason": Case("R4", "reason_required", sos(SosAction.STOP, reason=" ")),
    "sos-stopped": Case(
        "R4",
        "not_allowed_in_status",
        sos(SosAction.STOP),
        [sos(SosAction.STOP)],
        facts={"status": "stopped"},
    ),
    "r10-missing": Case("R10", "missing_documents_required", sos(SosAction.SUPPLEMENT)),
    "r10-outside": Case(
        "R10",
        "document_not_in_procedure",
        sos(SosAction.SUPPLEMENT, missing_documents=["Giấy khai sinh"]),
        facts={"documents": ["Giấy khai sinh"]},
    ),
    "r10-twice": Case(
        "R10",
        "supplement_already_requested",
        supplement_request(),
        [supplement_request(), deliver(PROCEDURE.required_documents[0])],
    ),
    "supplement-not-awaiting": Case("R11", "not_awaiting_supplement", deliver("Bản vẽ")),
    "supplement-documents": Case("R11", "documents_required", deliver(), [supplement_request()]),
    "supplement-blocks-consult": Case(
        "R11",
        "not_allowed_in_status",
        consult(FIRE),
        [supplement_request()],
        facts={"status": "awaiting_supplement"},
    ),
    "resume-not-stopped": Case("R11", "not_stopped", resume()),
    "resume-reason": Case("R11", "reason_required", resume(" "), [sos(SosAction.STOP)]),
    "r13-twice": Case(
        "R13",
        "apology_already_given",
        apology(working_day_in(90)),
        [apology(working_day_in(60))],
    ),
    "r13-not-working-day": Case(
        "R13",
        "new_due_date_not_working_day",
        apology(sunday_in(60)),
        facts={"new_due_date": sunday_in(60).isoformat()},
    ),
    "r13-too-late": Case(
        "R13",
        "too_late_for_apology",
        apology(date.today() + timedelta(days=9)),
        received_days_ago=60,
    ),
    "r13-not-later": Case("R13", "new_due_date_not_later", apology(date.today())),
    "r6-pending": Case("R6", "withdrawal_pending", withdraw(), [withdraw()]),
    "r6-officer": Case("R6", "head_of_lead_agency_required", confirm(officer()), [withdraw()]),
    "r6-other-head": Case("R6", "head_of_lead_agency_required", confirm(head(FIRE)), [withdraw()]),
    "r6-nothing": Case("R6", "no_pending_withdrawal", confirm()),
    "r5-result": Case("R5", "consultations_awaiting", result(), [consult(FIRE)]),
    "r5-handover": Case("R5", "no_result", hand_over()),
    "r5-document-no": Case("R5", "document_no_required", result(" ")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_refusal_comes_back_with_its_code_and_is_recorded(stack: Stack, case: Case) -> None:
    handle = await stack.start(now() - timedelta(days=case.received_days_ago))
    for step in case.setup:
        await step(handle)
    refusal = await refusal_of(case.attempt(handle))
    assert refusal["code"] == case.code, refusal
    for name, value in case.facts.items():
        assert refusal["facts"][name] == value
    assert refusal["message_vi"] and refusal["message_en"]
    doc = await handle.query(DossierWorkflow.document)
    last = [e for e in doc.events if e.kind == "refused"][-1]  # timers may have added more since
    assert last.detail["code"] == case.code and last.detail["via"] == "update"
    assert last.detail["action"] and last.actor


async def test_r2_refusal_of_deadline_beyond_maximum_states_the_maximum(stack: Stack) -> None:
    handle = await stack.start(now())
    refusal = await refusal_of(consult(FIRE, in_seconds=86400 * 30)(handle))
    maximum = datetime.fromisoformat(refusal["facts"]["maximum"])
    assert now() + timedelta(days=PROCEDURE.max_consultation_days) <= maximum
    assert maximum < now() + timedelta(days=30)
    assert refusal["facts"]["max_days"] == PROCEDURE.max_consultation_days
    await consult_with(content="Xin ý kiến", deadline=maximum)(handle)  # the maximum itself is fine


async def test_validator_turns_away_an_action_with_no_actor_and_records_nothing(
    stack: Stack,
) -> None:
    handle = await stack.start(now())
    before = len((await handle.query(DossierWorkflow.document)).events)
    nobody = Actor(user_id=" ", agency=LEAD)
    refusal = await refusal_of(sos(SosAction.STOP, by=nobody)(handle))
    assert refusal["code"] == "unidentified_actor"
    assert len((await handle.query(DossierWorkflow.document)).events) == before


async def test_r4_sos_signal_refused_while_awaiting_is_recorded(stack: Stack) -> None:
    handle = await stack.start(now())
    await consult(FIRE)(handle)
    await handle.signal(
        DossierWorkflow.sos_signal,
        SosRequest(actor=officer(), action=SosAction.STOP, reason="Chờ ý kiến"),
    )
    doc = await handle.query(DossierWorkflow.document)
    assert doc.status == "consulting"
    refused = doc.events[-1]
    assert refused.kind == "refused" and refused.detail["via"] == "signal"
    assert refused.detail["code"] == "sos_rejected_awaiting_replies"
    assert [a["agency"] for a in refused.detail["awaiting"]] == [FIRE]

    await handle.signal(
        DossierWorkflow.reply_signal, Reply(actor=officer(FIRE), agency=FIRE, opinion="Ổn")
    )
    await handle.signal(
        DossierWorkflow.sos_signal,
        SosRequest(actor=officer(), action=SosAction.STOP, reason="Chờ người nộp"),
    )
    doc = await handle.query(DossierWorkflow.document)
    assert doc.status == "stopped"
    assert [e.kind for e in doc.events[-2:]] == ["consultation_answered", "sos_stop"]

    nobody = Actor(user_id="", agency=LEAD)
    await handle.signal(
        DossierWorkflow.sos_signal, SosRequest(actor=nobody, action=SosAction.RETURN, reason="x")
    )
    refused = (await handle.query(DossierWorkflow.document)).events[-1]
    assert (refused.kind, refused.detail["code"]) == ("refused", "unidentified_actor")


async def test_r6_confirmed_withdrawal_cancels_open_consultations_with_notices(
    stack: Stack,
) -> None:
    handle = await stack.start(now())
    await consult(FIRE, ENV)(handle)
    pending = await withdraw()(handle)
    assert pending.withdrawal == "pending_confirmation"
    assert (await handle.query(DossierWorkflow.document)).status == "consulting"
    doc = await confirm()(handle)
    assert doc.status == "withdrawn"
    assert {c.status for c in doc.consultations} == {"cancelled"}
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    cancelled = await stack.notices(code, "consultation_cancelled")
    assert sorted(n.to for n in cancelled) == sorted([FIRE, ENV])
    assert [n.to for n in await stack.notices(code, "withdrawal_notice")] == ["applicant"]
    assert (await handle.result()).status == "withdrawn"


async def test_r11_stop_and_resume_keep_the_due_date_and_supplement_restarts_it(
    stack: Stack,
) -> None:
    handle = await stack.start(now())
    due = (await handle.query(DossierWorkflow.document)).due_at
    await sos(SosAction.STOP)(handle)
    doc = await resume()(handle)
    assert doc.due_at == due  # stopped and resumed within the same day: no working day spent
    await supplement_request()(handle)
    assert (await handle.query(DossierWorkflow.document)).due_at is None
    doc = await deliver(PROCEDURE.required_documents[0])(handle)
    assert doc.status == "processing" and doc.due_at is not None and doc.due_at >= due  # type: ignore[operator]
    assert "due_changed" in [e.kind for e in doc.events]


async def test_ops_staff_see_status_awaiting_agencies_and_details_in_the_ui(stack: Stack) -> None:
    handle = await stack.start(now())
    await consult(FIRE, ENV)(handle)
    described = await handle.describe()
    attributes = described.typed_search_attributes
    assert attributes.get(sa.DOSSIER_STATUS) == "consulting"
    assert sorted(attributes.get(sa.AWAITING_AGENCIES) or []) == sorted([FIRE, ENV])
    assert attributes.get(sa.LEAD_AGENCY) == LEAD
    assert attributes.get(sa.PROCEDURE) == PROCEDURE.code
    assert attributes.get(sa.LATE) is False
    assert attributes.get(sa.DUE_AT) is not None
    assert handle.id.removeprefix(WORKFLOW_ID_PREFIX) in (await described.static_summary() or "")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "consulting" in metadata.current_details
    assert FIRE in metadata.current_details and ENV in metadata.current_details
    handlers = [
        *metadata.definition.update_definitions,
        *metadata.definition.signal_definitions,
        *metadata.definition.query_definitions,
    ]
    assert {h.name for h in handlers} >= {"sos", "sos_signal", "reply", "reply_signal", "document"}
    assert all(h.description for h in handlers if not h.name.startswith("__")), handlers
    personal = {"Lê Văn Cường", "0912345678"}
    assert not personal & {str(v) for pair in attributes for v in [pair.value]}

    await reply(FIRE)(handle)
    await reply(ENV)(handle)
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(sa.DOSSIER_STATUS) == "processing"
    assert not attributes.get(sa.AWAITING_AGENCIES)


async def test_r5_cancelled_workflow_is_an_abnormal_close(stack: Stack) -> None:
    handle = await stack.start(now())
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as ended:
        await handle.result()
    assert isinstance(ended.value.cause, CancelledError)
    doc = await handle.query(DossierWorkflow.document)
    assert doc.events[-1].kind == "abnormal_close"
    assert doc.events[-1].detail == {"how": "cancelled", "status": "processing"}
