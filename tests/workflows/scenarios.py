"""Representative dossier runs, each driven through real updates and signals: the recorder turns
them into the histories of tests/histories/, and the continue-as-new test replays one under a tiny
history limit. Each returns the dossier's handle once the run reached its end (or its last stop)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing, suppress
from datetime import timedelta

from sqlalchemy.engine import make_url
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.calendar import WorkingCalendar
from domain.commands import Action, Actor, InvalidRequest, Reply, SosAction, SosRequest
from tests.workflows.harness import ENV, FIRE, LEAD, PROCEDURE, Stack, officer
from tests.workflows.steps import (
    Handle,
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
    supplement_request,
    withdraw,
    working_day_in,
)
from workflows.dossier import DossierWorkflow

Scenario = Callable[[Stack, WorkflowEnvironment], Awaitable[Handle]]


async def refused(step: Awaitable[object]) -> None:
    try:
        await step
    except WorkflowUpdateFailedError:
        return
    raise AssertionError("the step was expected to be refused")


async def letter_448(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """The letter's scenario: two consultations, SOS stops refused while awaited, one late answer
    with its cause, then stop, resume, result, handover. Reminders fire on the way (short grace)."""
    h = await stack.start(now())
    await consult(FIRE, ENV, in_seconds=2)(h)
    await refused(sos(SosAction.STOP)(h))
    await reply(FIRE)(h)
    await refused(sos(SosAction.STOP)(h))
    await asyncio.sleep(4)  # past the deadline and the grace: reminders 1 and 2 to ENV
    await refused(reply(ENV)(h))  # late, no cause (R7)
    await reply(ENV, late_reason="Chờ khảo sát hiện trường")(h)
    await sos(SosAction.STOP)(h)
    await resume()(h)
    await result()(h)
    await hand_over()(h)
    await h.result()
    return h


async def withdrawal(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """R6: a withdrawal waits for the head; an officer's confirmation is refused; the head's
    cancels the open consultations."""
    h = await stack.start(now())
    await consult(FIRE, ENV)(h)
    await withdraw()(h)
    await refused(confirm(officer())(h))
    await confirm()(h)
    await h.result()
    return h


async def supplement_apology_signals(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """R10, R11, R13 and the signals: a supplement outside the procedure refused (twice: v6
    counts the second on the first), then once;
    the complete dossier restarts the clock; an apology; a refused SOS by signal is recorded;
    a calendar refresh; an unreadable request the API hands over (v4); a signal that does not
    read, an unknown one, an SOS under an ops identity, an operator's note, a calendar refresh
    by an operator (v6); a stop by signal; resume; return."""
    h = await stack.start(now())
    await refused(sos(SosAction.SUPPLEMENT, missing_documents=["Giấy khai sinh"])(h))
    await refused(sos(SosAction.SUPPLEMENT, missing_documents=["Giấy khai sinh"])(h))  # v6: counted
    await supplement_request()(h)
    await deliver(PROCEDURE.required_documents[0])(h)
    await apology(working_day_in(90))(h)
    await consult(FIRE)(h)
    stop = SosRequest(actor=officer(), action=SosAction.STOP, reason="Chờ")
    await h.signal(DossierWorkflow.sos_signal, stop)
    await h.signal(
        DossierWorkflow.reply_signal, Reply(actor=officer(FIRE), agency=FIRE, opinion="Ổn")
    )
    await h.signal(DossierWorkflow.calendar_changed)
    unreadable = InvalidRequest(
        actor=officer(), action=Action.SOS, code="malformed_json", errors=["json"], body="{"
    )
    await h.signal(DossierWorkflow.invalid_request_signal, unreadable)
    # v6: an input that does not read, an unknown signal, ops staff under their own identity
    await h.signal("sos_signal", {"action": "stop", "reason": "no actor"})
    await h.signal("no_such_signal", {"x": 1})
    await h.signal("sos_signal", {"operator": "ops.lan", "action": "stop", "reason": "x"})
    await h.signal("operator_note", {"operator": "ops.lan", "note": "Kiểm tra sau sự cố"})
    await h.signal("calendar_changed", {"operator": "ops.lan"})
    await h.signal(DossierWorkflow.sos_signal, stop)
    await resume()(h)
    await refused(consult_with(content="", deadline=None)(h))
    await refused(sos(SosAction.STOP, by=Actor(user_id="", agency=LEAD))(h))  # validator
    await sos(SosAction.RETURN)(h)
    await h.result()
    return h


async def read_model_failure(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """v6: a write the database refuses (a trigger stands for the poison) is recorded and the
    dossier answers on; once the trigger is dropped, an operator's retry repairs the read
    model; then the dossier is returned and ends."""
    h = await stack.start(now())
    database = make_url(stack.settings.database).database
    with closing(sqlite3.connect(database)) as db:
        db.execute(
            "CREATE TRIGGER test_poison BEFORE INSERT ON events WHEN NEW.kind = 'refused' "
            "BEGIN SELECT RAISE(ABORT, 'refused rows refused'); END"
        )
        db.commit()
    await refused(sos(SosAction.STOP, reason=" ")(h))
    with closing(sqlite3.connect(database)) as db:
        db.execute("DROP TRIGGER test_poison")
        db.commit()
    await h.signal("retry_read_model", {"operator": "ops.lan"})
    await sos(SosAction.RETURN)(h)
    await h.result()
    return h


async def cancelled(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """R5: an operator cancels the workflow: an abnormal close."""
    h = await stack.start(now())
    await consult(FIRE)(h)
    await h.cancel()
    with suppress(WorkflowFailureError):
        await h.result()
    return h


async def ladder_and_clock(stack: Stack, env: WorkflowEnvironment) -> Handle:
    """On the time-skipping server: reminder 1 and 2 over weeks, a late answer, the apology-due
    notice and lateness (R3, R7, R13), then result and handover."""
    calendar = WorkingCalendar.vietnam()
    received = await env.get_current_time()
    h = await stack.start(received)
    deadline = calendar.due_at(received, 3)
    await consult_with(content="Ý kiến PCCC", deadline=deadline)(h)
    await env.sleep(timedelta(days=40).total_seconds())
    await reply(FIRE, late_reason="Thiếu cán bộ")(h)
    await result()(h)
    await hand_over()(h)
    await h.result()
    return h


DEV_SERVER: dict[str, Scenario] = {
    "letter_448": letter_448,
    "withdrawal": withdrawal,
    "supplement_apology_signals": supplement_apology_signals,
    "cancelled": cancelled,
    "read_model_failure": read_model_failure,
}
TIME_SKIPPING: dict[str, Scenario] = {"ladder_and_clock": ladder_and_clock}
# on a dev server that suggests continue-as-new after a few dozen events
CONTINUED_AS_NEW: dict[str, Scenario] = {"letter_448_continued": letter_448}
