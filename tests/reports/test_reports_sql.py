"""The oversight reports' SQL (`db.reports`) on SQLite and PostgreSQL, over rows written the way
the workflow writes them: dossiers built through the domain's own doors (`tests.unit.builders`:
`receive`, the rules, the `Dossier` methods, the real calendar), refusals recorded as the
workflow records them, and every change projected by the real `settle_dossier` activity.

A few rows show what the rules never let happen (a late answer without a cause, a dossier
completed without a result, a withdrawal without the head's confirmation): they are built by
calling the domain's methods without asking the rules first, as data from before a rule or
written around the workflow could look, because the reports must count them all the same.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import reports
from db.calendar_days import sync_calendar_days
from db.migrate import seed
from db.read_model import record_refusal_after_close
from domain import rules
from domain.commands import Action, SosAction
from domain.dossier import Dossier, Phase, refusal_detail
from sources.catalogue import load_catalogue
from tests.db.test_read_model import project, view
from tests.unit.builders import (
    CALENDAR,
    DISTRICT,
    DUE,
    ENV,
    FIRE,
    LEAD,
    NEW_DUE_DATE,
    PROCEDURE,
    apologise,
    apply,
    confirm_withdrawal,
    consult,
    dossier,
    hand_over,
    handover_command,
    officer,
    receive_supplement,
    record_result,
    remind,
    reply,
    reply_command,
    request_withdrawal,
    result_command,
    resume,
    ring,
    sos,
    sos_command,
    vn,
)

Sessions = async_sessionmaker[AsyncSession]

STP = "STP"
OTHER_PROCEDURE = PROCEDURE.model_copy(update={"code": "DN-LLTP-001", "lead_agency": STP})
LONG_CONSULTATION = PROCEDURE.model_copy(update={"max_consultation_days": 20})
NAMES = {a.code: a.name for a in load_catalogue().agencies}


@pytest.fixture
async def prepared(database_url: str, sessions: Sessions) -> Sessions:
    """The catalogue (agencies' names) and the calendar of 2024-2026, as `db.migrate` writes
    them."""
    await seed(database_url)
    async with sessions() as session:
        await sync_calendar_days(session, CALENDAR, date(2024, 1, 1), date(2026, 12, 31))
    return sessions


async def settle(sessions: Sessions, *dossiers: Dossier, now: datetime | None = None) -> None:
    for d in dossiers:
        await project(sessions, view(d, now=now))


# --- R8: consulted agencies' delays -------------------------------------------------------------

RECEIVED = vn(2025, 1, 20, 9)  # Monday 20/1/2025
ASKED = vn(2025, 1, 20, 10)
DEADLINE = vn(2025, 1, 24, 17)  # Friday before Tết (27/1 to 31/1 off)
AS_OF = vn(2025, 2, 7, 12)  # Friday 7/2/2025, when the report is asked for


def r8_corpus() -> list[Dossier]:
    """Consultations requested in January 2025 across Tết, and two around its ends."""
    a = dossier(code="R8-A", at=RECEIVED)
    consult(a, (FIRE, ENV, DISTRICT), at=ASKED, deadline=DEADLINE)
    reply(a, FIRE, at=vn(2025, 1, 23, 10))  # on time
    remind(a, 2)  # ENV's reminder 1, at the deadline
    remind(a, 3)  # the district's
    # Late by 2 working days (Monday 3/2 and Tuesday 4/2), with a cause.
    reply(a, ENV, at=vn(2025, 2, 4, 10), late_reason="Chờ kết quả kiểm tra thực địa")
    remind(a, 3)  # the district's reminder 2, on Tuesday 4/2 at 17:00: overdue 5 days at AS_OF

    b = dossier(code="R8-B", at=RECEIVED)
    consult(b, (ENV,), at=ASKED, deadline=DEADLINE)
    remind(b, 1)
    remind(b, 1)
    # Late by 4 working days with no cause (R7 refuses that now; older data may hold it).
    b.reply(reply_command(ENV), vn(2025, 2, 6, 10))

    c = dossier(code="R8-C", at=RECEIVED)
    consult(c, (FIRE,), at=ASKED, deadline=DEADLINE)
    remind(c, 1)
    request_withdrawal(c, at=vn(2025, 2, 3, 9))
    confirm_withdrawal(c, at=vn(2025, 2, 3, 10))  # R6: FIRE's consultation is cancelled

    # Asked at 23:30 on 31/1 in Vietnam (16:30 UTC): in January. Overdue 4 working days.
    d1 = dossier(code="R8-D1", at=vn(2025, 1, 31, 23))
    consult(d1, (DISTRICT,), at=vn(2025, 1, 31, 23, 30), deadline=vn(2025, 2, 3, 17))
    remind(d1, 1)
    remind(d1, 1)
    # Asked at 00:10 on 1/2 in Vietnam (still 31/1 in UTC): in February, not in the report.
    d2 = dossier(code="R8-D2", at=vn(2025, 2, 1, 0, 5))
    consult(d2, (DISTRICT,), at=vn(2025, 2, 1, 0, 10), deadline=vn(2025, 2, 4, 17))

    e = dossier(code="R8-E", at=vn(2025, 1, 30, 9), procedure=LONG_CONSULTATION)
    consult(e, (DISTRICT,), at=vn(2025, 1, 30, 10), deadline=vn(2025, 2, 20, 17))  # awaiting
    return [a, b, c, d1, d2, e]


async def test_r8_agency_delays_count_working_days_from_the_deadline(prepared: Sessions) -> None:
    corpus = r8_corpus()
    await settle(prepared, *corpus, now=AS_OF)

    async with prepared() as session:
        rows = await reports.agency_delays(
            session, start=date(2025, 1, 1), end=date(2025, 1, 31), now=AS_OF
        )

    figures = {r.agency: r.model_dump(exclude={"agency"}) for r in rows}
    assert list(figures) == sorted([FIRE, ENV, DISTRICT])
    assert figures[FIRE] == {
        "agency_name": None,  # not in the catalogue: the builders' own code
        "consultations": 2, "answered_on_time": 1, "answered_late": 0, "overdue_unanswered": 0,
        "awaiting": 0, "cancelled": 1, "reminders_1": 1, "reminders_2": 0,
        "delay_working_days_total": 0, "delay_working_days_max": 0, "late_without_cause": 0,
        "on_time_share": 1.0,
    }  # fmt: skip
    assert figures[ENV] == {
        "agency_name": NAMES[ENV],
        "consultations": 2, "answered_on_time": 0, "answered_late": 2, "overdue_unanswered": 0,
        "awaiting": 0, "cancelled": 0, "reminders_1": 2, "reminders_2": 1,
        "delay_working_days_total": 2 + 4, "delay_working_days_max": 4, "late_without_cause": 1,
        "on_time_share": 0.0,
    }  # fmt: skip
    assert figures[DISTRICT] == {
        "agency_name": None,
        "consultations": 3, "answered_on_time": 0, "answered_late": 0, "overdue_unanswered": 2,
        "awaiting": 1, "cancelled": 0, "reminders_1": 2, "reminders_2": 2,
        "delay_working_days_total": 5 + 4, "delay_working_days_max": 5, "late_without_cause": 0,
        "on_time_share": 0.0,
    }  # fmt: skip


async def test_r8_delays_are_the_calendars_working_days(prepared: Sessions) -> None:
    """Each agency's total is the sum of `working_days_between` over its consultations: from
    the deadline to the answer if late, to now if overdue and unanswered."""
    corpus = r8_corpus()[:4]  # the January ones without an awaiting consultation
    await settle(prepared, *corpus, now=AS_OF)
    expected: dict[str, list[int]] = {}
    for d in corpus:
        for c in d.consultations:
            if c.outcome == "cancelled":
                continue
            end = c.replied_at or AS_OF
            if end > c.deadline:
                expected.setdefault(c.agency, []).append(
                    CALENDAR.working_days_between(c.deadline, end)
                )

    async with prepared() as session:
        rows = await reports.agency_delays(
            session, start=date(2025, 1, 1), end=date(2025, 1, 31), now=AS_OF
        )

    assert {r.agency: (r.delay_working_days_total, r.delay_working_days_max) for r in rows} == {
        agency: (sum(delays), max(delays)) for agency, delays in expected.items()
    } | {FIRE: (0, 0)}


async def test_r8_an_empty_period_has_no_rows_and_a_missing_calendar_is_named(
    sessions: Sessions,
) -> None:
    await settle(sessions, *r8_corpus(), now=AS_OF)

    async with sessions() as session:
        with pytest.raises(reports.CalendarNotSynced, match=r"db\.migrate"):
            await reports.agency_delays(
                session, start=date(2025, 1, 1), end=date(2025, 1, 31), now=AS_OF
            )
        await sync_calendar_days(session, CALENDAR, date(2025, 1, 1), date(2025, 12, 31))
        empty = await reports.agency_delays(
            session, start=date(2025, 3, 1), end=date(2025, 3, 31), now=AS_OF
        )
        with pytest.raises(ValueError, match="before it starts"):
            await reports.agency_delays(
                session, start=date(2025, 3, 1), end=date(2025, 2, 1), now=AS_OF
            )

    assert empty == []


# --- R9: the SOS audit ---------------------------------------------------------------------------


def refuse_sos(d: Dossier, action: SosAction, at: datetime) -> None:
    """An SOS the rules refuse, recorded as the workflow records it (R9)."""
    cmd = sos_command(action)
    refusal = rules.admission(d, cmd) or rules.decide_sos(d, cmd, at)
    assert refusal is not None, f"SOS {action} was accepted"
    d.record_refusal(cmd, Action.SOS.value, refusal, at, "update")


def r9_corpus() -> list[Dossier]:
    """February 2025: SOS actions accepted and refused, and dossiers closed against the rules."""
    a = dossier(code="R9-A", at=vn(2025, 2, 3, 9))
    consult(a, (FIRE,), at=vn(2025, 2, 3, 10), deadline=vn(2025, 2, 6, 17))
    refuse_sos(a, SosAction.STOP, vn(2025, 2, 4, 9))  # R4: FIRE awaited, on time
    refuse_sos(a, SosAction.RETURN, vn(2025, 2, 7, 9))  # R4: FIRE awaited, overdue
    reply(a, FIRE, at=vn(2025, 2, 7, 10), late_reason="Thiếu cán bộ thẩm định")
    sos(a, SosAction.STOP, at=vn(2025, 2, 7, 11))
    refuse_sos(a, SosAction.STOP, vn(2025, 3, 3, 9))  # stopped already; in March

    b = dossier(code="R9-B", at=vn(2025, 2, 3, 9), procedure=OTHER_PROCEDURE)
    apply(b, sos_command(SosAction.SUPPLEMENT, by=officer(STP)), vn(2025, 2, 5, 9))

    c = dossier(code="R9-C", at=vn(2025, 2, 3, 9))
    sos(c, SosAction.RETURN, at=vn(2025, 2, 5, 10))

    d = dossier(code="R9-D", at=vn(2025, 2, 3, 9))
    d.hand_over(handover_command(), vn(2025, 2, 10, 9))  # completed without a result (R5)

    e = dossier(code="R9-E", at=vn(2025, 2, 3, 9))
    request_withdrawal(e, at=vn(2025, 2, 4, 9))
    e.phase, e.closed_at = Phase.WITHDRAWN, vn(2025, 2, 11, 9)  # no head's confirmation (R6)

    f = dossier(code="R9-F", at=vn(2025, 2, 3, 9))
    f.close_abnormally("cancelled", vn(2025, 2, 12, 9))

    g = dossier(code="R9-G", at=vn(2025, 2, 3, 9))  # completed by the rules
    record_result(g, at=vn(2025, 2, 10, 9))
    hand_over(g, at=vn(2025, 2, 10, 10))
    h = dossier(code="R9-H", at=vn(2025, 2, 3, 9))  # withdrawn by the rules
    request_withdrawal(h, at=vn(2025, 2, 4, 9))
    confirm_withdrawal(h, at=vn(2025, 2, 4, 10))
    return [a, b, c, d, e, f, g, h]


async def r9_settled(sessions: Sessions) -> None:
    await settle(sessions, *r9_corpus())
    # An SOS stop on the returned dossier, refused by the API itself (its workflow has ended).
    cmd = sos_command(SosAction.STOP)
    refusal = rules.decide_after_close("returned", Action.SOS, None)
    async with sessions() as session:
        await record_refusal_after_close(
            session,
            "R9-C",
            vn(2025, 2, 6, 9),
            cmd.actor.user_id,
            refusal_detail(cmd, Action.SOS.value, refusal, via="api"),
        )


async def test_r9_sos_audit_counts_accepted_and_refused_per_agency_and_lists_each_refusal(
    prepared: Sessions,
) -> None:
    await r9_settled(prepared)

    async with prepared() as session:
        audit = await reports.sos_audit(session, start=date(2025, 2, 1), end=date(2025, 2, 28))

    assert [(s.agency, s.action, s.accepted, s.rejected) for s in audit.by_agency] == [
        (STP, "supplement", 1, 0),
        (LEAD, "return", 1, 1),
        (LEAD, "stop", 1, 2),
    ]
    officer_id = officer().user_id
    assert [
        (r.dossier, r.at, r.actor, r.actor_agency, r.action, r.code) for r in audit.rejected
    ] == [
        ("R9-A", vn(2025, 2, 4, 9), officer_id, LEAD, "stop", "sos_rejected_awaiting_replies"),
        ("R9-C", vn(2025, 2, 6, 9), officer_id, LEAD, "stop", "dossier_closed"),
        ("R9-A", vn(2025, 2, 7, 9), officer_id, LEAD, "return", "sos_rejected_awaiting_replies"),
    ]
    first, closed, second = audit.rejected
    assert [(a.agency, a.deadline, a.overdue) for a in first.awaiting] == [
        (FIRE, vn(2025, 2, 6, 17), False)
    ]
    assert [(a.agency, a.overdue) for a in second.awaiting] == [(FIRE, True)]
    assert closed.awaiting == []
    assert first.reason and "đang chờ ý kiến" in first.reason
    assert first.request_reason == "Hồ sơ cần làm rõ"
    assert (
        audit.closed_without_result,
        audit.withdrawals_without_head_confirmation,
        audit.abnormal_closes,
        audit.rejected_total,
    ) == (1, 1, 1, 3)


async def test_r9_sos_audit_pages_its_refusals_and_keeps_to_the_period(
    prepared: Sessions,
) -> None:
    await r9_settled(prepared)

    async with prepared() as session:
        whole = await reports.sos_audit(session, start=date(2025, 2, 1), end=date(2025, 2, 28))
        pages = []
        after = None
        while page := (
            await reports.sos_audit(
                session,
                start=date(2025, 2, 1),
                end=date(2025, 2, 28),
                rejected_limit=2,
                rejected_after=after,
            )
        ).rejected:
            pages.append(page)
            after = (page[-1].at, page[-1].dossier, page[-1].seq)
        march = await reports.sos_audit(session, start=date(2025, 3, 1), end=date(2025, 3, 31))

    assert [len(p) for p in pages] == [2, 1]
    assert [r for p in pages for r in p] == whole.rejected
    assert [(s.agency, s.action, s.accepted, s.rejected) for s in march.by_agency] == [
        (LEAD, "stop", 0, 1)
    ]
    assert march.rejected[0].code == "not_allowed_in_status"
    assert (march.closed_without_result, march.abnormal_closes) == (0, 0)


# --- R11: early, on time, late, stopped, supplemented -------------------------------------------


def on_time_corpus() -> list[Dossier]:
    """March 2025, dossiers received on Monday 3/3 at 09:00 and due on Monday 24/3 at 17:00."""
    early = dossier(code="T-EARLY")
    record_result(early, at=vn(2025, 3, 19, 9))
    hand_over(early, at=vn(2025, 3, 20, 9))

    on_time = dossier(code="T-ON-TIME")
    record_result(on_time, at=vn(2025, 3, 24, 8))
    hand_over(on_time, at=vn(2025, 3, 24, 10))

    late = dossier(code="T-LATE")
    ring(late)  # R13's notice to the lead agency, on Friday 21/3
    ring(late)  # late at 17:00 on 24/3
    record_result(late, at=vn(2025, 3, 25, 9))
    hand_over(late, at=vn(2025, 3, 26, 9))

    late_same_day = dossier(code="T-LATE-SAME-DAY")  # on the due date, but after 17:00
    ring(late_same_day)
    ring(late_same_day)
    record_result(late_same_day, at=vn(2025, 3, 24, 17, 10))
    hand_over(late_same_day, at=vn(2025, 3, 24, 17, 30))

    stopped = dossier(code="T-STOPPED")  # one working day stopped: due on 25/3
    sos(stopped, SosAction.STOP, at=vn(2025, 3, 4, 9))
    resume(stopped, at=vn(2025, 3, 5, 9))
    assert stopped.due_at == vn(2025, 3, 25, 17)
    record_result(stopped, at=vn(2025, 3, 25, 9))
    hand_over(stopped, at=vn(2025, 3, 25, 10))  # on its (pushed) due date: not "on time"

    supplemented = dossier(code="T-SUPPLEMENTED")  # the clock restarts on 4/3: due on 25/3
    sos(supplemented, SosAction.SUPPLEMENT, at=vn(2025, 3, 3, 10))
    receive_supplement(supplemented, at=vn(2025, 3, 4, 9))
    record_result(supplemented, at=vn(2025, 3, 19, 9))
    hand_over(supplemented, at=vn(2025, 3, 20, 9))

    apologised = dossier(code="T-APOLOGISED")  # a new date, 28/3, and handed over before it
    apologise(apologised, NEW_DUE_DATE, at=vn(2025, 3, 4, 9))
    record_result(apologised, at=vn(2025, 3, 27, 9))
    hand_over(apologised, at=vn(2025, 3, 27, 10))

    returned = dossier(code="T-RETURNED")
    sos(returned, SosAction.RETURN, at=vn(2025, 3, 5, 9))
    withdrawn = dossier(code="T-WITHDRAWN")
    request_withdrawal(withdrawn, at=vn(2025, 3, 5, 9))
    confirm_withdrawal(withdrawn, at=vn(2025, 3, 5, 10))
    abnormal = dossier(code="T-ABNORMAL")
    abnormal.close_abnormally("cancelled", vn(2025, 3, 6, 9))

    other = dossier(code="T-STP", procedure=OTHER_PROCEDURE)
    apply(other, result_command(by=officer(STP)), vn(2025, 3, 24, 9))
    apply(other, handover_command(by=officer(STP)), vn(2025, 3, 24, 11))

    april = dossier(code="T-APRIL")  # late in March, handed over in April
    ring(april)
    ring(april)
    record_result(april, at=vn(2025, 3, 31, 9))
    hand_over(april, at=vn(2025, 4, 1, 9))

    open_ = dossier(code="T-OPEN")  # not closed

    apologised_then_late = dossier(code="T-APOLOGISED-LATE")  # late after its apology
    apologise(apologised_then_late, NEW_DUE_DATE, at=vn(2025, 3, 4, 9))
    ring(apologised_then_late)
    assert apologised_then_late.late

    may = dossier(code="T-MAY", at=vn(2025, 4, 14, 9))  # late in May
    ring(may)
    ring(may)
    return [
        early, on_time, late, late_same_day, stopped, supplemented, apologised, returned,
        withdrawn, abnormal, other, april, open_, apologised_then_late, may,
    ]  # fmt: skip


async def test_r11_on_time_categories_keep_stopped_and_supplemented_dossiers_apart(
    prepared: Sessions,
) -> None:
    await settle(prepared, *on_time_corpus())

    async with prepared() as session:
        report = await reports.on_time(session, start=date(2025, 3, 1), end=date(2025, 3, 31))

    counts = {"on_time_share"} | set(reports.OnTimeCounts.model_fields)
    assert [
        (p.lead_agency, p.procedure_code, p.model_dump(include=counts)) for p in report.by_procedure
    ] == [
        (
            STP,
            OTHER_PROCEDURE.code,
            {
                "closed": 1, "completed": 1, "early": 0, "on_time": 1, "late": 0, "stopped": 0,
                "supplemented": 0, "returned": 0, "withdrawn": 0, "abnormal": 0,
                "apologised": 0, "on_time_share": 1.0,
            },
        ),
        (
            LEAD,
            PROCEDURE.code,
            {
                "closed": 10, "completed": 7, "early": 2, "on_time": 1, "late": 2, "stopped": 1,
                "supplemented": 1, "returned": 1, "withdrawn": 1, "abnormal": 1,
                "apologised": 1, "on_time_share": round(3 / 7, 4),
            },
        ),
    ]  # fmt: skip
    assert report.by_procedure[1].procedure_name == PROCEDURE.name
    agencies = {a.lead_agency: a for a in report.by_agency}
    assert list(agencies) == [STP, LEAD]  # by code
    assert agencies[LEAD].agency_name == NAMES[LEAD]
    assert agencies[LEAD].model_dump(include=counts) == report.by_procedure[1].model_dump(
        include=counts
    )


async def test_r11_an_agency_sums_its_procedures(prepared: Sessions) -> None:
    second = PROCEDURE.model_copy(update={"code": "DN-XD-002", "name": "Gia hạn giấy phép"})
    a = dossier(code="S-1")
    record_result(a, at=vn(2025, 3, 10, 9))
    hand_over(a, at=vn(2025, 3, 10, 10))
    b = dossier(code="S-2", procedure=second)
    sos(b, SosAction.STOP, at=vn(2025, 3, 4, 9))
    resume(b, at=vn(2025, 3, 5, 9))
    record_result(b, at=vn(2025, 3, 10, 9))
    hand_over(b, at=vn(2025, 3, 10, 10))
    await settle(prepared, a, b)

    async with prepared() as session:
        report = await reports.on_time(session, start=date(2025, 3, 1), end=date(2025, 3, 31))

    assert [(p.procedure_code, p.early, p.stopped) for p in report.by_procedure] == [
        (PROCEDURE.code, 1, 0),
        ("DN-XD-002", 0, 1),
    ]
    (sxd,) = report.by_agency
    assert (sxd.closed, sxd.completed, sxd.early, sxd.stopped, sxd.on_time_share) == (
        2, 2, 1, 1, 0.5,
    )  # fmt: skip


# --- R13: late without an apology -----------------------------------------------------------------


async def test_r13_late_without_apology_lists_the_dossiers_that_went_late_unapologised(
    prepared: Sessions,
) -> None:
    await settle(prepared, *on_time_corpus())

    async with prepared() as session:
        listed = await reports.late_without_apology(
            session, start=date(2025, 3, 1), end=date(2025, 3, 31)
        )
        first = await reports.late_without_apology(
            session, start=date(2025, 3, 1), end=date(2025, 3, 31), limit=2
        )
        rest = await reports.late_without_apology(
            session,
            start=date(2025, 3, 1),
            end=date(2025, 3, 31),
            limit=2,
            after=(first[-1].late_at, first[-1].dossier),
        )

    assert [(r.dossier, r.status, r.due_at, r.late_at) for r in listed] == [
        ("T-APRIL", "completed", DUE, DUE),
        ("T-LATE", "completed", DUE, DUE),
        ("T-LATE-SAME-DAY", "completed", DUE, DUE),
    ]
    assert all(r.apology_reminder_sent for r in listed)
    assert all((r.lead_agency, r.procedure_code) == (LEAD, PROCEDURE.code) for r in listed)
    assert first + rest == listed
