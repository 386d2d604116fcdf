"""The reminder ladder (R3) and the dossier's own clock (R13) on the time-skipping test server:
weeks pass in milliseconds, so the timers are checked at their real instants on the real
calendar, weekends and public holidays included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.calendar import ZONE, Grace, WorkingCalendar
from domain.commands import ConsultationRequest, Reply
from domain.dossier import Procedure
from tests.workflows.harness import (
    CATALOGUE,
    FIRE,
    HOME_AFFAIRS,
    Stack,
    officer,
    running_stack,
    stack_settings,
)
from workflows import search_attributes as sa
from workflows.dossier import DossierWorkflow
from workflows.starter import WORKFLOW_ID_PREFIX

pytestmark = pytest.mark.asyncio(loop_scope="session")

CALENDAR = WorkingCalendar.vietnam()
T = TypeVar("T")


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    skipping_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    settings = await stack_settings(tmp_path, task_queue, reminder_grace="2d")
    async with running_stack(skipping_env.client, settings) as running:
        yield running


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """The worker needs a moment of real time to run what a skip made due."""
    for _ in range(100):
        value = await probe()
        if ok(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached: last {value!r}")


def first_window_over_weekend_and_holiday(after: datetime, working_days: int) -> datetime:
    """The first working-day morning after `after` whose `working_days`-day deadline spans both a
    weekend and a public holiday, so the test always crosses both whatever today is."""
    day = after.astimezone(ZONE).date() + timedelta(days=2)
    while True:
        if CALENDAR.is_working_day(day):
            start = datetime.combine(day, time(9, 0), ZONE)
            deadline = CALENDAR.due_at(start, working_days)
            span = [day + timedelta(days=i) for i in range(1, (deadline.date() - day).days + 1)]
            weekend = any(d.weekday() >= 5 and not CALENDAR.is_working_day(d) for d in span)
            holiday = any(d.weekday() < 5 and not CALENDAR.is_working_day(d) for d in span)
            if weekend and holiday:
                return start
        day += timedelta(days=1)


def fired_at(actual: datetime, instant: datetime) -> bool:
    """A timer fires at its instant, never before, late only by the moments the server takes to
    record the workflow task that set it (milliseconds)."""
    return instant <= actual < instant + timedelta(seconds=1)


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    gap = (instant - await env.get_current_time()).total_seconds()
    assert gap > 0, f"{instant} is already past"
    await env.sleep(gap)


async def test_r3_reminders_at_the_deadline_and_after_the_grace_over_a_holiday(
    skipping_env: WorkflowEnvironment, stack: Stack
) -> None:
    env = skipping_env
    received = first_window_over_weekend_and_holiday(await env.get_current_time(), 5)
    await skip_to(env, received)
    handle = await stack.start(received)
    deadline = CALENDAR.due_at(received, 5)
    second = CALENDAR.after_grace(deadline, Grace(working_days=2))
    assert deadline.astimezone(ZONE).time() == time(17, 0)
    await handle.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(
            actor=officer(), agencies=[FIRE], content="Ý kiến về PCCC", deadline=deadline
        ),
    )
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)

    await skip_to(env, deadline - timedelta(seconds=1))
    assert await stack.notices(code, "reminder_1") == []

    await skip_to(env, deadline + timedelta(seconds=1))
    [first] = await eventually(lambda: stack.notices(code, "reminder_1"), lambda n: len(n) == 1)
    assert fired_at(first.sent_at, deadline)
    assert first.to == FIRE and first.cc == []
    assert code in first.subject

    await skip_to(env, second - timedelta(seconds=1))
    assert await stack.notices(code, "reminder_2") == []
    await skip_to(env, second + timedelta(seconds=1))
    [copy] = await eventually(lambda: stack.notices(code, "reminder_2"), lambda n: len(n) == 1)
    assert fired_at(copy.sent_at, second)
    assert copy.to == FIRE and copy.cc == [HOME_AFFAIRS]

    await handle.execute_update(
        DossierWorkflow.reply,
        Reply(actor=officer(FIRE), agency=FIRE, opinion="Đồng ý", late_reason="Thiếu nhân sự"),
    )
    await env.sleep(timedelta(days=60).total_seconds())
    doc = await handle.query(DossierWorkflow.document)
    [consultation] = doc.consultations
    assert consultation.status == "answered_late"
    assert [(r.level, r.sent_at, r.cc) for r in consultation.reminders] == [
        (1, first.sent_at, []),
        (2, copy.sent_at, [HOME_AFFAIRS]),
    ]
    # to the consulted agency: nothing after the answer (the dossier's own clock goes on)
    assert [n.kind for n in await stack.notices(code) if n.to == FIRE] == [
        "consultation_request",
        "reminder_1",
        "reminder_2",
    ]


async def test_r3_no_reminder_after_an_answer_on_time(
    skipping_env: WorkflowEnvironment, stack: Stack
) -> None:
    env = skipping_env
    received = first_window_over_weekend_and_holiday(await env.get_current_time(), 5)
    await skip_to(env, received)
    handle = await stack.start(received)
    deadline = CALENDAR.due_at(received, 5)
    await handle.execute_update(
        DossierWorkflow.request_consultation,
        ConsultationRequest(
            actor=officer(), agencies=[FIRE], content="Ý kiến về PCCC", deadline=deadline
        ),
    )
    await handle.execute_update(
        DossierWorkflow.reply, Reply(actor=officer(FIRE), agency=FIRE, opinion="Đồng ý")
    )
    await env.sleep(timedelta(days=30).total_seconds())
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    assert [n.kind for n in await stack.notices(code) if n.to == FIRE] == ["consultation_request"]
    [consultation] = (await handle.query(DossierWorkflow.document)).consultations
    assert consultation.status == "answered" and consultation.reminders == []


async def test_r13_apology_due_a_working_day_before_then_late_at_the_due_date(
    skipping_env: WorkflowEnvironment, stack: Stack
) -> None:
    env = skipping_env
    procedure: Procedure = CATALOGUE.procedure("DN-LLTP-001")  # type: ignore[assignment]
    received = first_window_over_weekend_and_holiday(
        await env.get_current_time(), procedure.processing_days
    )
    await skip_to(env, received)
    handle = await stack.start(received, procedure)
    due = CALENDAR.due_at(received, procedure.processing_days)
    day_before: date = CALENDAR.add_working_days(due.astimezone(ZONE).date(), -1)
    notice_at = datetime.combine(day_before, time(7, 0), ZONE)
    doc = await handle.query(DossierWorkflow.document)
    assert doc.due_at == due and not doc.late
    code = handle.id.removeprefix(WORKFLOW_ID_PREFIX)

    await skip_to(env, notice_at - timedelta(seconds=1))
    assert await stack.notices(code, "apology_due") == []
    await skip_to(env, notice_at + timedelta(seconds=1))
    [notice] = await eventually(lambda: stack.notices(code, "apology_due"), lambda n: len(n) == 1)
    assert fired_at(notice.sent_at, notice_at) and notice.to == procedure.lead_agency

    await skip_to(env, due + timedelta(seconds=1))
    doc = await eventually(lambda: handle.query(DossierWorkflow.document), lambda d: d.late)
    [late] = [e.at for e in doc.events if e.kind == "late"]
    assert fired_at(late, due)
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.LATE) is True
    assert described.typed_search_attributes.get(sa.DUE_AT) == due
