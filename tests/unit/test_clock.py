"""domain.clock: the dossier's clock ledger read on the real calendar (R11, R13).

Dates are real and were checked against holidays.VN (holidays 0.109): March 2025 has no public
holiday; Tết 2025 is Monday 27/1 to Saturday 1/2; Hùng Kings' day 2025 is Monday 7/4; Saturday
26/4/2025 is worked for Friday 2/5/2025 off; Tết 2026 is Monday 16/2 to Friday 20/2.
`test_the_dates_used_here_are_the_calendar_s` checks them again.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import holidays
import pytest

from domain.calendar import CalendarOverrides, WorkingCalendar
from domain.clock import ClockLedger, ClockReading, read_clock
from domain.commands import SosAction
from domain.localtime import local_date
from tests.unit.builders import (
    CALENDAR,
    DUE,
    FIRE,
    NOW,
    OVERDUE,
    apologise,
    consult,
    dossier,
    receive_supplement,
    reply,
    resume,
    sos,
    vn,
)


def ledger(start: datetime = NOW, working_days: int = 15) -> ClockLedger:
    clock = ClockLedger()
    clock.start(start, working_days)
    return clock


def stop(clock: ClockLedger, stopped_at: datetime, resumed_at: datetime | None) -> ClockLedger:
    clock.pause(stopped_at)
    if resumed_at is not None:
        clock.resume(resumed_at)
    return clock


def read(clock: ClockLedger, calendar: WorkingCalendar = CALENDAR) -> ClockReading:
    return read_clock(clock, calendar)


# --- the calendar the dates below rely on ---------------------------------------------------------
DAYS_OFF = [
    date(2025, 1, 27),
    date(2025, 1, 28),
    date(2025, 1, 29),
    date(2025, 1, 30),
    date(2025, 1, 31),
    date(2025, 2, 1),
    date(2025, 4, 7),
    date(2025, 4, 30),
    date(2025, 5, 1),
    date(2025, 5, 2),
    date(2026, 2, 16),
    date(2026, 2, 17),
    date(2026, 2, 18),
    date(2026, 2, 19),
    date(2026, 2, 20),
]
WORKING_DAYS = [date(2025, 3, d) for d in (3, 4, 5, 6, 7, 10, 11, 14, 17, 21, 24, 25, 26, 28, 31)]
WORKING_DAYS += [
    date(2025, 1, 24),
    date(2025, 2, 3),
    date(2025, 4, 4),
    date(2025, 4, 8),
    date(2025, 4, 26),
    date(2026, 2, 13),
    date(2026, 2, 23),
]


def test_the_dates_used_here_are_the_calendar_s() -> None:
    vn_holidays = holidays.VN(years=[2025, 2026])
    for day in DAYS_OFF:
        assert day in vn_holidays and not CALENDAR.is_working_day(day), day
    for day in WORKING_DAYS:
        assert day not in vn_holidays and CALENDAR.is_working_day(day), day
    assert date(2025, 4, 26) in vn_holidays.weekend_workdays  # the worked Saturday
    assert not any(date(2025, 3, d) in vn_holidays for d in range(1, 32))


# --- R11: the due date ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "received, working_days, due",
    [
        pytest.param(vn(2025, 3, 3, 9), 15, vn(2025, 3, 24, 17), id="monday-morning"),
        pytest.param(vn(2025, 3, 3, 15), 15, vn(2025, 3, 24, 17), id="at-15h-counts-that-day"),
        pytest.param(
            vn(2025, 3, 7, 15, 30),
            15,
            vn(2025, 3, 31, 17),
            id="after-15h-counts-from-the-next-working-day",
        ),
        pytest.param(vn(2025, 1, 24, 9), 15, vn(2025, 2, 21, 17), id="across-tet-2025"),
        pytest.param(vn(2025, 1, 6, 9), 15, vn(2025, 2, 3, 17), id="running-into-tet-2025"),
        pytest.param(vn(2026, 2, 12, 9), 10, vn(2026, 3, 5, 17), id="across-tet-2026"),
        pytest.param(vn(2025, 3, 24, 9), 15, vn(2025, 4, 15, 17), id="across-hung-kings-2025"),
    ],
)
def test_r11_due_date_in_working_days(received: datetime, working_days: int, due: datetime) -> None:
    reading = read(ledger(received, working_days))
    assert reading.due_at == due
    assert reading.running
    assert (reading.stopped_working_days, reading.last_stop_working_days) == (0, 0)


def test_r11_due_date_is_17h_local_as_aware_utc() -> None:
    due = read(ledger()).due_at
    assert due is not None and due.utcoffset() is not None
    assert (due.hour, due.minute) == (10, 0)  # 17:00 in Vietnam (UTC+7)


# --- R11: a consultation never pauses the clock --------------------------------------------------
def test_r11_consultation_never_pauses_the_clock() -> None:
    d = dossier()
    before = d.clock.model_copy(deep=True)
    consult(d, [FIRE])
    assert d.clock == before  # no ledger entry at all
    assert read(d.clock) == read(before)
    reply(d, FIRE, at=OVERDUE, late_reason="Chờ kết quả kiểm tra hiện trường")
    assert d.clock == before
    assert d.due_at == DUE and d.reading is not None and d.reading.running


# --- R11: a supplement suspends the clock; it restarts from zero ----------------------------------
def test_r11_supplement_suspends_the_clock() -> None:
    clock = ledger()
    clock.suspend(vn(2025, 3, 5, 10))
    reading = read(clock)
    assert reading.due_at is None and not reading.running
    assert reading.apology_deadline is None and reading.apology_notice_at is None


@pytest.mark.parametrize(
    "delivered, due",
    [
        pytest.param(vn(2025, 3, 10, 10), vn(2025, 3, 31, 17), id="monday-morning"),
        pytest.param(vn(2025, 3, 10, 16), vn(2025, 4, 1, 17), id="after-15h"),
        pytest.param(vn(2025, 3, 24, 9), vn(2025, 4, 15, 17), id="across-hung-kings"),
    ],
)
def test_r11_supplement_restarts_the_full_time_from_zero(
    delivered: datetime, due: datetime
) -> None:
    """Days spent before the supplement request do not count: the full 15 working days run
    again from the day the complete dossier is back."""
    clock = ledger()
    clock.suspend(vn(2025, 3, 5, 10))
    clock.start(delivered, 15)
    reading = read(clock)
    assert reading.due_at == due == CALENDAR.due_at(delivered, 15)
    assert reading.running
    counted_from = CALENDAR.counting_day(delivered)
    assert CALENDAR.add_working_days(counted_from, 15) == local_date(due)
    assert CALENDAR.working_days_between(CALENDAR.end_of_day(counted_from), due) == 15


def test_r11_restart_forgets_earlier_stops() -> None:
    clock = stop(ledger(), vn(2025, 3, 4, 10), vn(2025, 3, 6, 10))
    assert read(clock).stopped_working_days == 2
    clock.suspend(vn(2025, 3, 7, 10))
    clock.start(vn(2025, 3, 10, 10), 15)
    reading = read(clock)
    assert reading.due_at == vn(2025, 3, 31, 17)
    assert reading.stopped_working_days == 0


def test_r11_supplement_through_the_dossier() -> None:
    d = dossier()
    sos(d, SosAction.SUPPLEMENT, at=vn(2025, 3, 5, 10))
    assert d.due_at is None and d.reading is not None and not d.reading.running
    receive_supplement(d, at=vn(2025, 3, 10, 10))
    assert d.due_at == vn(2025, 3, 31, 17)
    assert [e.kind for e in d.clock.entries] == ["start", "suspension", "start"]


# --- R11: a stop pauses the clock; a resume pushes the due date back ----------------------------
@pytest.mark.parametrize(
    "start, working_days, stopped_at, resumed_at, stopped_days, due",
    [
        pytest.param(
            NOW,
            15,
            vn(2025, 3, 7, 10),
            vn(2025, 3, 11, 10),
            2,
            vn(2025, 3, 26, 17),
            id="friday-to-next-tuesday-2-days",
        ),
        pytest.param(
            NOW,
            15,
            vn(2025, 3, 7, 10),
            vn(2025, 3, 10, 10),
            1,
            vn(2025, 3, 25, 17),
            id="friday-to-monday-1-day",
        ),
        pytest.param(NOW, 15, vn(2025, 3, 7, 10), vn(2025, 3, 7, 16), 0, DUE, id="same-day-0-days"),
        pytest.param(
            NOW, 15, vn(2025, 3, 7, 10), vn(2025, 3, 9, 10), 0, DUE, id="over-the-weekend-0-days"
        ),
        pytest.param(
            vn(2025, 1, 6, 9),
            15,
            vn(2025, 1, 23, 10),
            vn(2025, 2, 4, 10),
            3,
            vn(2025, 2, 6, 17),
            id="across-tet-2025-3-days",
        ),
        pytest.param(
            vn(2026, 2, 12, 9),
            10,
            vn(2026, 2, 13, 10),
            vn(2026, 2, 23, 10),
            1,
            vn(2026, 3, 6, 17),
            id="across-tet-2026-1-day",
        ),
        pytest.param(
            vn(2025, 4, 21, 9),
            15,
            vn(2025, 4, 25, 10),
            vn(2025, 5, 5, 10),
            4,
            vn(2025, 5, 20, 17),
            id="across-the-2025-swap-worked-saturday-counts",
        ),
    ],
)
def test_r11_resume_pushes_the_due_date_by_the_working_days_stopped(
    start: datetime,
    working_days: int,
    stopped_at: datetime,
    resumed_at: datetime,
    stopped_days: int,
    due: datetime,
) -> None:
    before = read(ledger(start, working_days)).due_at
    assert before is not None
    reading = read(stop(ledger(start, working_days), stopped_at, resumed_at))
    assert reading.due_at == due == CALENDAR.shift(before, stopped_days)
    assert reading.running
    assert reading.stopped_working_days == reading.last_stop_working_days == stopped_days


def test_r11_while_stopped_the_clock_does_not_run() -> None:
    reading = read(stop(ledger(), vn(2025, 3, 7, 10), None))
    assert not reading.running
    assert reading.due_at == DUE  # not pushed yet: that happens on the resume
    assert reading.stopped_working_days == 0


def test_r11_stops_add_up() -> None:
    clock = stop(ledger(), vn(2025, 3, 7, 10), vn(2025, 3, 11, 10))  # 2 working days
    clock = stop(clock, vn(2025, 3, 13, 10), vn(2025, 3, 14, 9))  # 1 working day
    reading = read(clock)
    assert reading.stopped_working_days == 3 and reading.last_stop_working_days == 1
    assert reading.due_at == vn(2025, 3, 27, 17)


def test_r11_resume_without_a_stop_is_an_error() -> None:
    with pytest.raises(ValueError, match="not paused"):
        ledger().resume(vn(2025, 3, 4, 9))
    clock = stop(ledger(), vn(2025, 3, 4, 9), vn(2025, 3, 5, 9))
    with pytest.raises(ValueError, match="not paused"):
        clock.resume(vn(2025, 3, 6, 9))


def test_r11_stop_and_resume_through_the_dossier() -> None:
    d = dossier()
    sos(d, SosAction.STOP, at=vn(2025, 3, 7, 10))
    assert d.reading is not None and not d.reading.running and d.due_at == DUE
    resume(d, at=vn(2025, 3, 11, 10))
    assert d.due_at == vn(2025, 3, 26, 17)
    assert d.reading is not None and d.reading.last_stop_working_days == 2


def test_r11_returned_while_stopped_the_clock_ends_where_it_stood() -> None:
    d = dossier()
    sos(d, SosAction.STOP, at=vn(2025, 3, 7, 10))
    sos(d, SosAction.RETURN, at=vn(2025, 3, 11, 10))
    pause = d.clock.entries[-1]
    assert pause.kind == "pause" and pause.resumed_at == vn(2025, 3, 11, 10)


# --- R13: the apology's new date and its deadline -------------------------------------------------
@pytest.mark.parametrize(
    "due, deadline, notice",
    [
        pytest.param(
            vn(2025, 3, 24, 17),
            vn(2025, 3, 21, 17),
            vn(2025, 3, 21, 7),
            id="due-monday-deadline-friday",
        ),
        pytest.param(
            vn(2025, 3, 26, 17),
            vn(2025, 3, 25, 17),
            vn(2025, 3, 25, 7),
            id="due-wednesday-deadline-tuesday",
        ),
        pytest.param(
            vn(2025, 4, 8, 17),
            vn(2025, 4, 4, 17),
            vn(2025, 4, 4, 7),
            id="due-after-hung-kings-deadline-the-friday-before",
        ),
        pytest.param(
            vn(2025, 2, 3, 17),
            vn(2025, 1, 24, 17),
            vn(2025, 1, 24, 7),
            id="due-after-tet-deadline-before-tet",
        ),
    ],
)
def test_r13_apology_deadline_is_one_working_day_before_the_due_date(
    due: datetime, deadline: datetime, notice: datetime
) -> None:
    clock = ledger()
    clock.reschedule(local_date(due))
    reading = read(clock)
    assert reading.due_at == due
    assert reading.apology_deadline == deadline  # the same time, a working day earlier
    assert reading.apology_notice_at == notice  # 07:00 local, the opening of that day


def test_r13_apology_deadline_of_the_received_dossier() -> None:
    reading = read(ledger())
    assert reading.due_at == DUE
    assert reading.apology_deadline == vn(2025, 3, 21, 17)
    assert reading.apology_notice_at == vn(2025, 3, 21, 7)


def test_r13_reschedule_sets_the_new_date_at_17h_local() -> None:
    d = dossier()
    apologise(d, date(2025, 3, 28))
    assert [e.kind for e in d.clock.entries] == ["start", "reschedule"]
    assert d.due_at == vn(2025, 3, 28, 17)
    assert d.reading is not None
    assert d.reading.apology_deadline == vn(2025, 3, 27, 17)
    assert d.reading.apology_notice_at == vn(2025, 3, 27, 7)


def test_r13_stop_after_an_apology_pushes_the_new_date() -> None:
    d = dossier()
    apologise(d, date(2025, 3, 28), at=vn(2025, 3, 18, 9))
    sos(d, SosAction.STOP, at=vn(2025, 3, 20, 10))
    resume(d, at=vn(2025, 3, 24, 10))  # Friday 21 and Monday 24: 2 working days
    assert d.due_at == vn(2025, 4, 1, 17)
    assert d.reading is not None and d.reading.stopped_working_days == 2


def test_r13_reschedule_after_a_stop_sets_the_date_as_given() -> None:
    """The apology's date is the date told to the applicant: earlier stops do not move it."""
    clock = stop(ledger(), vn(2025, 3, 7, 10), vn(2025, 3, 11, 10))
    clock.reschedule(date(2025, 4, 2))
    assert read(clock).due_at == vn(2025, 4, 2, 17)


# --- R11: the calendar is data; the same ledger re-read on an updated calendar -------------------
def test_r11_updated_calendar_recomputes_the_due_date_from_the_same_ledger() -> None:
    clock = stop(ledger(), vn(2025, 3, 7, 10), vn(2025, 3, 11, 10))
    kept = clock.model_dump(mode="json")
    updated = WorkingCalendar.vietnam(
        CalendarOverrides(days_off={date(2025, 3, 14): "Nghỉ bù theo quyết định của tỉnh"})
    )
    assert read(clock).due_at == vn(2025, 3, 26, 17)
    assert read(clock, updated).due_at == vn(2025, 3, 27, 17)
    assert clock.model_dump(mode="json") == kept  # reading never writes the ledger


def test_r11_ledger_json_round_trip() -> None:
    clock = stop(ledger(), vn(2025, 3, 7, 10), vn(2025, 3, 11, 10))
    clock.suspend(vn(2025, 3, 12, 10))
    clock.start(vn(2025, 3, 13, 10), 15)
    clock.reschedule(date(2025, 4, 10))
    clock.pause(vn(2025, 4, 1, 9))
    carried = ClockLedger.model_validate(json.loads(json.dumps(clock.model_dump(mode="json"))))
    assert carried == clock
    assert read(carried) == read(clock)
    assert [e.kind for e in carried.entries] == [
        "start",
        "pause",
        "suspension",
        "start",
        "reschedule",
        "pause",
    ]
