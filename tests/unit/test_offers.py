"""rules.actions_open_to: what the dossier page offers each caller, asked of the decisions
themselves (who may act, what the dossier's state allows), with R4 and R5 offered and warned of;
and state_of_document, the state the pages ask it about, read back from the dossier's document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from domain import rules
from domain.clock import apology_deadline
from domain.commands import Action, Actor, Role, SosAction
from domain.dossier import Dossier, state_of_document
from domain.refusals import Code
from tests.unit.builders import (
    APOLOGY_DEADLINE,
    CALENDAR,
    DUE,
    FIRE,
    HOME_AFFAIRS,
    LATER,
    PPC_OFFICE,
    PROCEDURE,
    actor,
    apologise,
    awaiting_supplement,
    completed,
    consulting,
    head,
    officer,
    processing,
    request_withdrawal,
    result_ready,
    stopped,
    vn,
    withdrawn,
)

STOP, SUPPLEMENT, RETURN = (
    (Action.SOS, SosAction.STOP),
    (Action.SOS, SosAction.SUPPLEMENT),
    (Action.SOS, SosAction.RETURN),
)
LEAD_WHILE_PROCESSING = {
    (Action.CONSULT, None),
    STOP,
    SUPPLEMENT,
    RETURN,
    (Action.APOLOGY, None),
    (Action.WITHDRAWAL, None),
    (Action.RESULT, None),
}


def offered(who: Actor, d: Dossier, now: datetime = LATER) -> set[tuple[Action, SosAction | None]]:
    return {(o.action, o.sos) for o in rules.actions_open_to(who, d, now)}


def pending_withdrawal() -> Dossier:
    d = processing()
    request_withdrawal(d)
    return d


CASES: list[tuple[str, Callable[[], Dossier], Actor, set[tuple[Action, SosAction | None]]]] = [
    ("lead officer, processing", processing, officer(), LEAD_WHILE_PROCESSING),
    # R4, R5: offered while consulting (and warned of: test below); a second agency consulted
    ("lead officer, consulting", consulting, officer(), LEAD_WHILE_PROCESSING),
    ("lead head, processing: confirms nothing pending", processing, head(), LEAD_WHILE_PROCESSING),
    ("consulted officer answers", consulting, officer(FIRE), {(Action.REPLY, None)}),
    ("consulted officer, nothing asked of him", processing, officer(FIRE), set()),
    ("home affairs reads only", consulting, actor(HOME_AFFAIRS, Role.HOME_AFFAIRS), set()),
    ("inspector reads only", consulting, actor(PPC_OFFICE, Role.INSPECTOR), set()),
    (
        "stopped: resume, withdraw, return",
        stopped,
        officer(),
        {(Action.RESUME, None), (Action.WITHDRAWAL, None), RETURN},
    ),
    (
        "awaiting supplement: deliver, withdraw, return",
        awaiting_supplement,
        officer(),
        {(Action.SUPPLEMENT, None), (Action.WITHDRAWAL, None), RETURN},
    ),
    (
        "result ready: hand over, apologise, withdraw",
        result_ready,
        officer(),
        {(Action.HANDOVER, None), (Action.APOLOGY, None), (Action.WITHDRAWAL, None)},
    ),
    (
        "R6: a pending withdrawal is the head's to confirm",
        pending_withdrawal,
        head(),
        LEAD_WHILE_PROCESSING - {(Action.WITHDRAWAL, None)} | {(Action.CONFIRM_WITHDRAWAL, None)},
    ),
    (
        "R6: never the officer's",
        pending_withdrawal,
        officer(),
        LEAD_WHILE_PROCESSING - {(Action.WITHDRAWAL, None)},
    ),
    ("closed: completed", completed, officer(), set()),
    ("closed: withdrawn", withdrawn, head(), set()),
]


@pytest.mark.parametrize(
    ("build", "who", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_offers_by_role_and_status(
    build: Callable[[], Dossier], who: Actor, expected: set[tuple[Action, SosAction | None]]
) -> None:
    assert offered(who, build()) == expected


def test_r4_r5_offered_with_the_awaited_agencies_as_warning() -> None:
    offers = {(o.action, o.sos): o for o in rules.actions_open_to(officer(), consulting(), LATER)}
    for key in (STOP, SUPPLEMENT, RETURN):
        warning = offers[key].warning
        assert warning is not None and warning.code is Code.SOS_REJECTED_AWAITING_REPLIES
        assert [a["agency"] for a in warning.facts["awaiting"]] == [FIRE]
    result = offers[(Action.RESULT, None)].warning
    assert result is not None and result.code is Code.CONSULTATIONS_AWAITING
    assert offers[(Action.CONSULT, None)].warning is None


def test_r13_apology_no_longer_offered_within_a_working_day_of_the_due_date() -> None:
    d = processing()
    assert (Action.APOLOGY, None) in offered(officer(), d, APOLOGY_DEADLINE)
    assert (Action.APOLOGY, None) not in offered(officer(), d, vn(2025, 3, 21, 18))
    apologise(d)
    assert (Action.APOLOGY, None) not in offered(officer(), d)


def test_r10_supplement_offered_once() -> None:
    d = awaiting_supplement()
    assert SUPPLEMENT not in offered(officer(), d)


@pytest.mark.parametrize(
    "build",
    [
        processing,
        consulting,
        stopped,
        awaiting_supplement,
        result_ready,
        pending_withdrawal,
        completed,
    ],
)
def test_the_document_read_back_offers_what_the_state_offers(build: Callable[[], Dossier]) -> None:
    d = build()
    reading = d.reading
    assert reading is not None
    if reading.due_at is not None:
        assert reading.apology_deadline == apology_deadline(reading.due_at, CALENDAR)
    back = state_of_document(d.document(LATER), PROCEDURE, reading)
    for who in (officer(), head(), officer(FIRE)):
        assert rules.actions_open_to(who, back, LATER) == rules.actions_open_to(who, d, LATER)
    assert back.due_at == d.due_at == (DUE if build is processing else d.due_at)
