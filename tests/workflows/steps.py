"""Each action on a dossier as one awaitable step through its real update, so that tests and the
history recorder read like the procedure itself: `consult(FIRE)`, `sos(STOP)`, `result()`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain.calendar import ZONE, WorkingCalendar
from domain.commands import (
    Actor,
    ApologyRequest,
    ConsultationRequest,
    Handover,
    Reply,
    ResultRecord,
    ResumeRequest,
    SosAction,
    SosRequest,
    SupplementDelivery,
    WithdrawalConfirmation,
    WithdrawalRequest,
)
from domain.dossier import DossierDocument
from tests.workflows.harness import FIRE, PROCEDURE, head, officer
from workflows.dossier import DossierWorkflow

Handle = WorkflowHandle[DossierWorkflow, DossierDocument]
Step = Callable[[Handle], Awaitable[Any]]


def working_day_in(days: int) -> date:
    """The first working day at least `days` days from today in Vietnam: an apology's new date
    the rules accept (v5), whatever day the tests run on."""
    calendar = WorkingCalendar.vietnam()
    day = (now() + timedelta(days=days)).astimezone(ZONE).date()
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def sunday_in(days: int) -> date:
    """The first Sunday at least `days` days from today in Vietnam."""
    day = (now() + timedelta(days=days)).astimezone(ZONE).date()
    return day + timedelta(days=(6 - day.weekday()) % 7)


def now() -> datetime:
    return datetime.now(UTC)


def consult(*agencies: str, in_seconds: float = 3600, content: str = "Xin ý kiến") -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(
            actor=officer(),
            agencies=list(agencies),
            content=content,
            deadline=now() + timedelta(seconds=in_seconds),
        ),
    )


def consult_with(**fields: Any) -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(**{"actor": officer(), "agencies": [FIRE], **fields}),
    )


def reply(agency: str, by: Actor | None = None, **fields: Any) -> Step:
    body = {"opinion": "Đồng ý", **fields}
    return lambda h: h.execute_update(
        DossierWorkflow.reply, Reply(actor=by or officer(agency), agency=agency, **body)
    )


def sos(action: SosAction, by: Actor | None = None, **fields: Any) -> Step:
    body = {"reason": "Lý do", **fields}
    return lambda h: h.execute_update(
        DossierWorkflow.sos, SosRequest(actor=by or officer(), action=action, **body)
    )


def supplement_request() -> Step:
    return sos(SosAction.SUPPLEMENT, missing_documents=[PROCEDURE.required_documents[0]])


def deliver(*documents: str) -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.supplement, SupplementDelivery(actor=officer(), documents=list(documents))
    )


def resume(reason: str = "Tiếp tục") -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.resume, ResumeRequest(actor=officer(), reason=reason)
    )


def apology(new_due_date: date | None, reason: str = "Chờ khảo sát") -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.apology,
        ApologyRequest(actor=officer(), reason=reason, new_due_date=new_due_date),
    )


def withdraw() -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.request_withdrawal,
        WithdrawalRequest(actor=officer(), reason="Người nộp xin rút", application_ref="ĐR-01"),
    )


def confirm(by: Actor | None = None) -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.confirm_withdrawal,
        WithdrawalConfirmation(actor=by or head(), signature_ref="KY-01"),
    )


def result(document_no: str = "12/GP") -> Step:
    return lambda h: h.execute_update(
        DossierWorkflow.record_result,
        ResultRecord(actor=officer(), outcome="approved", document_no=document_no, summary="Cấp"),
    )


def hand_over() -> Step:
    return lambda h: h.execute_update(DossierWorkflow.hand_over, Handover(actor=officer()))
