"""The crash harness's checks (`bench.chaos.violations`, issue 8) pass a dossier that the domain
built as the workflow would, and name each breakage the harness hunts for: a reminder missing
or sent to an agency that answered on time (R3), a notice lost or doubled, a seq gap, a read
model that differs from the workflow, a stuck workflow, a 200 for a reply that did not happen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bench.chaos import ClientRecord, Observation, violations
from db.models import NoticeRecord
from domain.dossier import Reminder
from tests.unit.builders import (
    CODE,
    DEADLINE,
    DISTRICT,
    ENV,
    FIRE,
    LATER,
    OVERDUE,
    SECOND_REMINDER,
    consult,
    dossier,
    remind,
    reply,
)

GRACE = SECOND_REMINDER - DEADLINE  # the builders' 2 working days, as on their calendar
ANSWERED = ClientRecord(answered={(CODE, ENV), (CODE, DISTRICT)})  # replies the API took


def observed() -> Observation:
    """FIRE never answers (both reminders), ENV answers late after reminder 1, DISTRICT on time."""
    d = dossier()
    sent = consult(d, [FIRE, ENV, DISTRICT])
    sent += reply(d, DISTRICT, at=LATER)
    sent += remind(d, 1) + remind(d, 2)
    sent += reply(d, ENV, at=OVERDUE, late_reason="Chờ kiểm tra hiện trường")
    sent += remind(d, 1)
    document = d.document(SECOND_REMINDER + timedelta(hours=1))
    return Observation(
        code=CODE,
        workflow=document,
        read_model=document.model_copy(deep=True),
        notices=[NoticeRecord(**n.model_dump()) for n in sent],
        unanswered_update=None,
        task_failures=[],
        pending_task_attempt=0,
    )


def test_chaos_invariants_hold_for_a_dossier_as_the_domain_builds_it() -> None:
    seen = observed()
    assert [c.status for c in seen.workflow.consultations] == [
        "overdue",
        "answered_late",
        "answered",
    ]
    assert list(violations(seen, GRACE, ANSWERED)) == []


def drop_reminder_2(seen: Observation) -> None:
    for doc in (seen.workflow, seen.read_model):
        doc.consultations[0].reminders.pop()


def remind_on_time_answer(seen: Observation) -> None:
    for doc in (seen.workflow, seen.read_model):
        doc.consultations[2].reminders.append(Reminder(level=1, sent_at=DEADLINE))


def reminder_2_without_home_affairs(seen: Observation) -> None:
    seen.workflow.consultations[0].reminders[1].cc = []


def lose_notice(seen: Observation) -> None:
    seen.notices = [n for n in seen.notices if n.kind != "reminder_2"]


def double_notice(seen: Observation) -> None:
    seen.notices.append(seen.notices[-1])


def skip_a_seq(seen: Observation) -> None:
    del seen.read_model.events[2]


def read_model_behind(seen: Observation) -> None:
    seen.read_model.consultations[0].reminders = []


def no_answer_to_update(seen: Observation) -> None:
    seen.unanswered_update = "WorkflowUpdateRPCTimeoutOrCancelledError: timed out"


def failing_task(seen: Observation) -> None:
    seen.task_failures = ["WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR"]


@pytest.mark.parametrize(
    ("breakage", "invariant", "words"),
    [
        (drop_reminder_2, "reminders", "reminders [1]"),
        (remind_on_time_answer, "reminders", "answered): reminders [1]"),
        (reminder_2_without_home_affairs, "reminders", "reminder 2 copied to []"),
        (lose_notice, "notices", f"lost: {CODE}/reminder_2/{FIRE}/1"),
        (double_notice, "notices", "doubled"),
        (skip_a_seq, "seq", "read model: seqs"),
        (read_model_behind, "read_model", "consultations"),
        (no_answer_to_update, "stuck", "no answer to an update"),
        (failing_task, "stuck", "NON_DETERMINISTIC_ERROR"),
    ],
)
def test_chaos_invariants_name_each_breakage(
    breakage: Callable[[Observation], None], invariant: str, words: str
) -> None:
    seen = observed()
    breakage(seen)
    found = [v for v in violations(seen, GRACE, ANSWERED) if v.invariant == invariant]
    assert any(words in v.detail for v in found), found


def test_chaos_invariants_name_a_reply_confirmed_by_the_api_but_missing_unless_unanswered() -> None:
    client = ClientRecord(answered=ANSWERED.answered | {(CODE, FIRE)})
    found = list(violations(observed(), GRACE, client))
    assert [(v.invariant, v.detail) for v in found] == [
        ("client", f"consultation 1 ({FIRE}, overdue): the API answered 200 to a reply the "
         "workflow lacks")
    ]  # fmt: skip
    client.unknown.add((CODE, FIRE))  # no answer came: taken or not, either is right
    assert list(violations(observed(), GRACE, client)) == []
