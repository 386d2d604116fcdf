"""API.md's dossier table, row by row, over real HTTP: each call's success with what a following
GET shows (read-your-writes), and each of its refusals with its status, stable `code` and the
extension members API.md names. Refused SOS, result and handover are in the timeline (R9)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from settings import Settings
from sources.calendar import CalendarSource
from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    deadline_in,
    dossier,
    new_code,
    notices,
    receive,
    refused,
    reply,
    sleep_until,
    when,
)
from tests.fixtures.api import APPLICANT, Api

CALENDAR = CalendarSource(Settings().calendar_overrides).calendar()  # the API fixture's

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DOCUMENT = "Đơn đề nghị cấp giấy phép xây dựng"  # one of DN-XD-001's required documents
STOP = {"action": "stop", "reason": "Chờ kết quả thẩm định"}
SUPPLEMENT = {"action": "supplement", "reason": "Thiếu đơn", "missing_documents": [DOCUMENT]}
RETURN = {"action": "return", "reason": "Không đủ điều kiện"}
RESULT = {"outcome": "approved", "document_no": "123/GPXD", "summary": "Cấp phép"}
WITHDRAWAL = {"reason": "Người nộp xin rút", "application_ref": "DON-01"}
SIGNED = {"signature_ref": "KY-01"}


def local_date(value: str) -> date:
    return when(value).astimezone(VN).date()


# --- POST /api/v1/dossiers ------------------------------------------------------------------


async def test_receipt_answers_201_processing_with_due_date_and_national_status(api: Api) -> None:
    answer = await api.post(
        "/api/v1/dossiers", {"procedure_code": "DN-XD-001", "applicant": APPLICANT}
    )

    assert answer.status_code == 201, answer.text
    received = answer.json()
    api.created.append(received["code"])
    assert received["status"] == "processing"
    assert received["national_status"] == {"code": 4, "label": "Đang xử lý"}
    assert (received["procedure_code"], received["lead_agency"]) == ("DN-XD-001", "SXD")
    assert received["applicant"]["name"] == APPLICANT["name"]
    assert received["applicant"]["phone"] == APPLICANT["phone"]
    assert received["completed_at"] is None and received["late"] is False
    assert received["consultations"] == []
    assert [e["kind"] for e in received["events"]] == ["received"]
    # R11: 20 working days, due at the close of a working day in Vietnam.
    due = when(received["due_at"])
    assert timedelta(days=26) <= due - when(received["received_at"]) <= timedelta(days=60)
    assert due.astimezone(VN).hour == 17
    assert await dossier(api, received["code"]) == received  # read-your-writes


async def test_receipt_refusals(api: Api) -> None:
    unknown = await api.post(
        "/api/v1/dossiers", {"procedure_code": "DN-KHONG-CO", "applicant": APPLICANT}
    )
    assert assert_problem(unknown, 422, "unknown_procedure")["procedure_code"] == "DN-KHONG-CO"

    for outsider in ("cat.officer", "stp.officer", "snv.home_affairs", "admin"):
        body = {"procedure_code": "DN-XD-001", "applicant": APPLICANT, "code": new_code()}
        refused_receipt = await api.post("/api/v1/dossiers", body, outsider)
        if outsider == "admin":  # of the provincial centre, a desk (Decree 118), but no officer
            assert_problem(refused_receipt, 403, "forbidden")
        else:
            problem = assert_problem(refused_receipt, 403, "not_lead_agency")
            assert problem["lead_agency"] == "SXD"
        assert (await api.get(f"/api/v1/dossiers/{body['code']}")).status_code == 404

    first = await receive(api)
    again = await api.post(
        "/api/v1/dossiers",
        {"procedure_code": "DN-XD-001", "applicant": {"name": "Người khác"}, "code": first["code"]},
    )
    assert_problem(again, 409, "dossier_exists")
    assert await dossier(api, first["code"]) == first  # the first one is untouched


# --- GET /api/v1/dossiers/{code} ----------------------------------------------------------------


async def test_reading_a_dossier_is_for_the_lead_consulted_agencies_and_oversight(
    api: Api,
) -> None:
    assert_problem(await api.get(f"/api/v1/dossiers/{new_code()}"), 404, "dossier_not_found")
    received = await receive(api)
    path = f"/api/v1/dossiers/{received['code']}"
    for stranger in ("stp.officer", "stp.head", "cat.officer", "admin"):
        assert_problem(await api.get(path, stranger), 403, "forbidden")
    for allowed in ("sxd.officer", "sxd.head", "snv.home_affairs", "vpubnd.inspector"):
        assert (await api.get(path, allowed)).status_code == 200, allowed

    await consult(api, received["code"], "CAT")

    as_consulted = await api.get(path, "cat.officer")
    assert as_consulted.status_code == 200
    assert [c["agency"] for c in as_consulted.json()["consultations"]] == ["CAT"]
    assert_problem(await api.get(path, "snnmt.officer"), 403, "forbidden")


# --- POST …/consultations -------------------------------------------------------------------------


async def test_r1_r2_consultation_refusals_then_accepted(api: Api) -> None:
    code = (await receive(api))["code"]
    path = f"/api/v1/dossiers/{code}/consultations"

    async def attempt(body: dict[str, Any], user: str = "sxd.officer") -> Any:
        return await api.post(path, {"agencies": ["CAT"], "content": "Xin ý kiến", **body}, user)

    assert_problem(
        await attempt({"content": "  ", "deadline": deadline_in(3600)}), 422, "content_required"
    )
    assert_problem(await attempt({}), 422, "deadline_required")
    assert_problem(await attempt({"deadline": deadline_in(-60)}), 422, "deadline_in_past")
    beyond = assert_problem(
        await attempt({"deadline": deadline_in(30 * 86400)}), 422, "deadline_beyond_maximum"
    )
    maximum = when(beyond["maximum"])  # R2: the error says the latest deadline allowed
    assert (
        datetime.now(UTC) + timedelta(days=7) <= maximum <= datetime.now(UTC) + timedelta(days=20)
    )
    assert beyond["max_days"] == 7
    just_past = (maximum + timedelta(seconds=1)).isoformat()
    assert_problem(await attempt({"deadline": just_past}), 422, "deadline_beyond_maximum")
    unknown = assert_problem(
        await attempt({"agencies": ["KHONG-CO"], "deadline": deadline_in(3600)}),
        422,
        "unknown_agency",
    )
    assert unknown["agencies"] == ["KHONG-CO"]
    own = await attempt({"agencies": ["SXD"], "deadline": deadline_in(3600)})
    assert assert_problem(own, 422, "unknown_agency")["agencies"] == ["SXD"]
    outsider = await attempt({"deadline": deadline_in(3600)}, "cat.officer")
    assert_problem(outsider, 403, "forbidden")  # no part in the dossier (yet): told nothing
    assert (await dossier(api, code))["consultations"] == []

    accepted = await attempt({"deadline": maximum.isoformat()})  # the maximum itself is allowed

    assert accepted.status_code == 201, accepted.text
    [asked] = accepted.json()["consultations"]
    assert (asked["agency"], asked["status"], asked["content"]) == ("CAT", "awaiting", "Xin ý kiến")
    assert when(asked["deadline"]) == maximum
    assert asked["replied_at"] is None and asked["reminders"] == []
    shown = await dossier(api, code)
    assert shown["status"] == "consulting"
    assert shown["national_status"]["code"] == 4
    assert shown["consultations"] == [asked]
    busy = await attempt({"agencies": ["SNNMT", "CAT"], "deadline": deadline_in(3600)})
    assert assert_problem(busy, 409, "already_consulting")["agencies"] == ["CAT"]
    assert len((await dossier(api, code))["consultations"]) == 1


# --- POST …/consultations/{agency}/reply ------------------------------------------------------


async def test_r2_reply_refusals_then_answered(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")

    def path(agency: str) -> str:
        return f"consultations/{agency}/reply"

    opinion = {"opinion": "Đồng ý"}
    stranger = await act(api, code, path("CAT"), opinion, "snnmt.officer")
    assert_problem(stranger, 403, "forbidden")  # SNNMT has no part in this dossier
    not_yours = await act(api, code, path("CAT"), opinion, "sxd.officer")
    assert assert_problem(not_yours, 403, "not_your_consultation")["agency"] == "CAT"
    not_asked = await act(api, code, path("SXD"), opinion, "sxd.officer")
    assert assert_problem(not_asked, 404, "consultation_not_found")["agency"] == "SXD"
    empty = await act(api, code, path("CAT"), {"opinion": " "}, "cat.officer")
    assert_problem(empty, 422, "opinion_required")

    answered = await reply(api, code, "CAT", "cat.officer")

    [consultation] = answered["consultations"]
    assert (consultation["status"], consultation["opinion"]) == ("answered", "Đồng ý")
    assert consultation["replied_at"] and consultation["late_reason"] is None
    assert answered["status"] == "processing"
    assert await dossier(api, code) == answered
    again = await act(api, code, path("CAT"), opinion, "cat.officer")
    assert_problem(again, 409, "already_answered")


# --- POST …/sos and …/result while replies are awaited (R4, R5, R7) ------------------------


async def test_r4_r5_r7_sos_and_result_refused_while_replies_awaited_on_time_or_overdue(
    api: Api,
) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")
    [snnmt] = await consult(api, code, "SNNMT", in_seconds=3)

    async def refusals(overdue: dict[str, bool]) -> None:
        for body in (STOP, SUPPLEMENT, RETURN):
            problem = assert_problem(
                await act(api, code, "sos", body), 409, "sos_rejected_awaiting_replies"
            )
            assert {a["agency"]: a["overdue"] for a in problem["awaiting"]} == overdue
            assert all(set(a) == {"agency", "deadline", "overdue"} for a in problem["awaiting"])
        result = assert_problem(
            await act(api, code, "result", RESULT), 409, "consultations_awaiting"
        )
        assert {a["agency"]: a["overdue"] for a in result["awaiting"]} == overdue

    await refusals({"CAT": False, "SNNMT": False})
    await sleep_until(snnmt["deadline"])
    await refusals({"CAT": False, "SNNMT": True})

    shown = await dossier(api, code)
    assert shown["status"] == "consulting"
    sos_refusals = refused(shown, "sos")
    assert [e["detail"]["code"] for e in sos_refusals] == ["sos_rejected_awaiting_replies"] * 6
    assert all(e["actor"] == "sxd.officer" and e["at"] for e in sos_refusals)
    assert [e["detail"]["code"] for e in refused(shown, "result")] == ["consultations_awaiting"] * 2

    # R7: the overdue agency answers only with a cause.
    no_cause = await act(
        api, code, "consultations/SNNMT/reply", {"opinion": "Đồng ý"}, "snnmt.officer"
    )
    assert when(assert_problem(no_cause, 422, "late_reason_required")["deadline"]) == when(
        snnmt["deadline"]
    )
    late = await reply(api, code, "SNNMT", "snnmt.officer", late_reason="Chờ hồ sơ địa chính")
    answered_late = {c["agency"]: c for c in late["consultations"]}["SNNMT"]
    assert (answered_late["status"], answered_late["late_reason"]) == (
        "answered_late",
        "Chờ hồ sơ địa chính",
    )
    still = assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")
    assert [a["agency"] for a in still["awaiting"]] == ["CAT"]

    await reply(api, code, "CAT", "cat.officer")
    stopped = await act(api, code, "sos", STOP)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"


# --- POST …/sos: its own refusals, a supplement and its delivery (R10, R11) -------------------


async def test_r10_sos_request_refusals_supplement_once_and_its_delivery(api: Api) -> None:
    received = await receive(api)
    code = received["code"]

    no_reason = await act(api, code, "sos", {**STOP, "reason": " "})
    assert_problem(no_reason, 422, "reason_required")
    no_documents = await act(api, code, "sos", {**SUPPLEMENT, "missing_documents": []})
    assert_problem(no_documents, 422, "missing_documents_required")
    outside = await act(api, code, "sos", {**SUPPLEMENT, "missing_documents": ["Giấy khai sinh"]})
    problem = assert_problem(outside, 422, "document_not_in_procedure")
    assert problem["documents"] == ["Giấy khai sinh"]
    assert DOCUMENT in problem["required_documents"]
    assert [e["detail"]["code"] for e in refused(await dossier(api, code), "sos")] == [
        "reason_required",
        "missing_documents_required",
        "document_not_in_procedure",
    ]

    asked = await act(api, code, "sos", SUPPLEMENT)

    assert asked.status_code == 200, asked.text
    waiting = asked.json()
    assert waiting["status"] == "awaiting_supplement"
    assert waiting["national_status"]["code"] == 5
    assert waiting["due_at"] is None  # R11: the clock is stopped
    assert await dossier(api, code) == waiting
    [request] = await notices(api, dossier=code, kind="supplement_request")
    assert request["to"] == "applicant"
    twice = await act(api, code, "sos", SUPPLEMENT)
    assert_problem(twice, 409, "supplement_already_requested")
    assert_problem(await act(api, code, "supplement", {"documents": []}), 422, "documents_required")

    delivered = await act(api, code, "supplement", {"documents": [DOCUMENT]})

    assert delivered.status_code == 200, delivered.text
    back = delivered.json()
    assert back["status"] == "processing"
    assert when(back["due_at"]) >= when(received["due_at"])  # counted afresh from now
    restarts = [e for e in back["events"] if e["kind"] == "due_changed"]
    assert restarts[-1]["detail"]["cause"] == "supplement"
    assert when(restarts[-1]["detail"]["due_at"]) == when(back["due_at"])
    assert await dossier(api, code) == back
    once = await act(api, code, "sos", SUPPLEMENT)
    assert_problem(once, 409, "supplement_already_requested")  # R10: once per dossier


# --- stop, resume, withdrawal while stopped, return ---------------------------------------------


async def test_stop_resume_then_withdrawal_allowed_while_stopped(api: Api) -> None:
    received = await receive(api)
    code = received["code"]

    stopped = await act(api, code, "sos", STOP)

    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["national_status"]["code"] == 8
    assert await dossier(api, code) == stopped.json()
    [stop_notice] = await notices(api, dossier=code, kind="stop_notice")
    assert stop_notice["to"] == "applicant"

    resumed = await act(api, code, "resume", {"reason": "Đã có kết quả thẩm định"})

    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "processing"
    assert when(resumed.json()["due_at"]) >= when(received["due_at"])
    assert await dossier(api, code) == resumed.json()

    assert (await act(api, code, "sos", STOP)).status_code == 200
    pending = await act(api, code, "withdrawal", WITHDRAWAL)
    assert pending.status_code == 202, pending.text
    withdrawn = await act(api, code, "withdrawal/confirm", SIGNED, "sxd.head")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"


async def test_sos_return_closes_the_dossier(api: Api) -> None:
    code = (await receive(api))["code"]

    returned = await act(api, code, "sos", RETURN)

    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    assert returned.json()["national_status"]["code"] == 3
    assert await dossier(api, code) == returned.json()
    [notice] = await notices(api, dossier=code, kind="return_notice")
    assert notice["to"] == "applicant"


# --- POST …/apology (R13) -----------------------------------------------------------------------


async def test_r13_apology_sets_the_new_due_date_once_and_notifies_the_applicant(api: Api) -> None:
    received = await receive(api)
    code = received["code"]
    due = local_date(received["due_at"])

    same_day = await act(api, code, "apology", {"reason": "Chậm", "new_due_date": due.isoformat()})
    assert when(assert_problem(same_day, 422, "new_due_date_not_later")["due_at"]) == when(
        received["due_at"]
    )

    # Two weeks on, the first working day: a Sunday or holiday is refused, with its reason.
    new_date = due + timedelta(days=14)
    sunday = new_date + timedelta(days=6 - new_date.weekday())
    closed_day = await act(
        api, code, "apology", {"reason": "Chờ thẩm định", "new_due_date": str(sunday)}
    )
    problem = assert_problem(closed_day, 422, "new_due_date_not_working_day")
    assert problem["new_due_date"] == str(sunday)
    while not CALENDAR.is_working_day(new_date):
        new_date += timedelta(days=1)
    given = await act(
        api, code, "apology", {"reason": "Chờ thẩm định", "new_due_date": str(new_date)}
    )

    assert given.status_code == 200, given.text
    assert local_date(given.json()["due_at"]) == new_date
    assert await dossier(api, code) == given.json()
    [apology] = await notices(api, dossier=code, kind="apology")
    assert apology["to"] == "applicant"
    later = str(new_date + timedelta(days=7))
    again = await act(api, code, "apology", {"reason": "Lại chậm", "new_due_date": later})
    assert_problem(again, 409, "apology_already_given")
    assert local_date((await dossier(api, code))["due_at"]) == new_date


# --- POST …/withdrawal and …/withdrawal/confirm (R6) ---------------------------------------------


async def test_r6_withdrawal_waits_for_the_head_of_the_lead_agency(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT", "SNNMT")
    assert_problem(
        await act(api, code, "withdrawal/confirm", SIGNED, "sxd.head"), 409, "no_pending_withdrawal"
    )

    pending = await act(api, code, "withdrawal", WITHDRAWAL)

    assert pending.status_code == 202, pending.text
    assert pending.json() == {"withdrawal": "pending_confirmation"}
    shown = await dossier(api, code)
    assert (shown["status"], shown["withdrawal"]) == ("consulting", "pending_confirmation")
    assert_problem(await act(api, code, "withdrawal", WITHDRAWAL), 409, "withdrawal_pending")
    refusal = await act(api, code, "withdrawal/confirm", SIGNED, "sxd.officer")
    problem = assert_problem(refusal, 403, "head_of_lead_agency_required")
    assert problem["lead_agency"] == "SXD"
    for not_a_party in ("stp.head", "vpubnd.inspector"):  # refused unrecorded
        refusal = await act(api, code, "withdrawal/confirm", SIGNED, not_a_party)
        assert_problem(refusal, 403, "forbidden")
    assert (await dossier(api, code))["status"] == "consulting"

    confirmed = await act(api, code, "withdrawal/confirm", SIGNED, "sxd.head")

    assert confirmed.status_code == 200, confirmed.text
    withdrawn = confirmed.json()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["national_status"]["code"] == 7
    assert [c["status"] for c in withdrawn["consultations"]] == ["cancelled", "cancelled"]
    assert await dossier(api, code) == withdrawn
    cancelled = await notices(api, dossier=code, kind="consultation_cancelled")
    assert sorted(n["to"] for n in cancelled) == ["CAT", "SNNMT"]
    [own] = await notices(api, "cat.officer", dossier=code, kind="consultation_cancelled")
    assert own["to"] == "CAT"
    [notice] = await notices(api, dossier=code, kind="withdrawal_notice")
    assert notice["to"] == "applicant"
    kinds = [e["kind"] for e in withdrawn["events"] if e["kind"] not in ("refused", "due_changed")]
    assert kinds[kinds.index("withdrawal") :] == [
        "withdrawal",
        "withdrawal_confirmed",
        "consultation_cancelled",
        "consultation_cancelled",
    ]
    assert [(e["detail"]["action"], e["detail"]["code"]) for e in refused(withdrawn)] == [
        ("confirm_withdrawal", "no_pending_withdrawal"),
        ("withdrawal", "withdrawal_pending"),
        ("confirm_withdrawal", "head_of_lead_agency_required"),
    ]


# --- POST …/result and …/handover (R5) ---------------------------------------------------------


async def test_r5_result_then_handover_completes_the_dossier(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")
    await reply(api, code, "CAT", "cat.officer")

    ready = await act(api, code, "result", RESULT)

    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "result_ready"
    assert ready.json()["national_status"]["code"] == 9
    assert ready.json()["completed_at"] is None
    assert await dossier(api, code) == ready.json()
    assert len(await notices(api, dossier=code, kind="result_ready")) == 1

    handed = await act(api, code, "handover", {"received_by": "Lê Văn Cường"})

    assert handed.status_code == 200, handed.text
    completed = handed.json()
    assert completed["status"] == "completed"
    assert completed["national_status"] == {"code": 10, "label": "Đã trả kết quả"}
    assert when(completed["completed_at"]) >= when(ready.json()["received_at"])
    assert await dossier(api, code) == completed


async def test_actions_on_an_unknown_dossier_answer_404(api: Api) -> None:
    for action, body in (("sos", STOP), ("result", RESULT), ("withdrawal", WITHDRAWAL)):
        assert_problem(await act(api, new_code(), action, body), 404, "dossier_not_found")


# --- R9: refused SOS, result and handover are in the timeline, closed dossiers included -------


async def test_r9_refusals_of_who_may_act_and_of_a_handover_without_result_are_recorded(
    api: Api,
) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")

    attempt = await act(api, code, "handover", {})
    assert not attempt.is_success
    consulted_sos = await act(api, code, "sos", STOP, "cat.officer")
    assert assert_problem(consulted_sos, 403, "not_lead_agency")["lead_agency"] == "SXD"
    foreign_result = await act(api, code, "result", RESULT, "stp.officer")
    assert_problem(foreign_result, 403, "forbidden")  # no part in it: not in its audit trail

    shown = await dossier(api, code)
    assert [(e["detail"]["action"], e["detail"]["code"], e["actor"]) for e in refused(shown)] == [
        ("handover", "no_result", "sxd.officer"),
        ("sos", "not_lead_agency", "cat.officer"),
    ]
    assert [e["detail"]["actor_agency"] for e in refused(shown)] == ["SXD", "CAT"]


async def test_r9_actions_on_a_closed_dossier_are_recorded_by_the_api(api: Api) -> None:
    code = (await receive(api))["code"]
    assert (await act(api, code, "result", RESULT)).status_code == 200
    assert (await act(api, code, "handover", {})).status_code == 200

    for action, body in (("sos", STOP), ("result", RESULT), ("handover", {})):
        attempt = await act(api, code, action, body)
        assert not attempt.is_success, attempt.text

    shown = await dossier(api, code)
    assert shown["status"] == "completed"
    closed = refused(shown)
    assert [(e["detail"]["action"], e["detail"]["code"]) for e in closed] == [
        ("sos", "dossier_closed"),
        ("result", "dossier_closed"),
        ("handover", "dossier_closed"),
    ]
    assert all(e["detail"]["via"] == "api" and e["actor"] == "sxd.officer" for e in closed)
    assert [e["seq"] for e in shown["events"]] == sorted({e["seq"] for e in shown["events"]})


# --- refusals that carry the dossier's status ---------------------------------------------------


Step = Callable[[Api, str], Awaitable[Any]]


def step(action: str, body: dict[str, Any], user: str = "sxd.officer") -> Step:
    async def run(api: Api, code: str) -> Any:
        response = await act(api, code, action, body, user)
        assert response.is_success, response.text

    return run


@dataclass
class StatusCase:
    code: str
    attempt: tuple[str, dict[str, Any]]
    setup: list[Step] = field(default_factory=list)
    dossier_status: str = "processing"


CONSULT_CAT = ("consultations", {"agencies": ["CAT"], "content": "Xin ý kiến"})
DONE = [step("result", RESULT), step("handover", {})]
STATUS_CASES = {
    "consult-while-stopped": StatusCase(
        "not_allowed_in_status", CONSULT_CAT, [step("sos", STOP)], "stopped"
    ),
    "stop-while-stopped": StatusCase(
        "not_allowed_in_status", ("sos", STOP), [step("sos", STOP)], "stopped"
    ),
    "result-while-awaiting-supplement": StatusCase(
        "not_allowed_in_status",
        ("result", RESULT),
        [step("sos", SUPPLEMENT)],
        "awaiting_supplement",
    ),
    "supplement-while-processing": StatusCase(
        "not_awaiting_supplement", ("supplement", {"documents": [DOCUMENT]})
    ),
    "resume-while-processing": StatusCase("not_stopped", ("resume", {"reason": "Tiếp tục"})),
    "handover-without-result": StatusCase("no_result", ("handover", {})),
    "consult-when-completed": StatusCase("dossier_closed", CONSULT_CAT, DONE, "completed"),
    "sos-when-completed": StatusCase("dossier_closed", ("sos", STOP), DONE, "completed"),
    "withdrawal-when-withdrawn": StatusCase(
        "dossier_closed",
        ("withdrawal", WITHDRAWAL),
        [step("withdrawal", WITHDRAWAL), step("withdrawal/confirm", SIGNED, "sxd.head")],
        "withdrawn",
    ),
}


@pytest.mark.parametrize("case", STATUS_CASES.values(), ids=STATUS_CASES.keys())
async def test_refusal_names_the_dossier_status(api: Api, case: StatusCase) -> None:
    """API.md: 409 `not_allowed_in_status` "and the current `status`", `dossier_closed` on a final
    status. RFC 9457 reserves the member `status` for the HTTP status, so the dossier's status is
    expected as `dossier_status` (API.md to say so)."""
    code = (await receive(api))["code"]
    for setup in case.setup:
        await setup(api, code)
    action, body = case.attempt
    if action == "consultations":
        body = {**body, "deadline": deadline_in(3600)}

    problem = assert_problem(await act(api, code, action, body), 409, case.code)

    assert problem["dossier_status"] == case.dossier_status
    assert (await dossier(api, code))["status"] == case.dossier_status


async def test_reply_to_a_cancelled_consultation_answers_consultation_cancelled(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")
    await step("withdrawal", WITHDRAWAL)(api, code)
    await step("withdrawal/confirm", SIGNED, "sxd.head")(api, code)

    late = await act(api, code, "consultations/CAT/reply", {"opinion": "Đồng ý"}, "cat.officer")

    assert_problem(late, 409, "consultation_cancelled")
