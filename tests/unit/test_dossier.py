"""domain.dossier: what accepted actions do to a dossier — its status, its timeline (R12), the
notices it sends (R3, R6, R13), its reminders and clock alarms, its document (API.md) — and that
it survives the JSON round trip the workflow puts it through at continue-as-new."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from domain import notices, rules
from domain.clock import read_clock
from domain.commands import SYSTEM, Action, Command, Role, SosAction
from domain.dossier import (
    ClockAlarm,
    ConsultationStatus,
    Dossier,
    DossierStatus,
    DueReminder,
    Phase,
)
from domain.national_status import LABELS
from domain.notices import APPLICANT, Notice, NoticeKind
from tests.unit.builders import (
    APOLOGY_NOTICE,
    CALENDAR,
    CODE,
    CONTENT,
    DEADLINE,
    DEADLINE_2,
    DOCUMENTS,
    DUE,
    ENV,
    FIRE,
    HOME_AFFAIRS,
    IN_STATUS,
    LATER,
    LEAD,
    NEW_DUE_DATE,
    NOW,
    OPINION,
    OVERDUE,
    PROCEDURE,
    SECOND_REMINDER,
    SOON,
    actor,
    apologise,
    apply,
    awaiting_supplement,
    confirm_withdrawal,
    consult,
    consultation_request,
    consulting,
    decide,
    dossier,
    hand_over,
    handover_command,
    officer,
    read,
    receive_supplement,
    record_result,
    remind,
    reply,
    reply_command,
    request_withdrawal,
    result_command,
    result_ready,
    resume,
    ring,
    sos,
    sos_command,
    stopped,
    vn,
)

Step = Callable[[Dossier], object]


def build(*steps: Step) -> Dossier:
    d = dossier()
    for step in steps:
        step(d)
    return d


def kinds(d: Dossier) -> list[str]:
    return [e.kind for e in d.events]


# --- statuses ------------------------------------------------------------------------------------
STATUSES = [
    pytest.param((), DossierStatus.PROCESSING, id="received"),
    pytest.param((consult,), DossierStatus.CONSULTING, id="consulting"),
    pytest.param(
        (lambda d: consult(d, [FIRE, ENV]), reply),
        DossierStatus.CONSULTING,
        id="consulting-until-the-last-reply",
    ),
    pytest.param((consult, reply), DossierStatus.PROCESSING, id="back-to-processing-on-reply"),
    pytest.param(
        (consult, lambda d: reply(d, at=OVERDUE, late_reason="Chờ kiểm tra")),
        DossierStatus.PROCESSING,
        id="back-to-processing-on-late-reply",
    ),
    pytest.param((lambda d: sos(d, SosAction.STOP),), DossierStatus.STOPPED, id="stopped"),
    pytest.param(
        (lambda d: sos(d, SosAction.STOP), resume), DossierStatus.PROCESSING, id="resumed"
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.SUPPLEMENT),),
        DossierStatus.AWAITING_SUPPLEMENT,
        id="awaiting-supplement",
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.SUPPLEMENT), receive_supplement),
        DossierStatus.PROCESSING,
        id="supplement-delivered",
    ),
    pytest.param((lambda d: sos(d, SosAction.RETURN),), DossierStatus.RETURNED, id="returned"),
    pytest.param(
        (lambda d: sos(d, SosAction.STOP), lambda d: sos(d, SosAction.RETURN, at=LATER)),
        DossierStatus.RETURNED,
        id="returned-while-stopped",
    ),
    pytest.param(
        (request_withdrawal,), DossierStatus.PROCESSING, id="r6-withdrawal-pending-changes-nothing"
    ),
    pytest.param(
        (consult, request_withdrawal),
        DossierStatus.CONSULTING,
        id="r6-withdrawal-pending-while-consulting",
    ),
    pytest.param(
        (request_withdrawal, confirm_withdrawal),
        DossierStatus.WITHDRAWN,
        id="r6-withdrawn-once-confirmed",
    ),
    pytest.param((record_result,), DossierStatus.RESULT_READY, id="result-ready"),
    pytest.param((record_result, hand_over), DossierStatus.COMPLETED, id="r5-completed"),
    pytest.param((apologise,), DossierStatus.PROCESSING, id="r13-apology-changes-no-status"),
]


@pytest.mark.parametrize("steps, status", STATUSES)
def test_status_after_actions(steps: tuple[Step, ...], status: DossierStatus) -> None:
    d = build(*steps)
    assert d.status is status
    assert d.is_final == (
        status in {DossierStatus.COMPLETED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN}
    )
    assert (d.closed_at is not None) == d.is_final


def test_r2_an_agency_named_twice_in_one_request_is_consulted_once() -> None:
    d = dossier()
    sent = consult(d, [FIRE, ENV, FIRE])
    assert [(c.number, c.agency) for c in d.consultations] == [(1, FIRE), (2, ENV)]
    assert [n.to for n in sent] == [FIRE, ENV]


def test_consulting_is_derived_never_stored() -> None:
    d = consulting(FIRE)
    assert d.phase is Phase.PROCESSING and d.status is DossierStatus.CONSULTING
    assert "consulting" not in {p.value for p in Phase}
    reply(d, FIRE)
    assert d.status is DossierStatus.PROCESSING


# --- the timeline (R12) --------------------------------------------------------------------------
LEAD_OFFICER = officer().user_id
HEAD = "thu-truong.sxd"
EVENTS: list[Any] = [
    pytest.param(
        (),
        [("received", LEAD_OFFICER, {"procedure": PROCEDURE.code, "processing_days": 15})],
        id="received",
    ),
    pytest.param(
        (lambda d: consult(d, [FIRE, ENV]),),
        [
            (
                "consultation_requested",
                LEAD_OFFICER,
                {"agency": FIRE, "number": 1, "content": CONTENT, "deadline": DEADLINE.isoformat()},
            ),
            (
                "consultation_requested",
                LEAD_OFFICER,
                {"agency": ENV, "number": 2, "content": CONTENT, "deadline": DEADLINE.isoformat()},
            ),
        ],
        id="consult",
    ),
    pytest.param(
        (consult, reply),
        [
            (
                "consultation_answered",
                officer(FIRE).user_id,
                {"agency": FIRE, "number": 1, "late": False, "late_reason": None},
            )
        ],
        id="reply-on-time",
    ),
    pytest.param(
        (consult, lambda d: reply(d, at=OVERDUE, late_reason=" Chờ kiểm tra hiện trường ")),
        [
            (
                "consultation_answered",
                officer(FIRE).user_id,
                {
                    "agency": FIRE,
                    "number": 1,
                    "late": True,
                    "late_reason": "Chờ kiểm tra hiện trường",
                },
            )
        ],
        id="r7-reply-late-with-its-cause",
    ),
    pytest.param(
        (consult, lambda d: remind(d, 1), lambda d: remind(d, 1)),
        [
            ("reminder_1", SYSTEM, {"agency": FIRE, "number": 1, "cc": []}),
            ("reminder_2", SYSTEM, {"agency": FIRE, "number": 1, "cc": [HOME_AFFAIRS]}),
        ],
        id="r3-reminders",
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.STOP),),
        [("sos_stop", LEAD_OFFICER, {"reason": "Hồ sơ cần làm rõ", "missing_documents": []})],
        id="sos-stop",
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.SUPPLEMENT),),
        [
            (
                "sos_supplement",
                LEAD_OFFICER,
                {"reason": "Hồ sơ cần làm rõ", "missing_documents": [DOCUMENTS[3]]},
            ),
            (
                "due_changed",
                SYSTEM,
                {
                    "cause": "sos",
                    "previous": DUE.isoformat(),
                    "due_at": None,
                    "stopped_working_days": 0,
                },
            ),
        ],
        id="r10-sos-supplement",
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.RETURN),),
        [("sos_return", LEAD_OFFICER, {"reason": "Hồ sơ cần làm rõ", "missing_documents": []})],
        id="sos-return",
    ),
    pytest.param(
        (
            lambda d: sos(d, SosAction.STOP, at=vn(2025, 3, 7, 10)),
            lambda d: resume(d, at=vn(2025, 3, 11, 10)),
        ),
        [
            ("resume", LEAD_OFFICER, {"reason": "Đã có văn bản của cơ quan có thẩm quyền"}),
            (
                "due_changed",
                SYSTEM,
                {
                    "cause": "resume",
                    "previous": DUE.isoformat(),
                    "due_at": vn(2025, 3, 26, 17).isoformat(),
                    "stopped_working_days": 2,
                },
            ),
        ],
        id="r11-resume",
    ),
    pytest.param(
        (lambda d: sos(d, SosAction.SUPPLEMENT), receive_supplement),
        [
            ("supplement", LEAD_OFFICER, {"documents": [DOCUMENTS[3]]}),
            (
                "due_changed",
                SYSTEM,
                {
                    "cause": "supplement",
                    "previous": None,
                    "due_at": vn(2025, 3, 25, 17).isoformat(),
                    "stopped_working_days": 0,
                },
            ),
        ],
        id="r11-supplement-delivered",
    ),
    pytest.param(
        (apologise,),
        [
            (
                "apology",
                LEAD_OFFICER,
                {
                    "reason": "Cần thêm thời gian kiểm tra thực địa",
                    "new_due_date": NEW_DUE_DATE.isoformat(),
                },
            ),
            (
                "due_changed",
                SYSTEM,
                {
                    "cause": "apology",
                    "previous": DUE.isoformat(),
                    "due_at": vn(2025, 3, 28, 17).isoformat(),
                    "stopped_working_days": 0,
                },
            ),
        ],
        id="r13-apology",
    ),
    pytest.param(
        (request_withdrawal,),
        [
            (
                "withdrawal",
                LEAD_OFFICER,
                {
                    "reason": "Người nộp không còn nhu cầu",
                    "application_ref": "Đơn rút hồ sơ ngày 04/3/2025",
                },
            )
        ],
        id="r6-withdrawal-request",
    ),
    pytest.param(
        (
            lambda d: consult(d, [FIRE, ENV]),
            lambda d: reply(d, ENV),
            request_withdrawal,
            confirm_withdrawal,
        ),
        [
            ("withdrawal_confirmed", HEAD, {"signature_ref": "KS-2025-0042"}),
            ("consultation_cancelled", SYSTEM, {"agency": FIRE, "number": 1}),
        ],
        id="r6-confirmation-cancels-what-is-awaited",
    ),
    pytest.param(
        (record_result,),
        [("result", LEAD_OFFICER, {"outcome": "approved", "document_no": "125/GPXD"})],
        id="r5-result",
    ),
    pytest.param(
        (record_result, hand_over),
        [("handover", LEAD_OFFICER, {"received_by": "Nguyễn Thị Hoa"})],
        id="r5-handover",
    ),
    pytest.param(
        (ring, ring),
        [
            ("apology_due", SYSTEM, {"due_at": DUE.isoformat()}),
            ("late", SYSTEM, {"due_at": DUE.isoformat()}),
        ],
        id="r13-clock-alarms",
    ),
]


@pytest.mark.parametrize("steps, expected", EVENTS)
def test_r12_every_action_is_an_event(
    steps: tuple[Step, ...], expected: list[tuple[str, str, dict[str, Any]]]
) -> None:
    d = build(*steps)
    tail = d.events[-len(expected) :]
    assert [(e.kind, e.actor, e.detail) for e in tail] == expected
    assert [e.seq for e in d.events] == list(range(1, len(d.events) + 1))
    assert all(e.at.tzinfo is not None for e in d.events)
    json.dumps([e.model_dump(mode="json") for e in d.events])  # the timeline is plain JSON


def test_r12_event_times_are_the_action_times() -> None:
    d = consulting(FIRE)
    reply(d, FIRE, at=LATER)
    assert [(e.kind, e.at) for e in d.events] == [
        ("received", NOW),
        ("consultation_requested", SOON),
        ("consultation_answered", LATER),
    ]


def test_r11_record_clock_keeps_the_reading_and_logs_only_a_changed_due_date() -> None:
    d = dossier()
    d.reading = None
    d.record_clock(read_clock(d.clock, CALENDAR), NOW, "received")
    assert d.due_at == DUE and kinds(d) == ["received"]  # the first reading is no change
    d.record_clock(read_clock(d.clock, CALENDAR), LATER, "calendar_changed")
    assert kinds(d) == ["received"]  # same due date: nothing to tell
    d.clock.start(LATER, 15)
    d.record_clock(read_clock(d.clock, CALENDAR), LATER, "calendar_changed")
    assert d.events[-1].kind == "due_changed"
    assert d.events[-1].detail["cause"] == "calendar_changed"
    assert d.events[-1].detail["previous"] == DUE.isoformat()


# --- refusals kept for the audit (R9, R12) -------------------------------------------------------
REFUSED: list[Any] = [
    pytest.param(
        consulting,
        lambda: sos_command(SosAction.STOP),
        Action.SOS,
        OVERDUE,
        {"awaiting": [{"agency": FIRE, "deadline": DEADLINE, "overdue": True}]},
        id="r4-stop-while-reply-overdue",
    ),
    pytest.param(
        lambda: consulting(FIRE, ENV),
        lambda: sos_command(SosAction.SUPPLEMENT),
        Action.SOS,
        LATER,
        {
            "awaiting": [
                {"agency": FIRE, "deadline": DEADLINE, "overdue": False},
                {"agency": ENV, "deadline": DEADLINE, "overdue": False},
            ]
        },
        id="r4-supplement-while-replies-awaited",
    ),
    pytest.param(
        consulting,
        result_command,
        Action.RESULT,
        LATER,
        {"awaiting": [{"agency": FIRE, "deadline": DEADLINE, "overdue": False}]},
        id="r5-result-while-reply-awaited",
    ),
    pytest.param(
        dossier,
        handover_command,
        Action.HANDOVER,
        LATER,
        {"status": "processing"},
        id="r5-handover-without-result",
    ),
    pytest.param(
        dossier,
        lambda: consultation_request(deadline=vn(2025, 3, 12, 17)),
        Action.CONSULT,
        LATER,
        {"maximum": vn(2025, 3, 11, 17), "max_days": 5},
        id="r2-deadline-beyond-maximum",
    ),
    pytest.param(
        consulting,
        lambda: reply_command(FIRE, by=officer(ENV)),
        Action.REPLY,
        LATER,
        {"agency": FIRE},
        id="r2-not-your-consultation",
    ),
    pytest.param(
        consulting,
        lambda: reply_command(ENV),
        Action.REPLY,
        LATER,
        {"agency": ENV},
        id="r2-consultation-not-found",
    ),
    pytest.param(
        lambda: build(consult, reply),
        lambda: reply_command(FIRE),
        Action.REPLY,
        LATER,
        {"agency": FIRE},
        id="r2-already-answered",
    ),
]


@pytest.mark.parametrize("state, command, action, now, facts", REFUSED)
def test_r9_record_refusal_keeps_who_when_what_why(
    state: Callable[[], Dossier],
    command: Callable[[], Command],
    action: Action,
    now: datetime,
    facts: dict[str, Any],
) -> None:
    d, cmd = state(), command()
    refusal = decide(d, cmd, now)
    assert refusal is not None
    before = d.model_copy(deep=True)
    event = d.record_refusal(cmd, action.value, refusal, now, "update")
    assert d.events[-1] is event
    assert event.kind == "refused"
    assert (event.at, event.actor) == (now, cmd.actor.user_id)  # when, who
    detail = dict(event.detail)
    assert detail.pop("action") == action.value  # what
    assert detail.pop("request") == cmd.model_dump(mode="json", exclude=set(Command.ENVELOPE))
    assert detail.pop("actor_agency") == cmd.actor.agency
    assert detail.pop("code") == refusal.code.value  # why
    assert detail.pop("reason") == refusal.message_vi
    assert detail.pop("via") == "update"
    assert detail == to_jsonable_python(facts)  # what was awaited (R9), or other facts
    # a refusal changes nothing but the timeline (and who the forms name for the actor's id)
    assert d.model_dump(exclude={"events", "people"}) == before.model_dump(
        exclude={"events", "people"}
    )
    if cmd.actor.user_id and cmd.actor.name:
        assert d.people[cmd.actor.user_id] == cmd.actor.name
    json.dumps(event.model_dump(mode="json"))


def test_r9_refusal_by_an_unidentified_actor_is_kept_as_unknown() -> None:
    d = consulting()
    cmd = sos_command(SosAction.STOP, by=actor(LEAD, Role.OFFICER, user=""))
    refusal = rules.admission(d, cmd)
    assert refusal is not None
    event = d.record_refusal(cmd, Action.SOS.value, refusal, LATER, "signal")
    assert event.actor == "?" and event.detail["code"] == "unidentified_actor"


# --- notices --------------------------------------------------------------------------------------
NoticeShape = tuple[NoticeKind, str, list[str]]


def _confirm_with_two_open(d: Dossier) -> list[Notice]:
    consult(d, [FIRE, ENV])
    request_withdrawal(d)
    return confirm_withdrawal(d)


NOTICES: list[Any] = [
    pytest.param(
        lambda d: consult(d, [FIRE, ENV]),
        [(NoticeKind.CONSULTATION_REQUEST, FIRE, []), (NoticeKind.CONSULTATION_REQUEST, ENV, [])],
        [CONTENT, "17:00 ngày 06/03/2025", "448/UBND-HCC"],
        id="consult",
    ),
    pytest.param(
        lambda d: (consult(d), remind(d, 1))[1],
        [(NoticeKind.REMINDER_1, FIRE, [])],
        ["Nhắc lần 1", "17:00 ngày 06/03/2025"],
        id="r3-reminder-1",
    ),
    pytest.param(
        lambda d: (consult(d), remind(d, 1), remind(d, 1))[2],
        [(NoticeKind.REMINDER_2, FIRE, [HOME_AFFAIRS])],
        ["Nhắc lần 2", "Sở Nội vụ"],
        id="r3-reminder-2-copied-to-home-affairs",
    ),
    pytest.param(lambda d: (consult(d), reply(d))[1], [], [], id="reply"),
    pytest.param(
        lambda d: sos(d, SosAction.SUPPLEMENT, missing_documents=DOCUMENTS[2:]),
        [(NoticeKind.SUPPLEMENT_REQUEST, APPLICANT, [])],
        [*DOCUMENTS[2:], "Hồ sơ cần làm rõ", "mẫu 02, Thông tư số 01/2018", "Nguyễn Thị Hoa"],
        id="r10-supplement-request",
    ),
    pytest.param(
        lambda d: sos(d, SosAction.STOP),
        [(NoticeKind.STOP_NOTICE, APPLICANT, [])],
        ["dừng giải quyết", "Hồ sơ cần làm rõ", "mẫu 05, Thông tư số 03/2025/TT-VPCP"],
        id="stop",
    ),
    pytest.param(
        lambda d: sos(d, SosAction.RETURN),
        [(NoticeKind.RETURN_NOTICE, APPLICANT, [])],
        ["trả lại", "mẫu 03"],
        id="return",
    ),
    pytest.param(lambda d: (sos(d, SosAction.STOP), resume(d))[1], [], [], id="resume"),
    pytest.param(
        lambda d: apologise(d),
        [(NoticeKind.APOLOGY, APPLICANT, [])],
        ["xin lỗi", "28/03/2025", "Cần thêm thời gian kiểm tra thực địa", "mẫu 04"],
        id="r13-apology",
    ),
    pytest.param(request_withdrawal, [], [], id="r6-withdrawal-request-sends-nothing"),
    pytest.param(
        _confirm_with_two_open,
        [
            (NoticeKind.CONSULTATION_CANCELLED, FIRE, []),
            (NoticeKind.CONSULTATION_CANCELLED, ENV, []),
            (NoticeKind.WITHDRAWAL_NOTICE, APPLICANT, []),
        ],
        ["rút"],
        id="r6-confirmation-cancels-open-consultations",
    ),
    pytest.param(
        record_result, [(NoticeKind.RESULT_READY, APPLICANT, [])], ["kết quả"], id="r5-result-ready"
    ),
    pytest.param(lambda d: (record_result(d), hand_over(d))[1], [], [], id="r5-handover"),
    pytest.param(
        ring,
        [(NoticeKind.APOLOGY_DUE, LEAD, [])],
        ["17:00 ngày 24/03/2025", "17:00 ngày 21/03/2025", "mẫu 04"],
        id="r13-apology-due",
    ),
    pytest.param(lambda d: (ring(d), ring(d))[1], [], [], id="r13-late-sends-nothing"),
]


@pytest.mark.parametrize("act, shapes, phrases", NOTICES)
def test_notices_composed_by_each_action(
    act: Callable[[Dossier], list[Notice]], shapes: list[NoticeShape], phrases: list[str]
) -> None:
    d = dossier()
    sent = act(d)
    assert [(n.kind, n.to, n.cc) for n in sent] == shapes
    for n in sent:
        assert n.dossier == CODE
        assert n.key.startswith(f"{CODE}/{n.kind.value}/{n.to}/")
        assert n.sent_at == d.events[-1].at
        assert CODE in n.subject
    text = "\n".join(n.subject + "\n" + n.body for n in sent)
    for phrase in phrases:
        assert phrase in text


def test_notices_of_a_dossier_received_from_1_july_2025_cite_circular_03() -> None:
    d = dossier(at=vn(2026, 3, 3, 9))
    sent = [
        *sos(d, SosAction.SUPPLEMENT, at=vn(2026, 3, 3, 10)),
        *receive_supplement(d, at=vn(2026, 3, 4, 9)),
        *apologise(d, date(2026, 4, 10), at=vn(2026, 3, 20, 9)),
        *sos(d, SosAction.RETURN, at=vn(2026, 3, 23, 9)),
    ]
    texts = {n.kind: n.subject + "\n" + n.body for n in sent}

    assert "(mẫu 02, Thông tư số 03/2025/TT-VPCP)" in texts[NoticeKind.SUPPLEMENT_REQUEST]
    assert "(mẫu 03, Thông tư số 03/2025/TT-VPCP)" in texts[NoticeKind.RETURN_NOTICE]
    apology = texts[NoticeKind.APOLOGY]
    assert apology.startswith("Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết hồ sơ")
    assert "(mẫu 04, Thông tư số 03/2025/TT-VPCP)" in apology
    assert not any("01/2018" in text for text in texts.values())


KIND_SCENARIOS: list[Any] = [
    pytest.param(NoticeKind.CONSULTATION_REQUEST, lambda d: consult(d), id="consultation_request"),
    pytest.param(NoticeKind.REMINDER_1, lambda d: (consult(d), remind(d, 1))[1], id="reminder_1"),
    pytest.param(
        NoticeKind.REMINDER_2,
        lambda d: (consult(d), remind(d, 1), remind(d, 1))[2],
        id="reminder_2",
    ),
    pytest.param(
        NoticeKind.CONSULTATION_CANCELLED,
        lambda d: _confirm_with_two_open(d)[:1],
        id="consultation_cancelled",
    ),
    pytest.param(
        NoticeKind.SUPPLEMENT_REQUEST,
        lambda d: sos(d, SosAction.SUPPLEMENT),
        id="supplement_request",
    ),
    pytest.param(NoticeKind.STOP_NOTICE, lambda d: sos(d, SosAction.STOP), id="stop_notice"),
    pytest.param(NoticeKind.RETURN_NOTICE, lambda d: sos(d, SosAction.RETURN), id="return_notice"),
    pytest.param(
        NoticeKind.WITHDRAWAL_NOTICE,
        lambda d: _confirm_with_two_open(d)[-1:],
        id="withdrawal_notice",
    ),
    pytest.param(NoticeKind.APOLOGY, apologise, id="apology"),
    pytest.param(NoticeKind.RESULT_READY, record_result, id="result_ready"),
    pytest.param(NoticeKind.APOLOGY_DUE, ring, id="apology_due"),
]


@pytest.mark.parametrize("kind, act", KIND_SCENARIOS)
def test_notice_body_names_the_dossier_exactly(
    kind: NoticeKind, act: Callable[[Dossier], list[Notice]]
) -> None:
    """Every notice, in Vietnamese, names the dossier by its exact code (and the applicant's
    name or the procedure, as written)."""
    d = dossier()
    (n,) = act(d)
    assert n.kind is kind
    assert CODE in n.subject and CODE in n.body
    assert "hồ sơ" in (n.subject + n.body).lower()
    if n.to == APPLICANT or kind in {NoticeKind.CONSULTATION_REQUEST, NoticeKind.APOLOGY_DUE}:
        assert PROCEDURE.name in n.body or "Nguyễn Thị Hoa" in n.body
    assert "nguyễn thị hoa" not in n.body  # never a mangled name


def test_every_notice_kind_is_composed_by_some_action() -> None:
    covered = {p.values[0] for p in KIND_SCENARIOS}
    assert covered == set(NoticeKind)


def test_r3_r12_notice_keys_are_unique_over_a_whole_life() -> None:
    """A dossier's notices over a long life each have their own business key; composing the
    same notice again gives the same key (so a retried activity is one notice)."""
    d = dossier()
    sent = consult(d, [FIRE, ENV])
    sent += remind(d, 1) + remind(d, 2) + remind(d, 1) + remind(d, 2)
    sent += reply(d, FIRE, at=vn(2025, 3, 11, 9), late_reason="Chờ kết quả kiểm tra")
    sent += reply(d, ENV, at=vn(2025, 3, 11, 10), late_reason="Thiếu cán bộ")
    sent += consult(d, [FIRE], at=vn(2025, 3, 11, 11), deadline=vn(2025, 3, 13, 17))
    sent += remind(d, 3)
    sent += reply(d, FIRE, at=vn(2025, 3, 14, 9), late_reason="Chờ lãnh đạo ký")
    sent += sos(d, SosAction.STOP, at=vn(2025, 3, 14, 10))
    sent += resume(d, at=vn(2025, 3, 17, 10))
    sent += ring(d)
    sent += sos(d, SosAction.STOP, at=vn(2025, 3, 24, 10))
    sent += resume(d, at=vn(2025, 3, 25, 10))
    sent += ring(d, at=vn(2025, 3, 25, 10, 1))  # a second apology_due: the due date moved
    sent += record_result(d, at=vn(2025, 3, 25, 11))
    sent += hand_over(d, at=vn(2025, 3, 25, 14))
    keys = [n.key for n in sent]
    assert len(keys) == len(set(keys)) == 13
    assert [n.kind for n in sent].count(NoticeKind.APOLOGY_DUE) == 2
    c = d.consultation(1)
    again = notices.reminder(d, c, 2, vn(2025, 3, 20, 9))
    assert again.key == next(n.key for n in sent if n.kind is NoticeKind.REMINDER_2)


# --- R3: the reminder ladder ---------------------------------------------------------------------
def test_r3_reminder_1_at_the_deadline_then_2_at_the_second_reminder_then_none() -> None:
    d = consulting(FIRE)
    c = d.consultation(1)
    assert c.second_reminder_at == SECOND_REMINDER
    assert c.next_reminder() == DueReminder(level=1, at=DEADLINE)
    remind(d, 1, at=DEADLINE + timedelta(seconds=1))
    assert c.next_reminder() == DueReminder(level=2, at=SECOND_REMINDER)
    remind(d, 1)
    assert c.next_reminder() is None
    assert [(r.level, r.cc) for r in c.reminders] == [(1, []), (2, [HOME_AFFAIRS])]


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((reply,), id="answered-before-the-deadline"),
        pytest.param(
            (lambda d: remind(d, 1), lambda d: reply(d, at=OVERDUE, late_reason="Chờ số liệu")),
            id="answered-after-reminder-1",
        ),
        pytest.param((request_withdrawal, confirm_withdrawal), id="cancelled-by-withdrawal"),
    ],
)
def test_r3_no_reminder_once_settled(steps: tuple[Step, ...]) -> None:
    d = consulting(FIRE)
    for step in steps:
        step(d)
    assert d.consultation(1).next_reminder() is None


def test_r3_each_consultation_has_its_own_ladder() -> None:
    d = dossier()
    consult(d, [FIRE])
    consult(d, [ENV], deadline=DEADLINE_2)
    remind(d, 1)
    assert d.consultation(1).next_reminder() == DueReminder(level=2, at=SECOND_REMINDER)
    assert d.consultation(2).next_reminder() == DueReminder(level=1, at=DEADLINE_2)


# --- R13: the clock's alarms ---------------------------------------------------------------------
def test_r13_apology_due_first_then_late() -> None:
    d = dossier()
    assert d.next_clock_alarm() == ClockAlarm(kind="apology_due", at=APOLOGY_NOTICE)
    ring(d)
    assert d.apology_due_notified_for == DUE
    assert d.next_clock_alarm() == ClockAlarm(kind="late", at=DUE)
    ring(d)
    assert d.late and d.document(DUE).late
    assert d.next_clock_alarm() is None


def test_r13_after_an_apology_only_lateness_at_the_new_date() -> None:
    d = dossier()
    apologise(d)
    assert d.next_clock_alarm() == ClockAlarm(kind="late", at=vn(2025, 3, 28, 17))


def test_r13_apology_due_again_when_a_resume_moves_the_due_date() -> None:
    d = dossier()
    ring(d)
    sos(d, SosAction.STOP, at=vn(2025, 3, 21, 10))
    resume(d, at=vn(2025, 3, 25, 10))  # Mon 24, Tue 25 stopped: due Wed 26/3
    assert d.due_at == vn(2025, 3, 26, 17)
    assert d.next_clock_alarm() == ClockAlarm(kind="apology_due", at=vn(2025, 3, 25, 7))


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(stopped, id="stopped"),
        pytest.param(awaiting_supplement, id="awaiting-supplement"),
        pytest.param(result_ready, id="result-ready"),
        *[
            pytest.param(IN_STATUS[s], id=s.value)
            for s in (DossierStatus.COMPLETED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN)
        ],
    ],
)
def test_r13_no_clock_alarm_while_the_clock_does_not_run_for_the_lead_agency(
    state: Callable[[], Dossier],
) -> None:
    assert state().next_clock_alarm() is None


def test_r13_no_clock_alarm_before_the_clock_is_read() -> None:
    d = dossier()
    d.reading = None
    assert d.next_clock_alarm() is None


def test_r13_clock_alarms_while_consulting() -> None:
    """R11: a consultation never pauses the clock, so its alarms stay."""
    assert consulting(FIRE).next_clock_alarm() == ClockAlarm(kind="apology_due", at=APOLOGY_NOTICE)


# --- R6: withdrawal -------------------------------------------------------------------------------
def test_r6_withdrawal_pending_until_the_head_confirms() -> None:
    d = consulting(FIRE, ENV)
    request_withdrawal(d)
    assert d.document(LATER).withdrawal == "pending_confirmation"
    assert d.status is DossierStatus.CONSULTING and d.withdrawal is not None
    assert d.withdrawal.confirmed_at is None
    sent = confirm_withdrawal(d, at=LATER)
    assert d.status is DossierStatus.WITHDRAWN and d.closed_at == LATER
    assert d.withdrawal.confirmed_by == "thu-truong.sxd"
    assert d.withdrawal.signature_ref == "KS-2025-0042"
    assert d.document(LATER).withdrawal == "confirmed"
    assert [c.status_at(LATER) for c in d.consultations] == [ConsultationStatus.CANCELLED] * 2
    assert [(n.kind, n.to) for n in sent] == [
        (NoticeKind.CONSULTATION_CANCELLED, FIRE),
        (NoticeKind.CONSULTATION_CANCELLED, ENV),
        (NoticeKind.WITHDRAWAL_NOTICE, APPLICANT),
    ]
    assert d.awaiting() == []


def test_r6_confirmation_leaves_answered_consultations_answered() -> None:
    d = consulting(FIRE, ENV)
    reply(d, ENV, at=SOON)
    request_withdrawal(d)
    sent = confirm_withdrawal(d)
    assert [c.outcome for c in d.consultations] == ["cancelled", "answered"]
    assert [n.to for n in sent if n.kind is NoticeKind.CONSULTATION_CANCELLED] == [FIRE]


def test_r6_confirmation_while_stopped_closes_the_pause() -> None:
    d = stopped()
    request_withdrawal(d)
    confirm_withdrawal(d)
    pause = d.clock.entries[-1]
    assert pause.kind == "pause" and pause.resumed_at == LATER


# --- the document of API.md ---------------------------------------------------------------------
API_FIELDS = {
    "code",
    "procedure_code",
    "lead_agency",
    "applicant",
    "status",
    "received_at",
    "due_at",
    "completed_at",
    "late",
    "national_status",
    "consultations",
    "events",
}
API_CONSULTATION_FIELDS = {
    "agency",
    "content",
    "deadline",
    "status",
    "requested_at",
    "replied_at",
    "opinion",
    "late_reason",
    "reminders",
}

NATIONAL: dict[DossierStatus, int] = {
    DossierStatus.PROCESSING: 4,
    DossierStatus.CONSULTING: 4,
    DossierStatus.AWAITING_SUPPLEMENT: 5,
    DossierStatus.STOPPED: 8,
    DossierStatus.RESULT_READY: 9,
    DossierStatus.COMPLETED: 10,
    DossierStatus.RETURNED: 3,
    DossierStatus.WITHDRAWN: 7,
}


@pytest.mark.parametrize("status", [pytest.param(s, id=s.value) for s in DossierStatus])
def test_document_status_and_national_status(status: DossierStatus) -> None:
    doc = IN_STATUS[status]().document(LATER)
    assert doc.status is status
    assert doc.national_status.code == NATIONAL[status]
    assert doc.national_status.label == LABELS[NATIONAL[status]]


def test_document_has_the_fields_of_api_md() -> None:
    d = dossier()
    consult(d, [FIRE, ENV])
    remind(d, 1)
    reply(d, ENV, at=OVERDUE, late_reason="Chờ số liệu quan trắc")
    doc = d.document(OVERDUE).model_dump(mode="json")
    assert API_FIELDS <= set(doc)
    assert doc["code"] == CODE and doc["procedure_code"] == PROCEDURE.code
    assert doc["lead_agency"] == LEAD and doc["applicant"]["name"] == "Nguyễn Thị Hoa"
    assert doc["status"] == "consulting" and doc["late"] is False
    assert doc["completed_at"] is None
    assert datetime.fromisoformat(doc["due_at"]) == DUE
    assert datetime.fromisoformat(doc["received_at"]) == NOW
    assert doc["national_status"] == {"code": 4, "label": "Đang xử lý"}
    fire, env = doc["consultations"]
    assert API_CONSULTATION_FIELDS <= set(fire)
    assert (fire["agency"], fire["status"], fire["opinion"]) == (FIRE, "overdue", None)
    assert fire["content"] == CONTENT
    assert datetime.fromisoformat(fire["deadline"]) == DEADLINE
    assert datetime.fromisoformat(fire["requested_at"]) == SOON
    assert [(r["level"], r["cc"]) for r in fire["reminders"]] == [(1, [])]
    assert (env["status"], env["opinion"], env["late_reason"]) == (
        "answered_late",
        OPINION,
        "Chờ số liệu quan trắc",
    )
    assert datetime.fromisoformat(env["replied_at"]) == OVERDUE
    assert {"at", "kind", "actor", "detail"} <= set(doc["events"][0])
    for t in (doc["received_at"], doc["due_at"], fire["deadline"], doc["events"][0]["at"]):
        assert datetime.fromisoformat(t).utcoffset() is not None  # ISO 8601 with an offset


@pytest.mark.parametrize(
    "steps, now, status",
    [
        pytest.param((), LATER, ConsultationStatus.AWAITING, id="awaiting"),
        pytest.param((), DEADLINE, ConsultationStatus.AWAITING, id="awaiting-at-the-deadline"),
        pytest.param((), OVERDUE, ConsultationStatus.OVERDUE, id="overdue"),
        pytest.param((reply,), OVERDUE, ConsultationStatus.ANSWERED, id="answered"),
        pytest.param(
            (lambda d: reply(d, at=OVERDUE, late_reason="Chờ số liệu"),),
            OVERDUE,
            ConsultationStatus.ANSWERED_LATE,
            id="answered-late",
        ),
        pytest.param(
            (request_withdrawal, confirm_withdrawal),
            OVERDUE,
            ConsultationStatus.CANCELLED,
            id="cancelled",
        ),
    ],
)
def test_consultation_status_in_the_document(
    steps: tuple[Step, ...], now: datetime, status: ConsultationStatus
) -> None:
    d = consulting(FIRE)
    for step in steps:
        step(d)
    assert d.document(now).consultations[0].status is status


def test_r5_completed_document() -> None:
    d = result_ready()
    hand_over(d, at=LATER)
    doc = d.document(LATER)
    assert doc.status is DossierStatus.COMPLETED and doc.completed_at == LATER
    assert doc.national_status.code == 10


def test_r5_abnormal_close_is_kept() -> None:
    d = consulting(FIRE)
    d.close_abnormally("terminated", LATER)
    assert d.abnormal_close == "terminated" and d.closed_at == LATER
    assert d.events[-1].kind == "abnormal_close"
    assert d.events[-1].detail == {"how": "terminated", "status": "consulting"}


# --- the JSON round trip (continue-as-new) -----------------------------------------------------
def _long_life() -> Dossier:
    d = dossier()
    consult(d, [FIRE, ENV])
    remind(d, 1)
    remind(d, 1)
    reply(d, FIRE, at=vn(2025, 3, 11, 9), late_reason="Chờ kiểm tra hiện trường")
    reply(d, ENV, at=vn(2025, 3, 11, 10), late_reason="Thiếu cán bộ")
    sos(d, SosAction.SUPPLEMENT, at=vn(2025, 3, 11, 11))
    receive_supplement(d, at=vn(2025, 3, 12, 9))
    sos(d, SosAction.STOP, at=vn(2025, 3, 13, 9))
    resume(d, at=vn(2025, 3, 17, 9))
    assert d.next_clock_alarm() == ClockAlarm(kind="apology_due", at=vn(2025, 4, 3, 7))
    ring(d)  # the due date being Friday 4/4
    apologise(d, date(2025, 4, 15), at=vn(2025, 4, 3, 8))
    refused = sos_command(SosAction.STOP, reason="")
    refusal = rules.decide_sos(d, refused, vn(2025, 4, 3, 9))
    assert refusal is not None
    d.record_refusal(refused, Action.SOS.value, refusal, vn(2025, 4, 3, 9), "signal")
    request_withdrawal(d, at=vn(2025, 4, 3, 10))
    return d


ROUND_TRIP: list[Any] = [
    *[pytest.param(build_, id=s.value) for s, build_ in IN_STATUS.items()],
    pytest.param(_long_life, id="long-life"),
]


@pytest.mark.parametrize("state", ROUND_TRIP)
def test_dossier_json_round_trip(state: Callable[[], Dossier]) -> None:
    d = state()
    carried = Dossier.model_validate(json.loads(json.dumps(d.model_dump(mode="json"))))
    assert carried == d
    assert carried.status is d.status
    assert carried.next_clock_alarm() == d.next_clock_alarm()
    assert carried.document(LATER) == d.document(LATER)
    assert read(carried.model_copy(deep=True)).reading == d.reading  # the ledger reads the same


def test_dossier_carried_through_continue_as_new_goes_on() -> None:
    """After the round trip a dossier takes the next actions as before it."""
    d = _long_life()
    carried = Dossier.model_validate(d.model_dump(mode="json"))
    confirm_withdrawal(carried, at=vn(2025, 4, 4, 9))
    assert carried.status is DossierStatus.WITHDRAWN
    s = Dossier.model_validate(stopped().model_dump(mode="json"))
    resume(s, at=vn(2025, 3, 4, 9))
    assert s.status is DossierStatus.PROCESSING and s.due_at == vn(2025, 3, 25, 17)
    c = Dossier.model_validate(consulting(FIRE).model_dump(mode="json"))
    assert c.consultation(1).next_reminder() == DueReminder(level=1, at=DEADLINE)
    apply(c, reply_command(FIRE), LATER)
    assert c.status is DossierStatus.PROCESSING
