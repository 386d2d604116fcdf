"""The oversight reports of API.md over real HTTP, on both databases: who may read them (R8 for
Home Affairs, R9 for inspectors), their JSON shapes, the CSV (UTF-8 with a BOM, Vietnamese
headers) and the Excel workbooks (sheets, bold frozen headers, number formats), and a refused SOS
made through the API showing in the audit with what was awaited (R4, R9)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from db.migrate import sync_calendar
from domain.localtime import VN, local_date
from tests.api.http_helpers import act, assert_problem, consult, receive, reply, when
from tests.fixtures.api import Api

REPORTS = [
    "/api/v1/reports/agency-delays",
    "/api/v1/reports/sos-audit",
    "/api/v1/reports/on-time",
    "/api/v1/reports/late-without-apology",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STOP = {"action": "stop", "reason": "Chờ ý kiến của Công an tỉnh"}
RESULT = {"outcome": "approved", "document_no": "12/GPXD", "summary": "Cấp giấy phép xây dựng"}
AGENCY_DELAY_FIELDS = {
    "agency", "consultations", "answered_on_time", "answered_late", "overdue_unanswered",
    "reminders_1", "reminders_2", "delay_working_days_total", "delay_working_days_max",
    "late_without_cause",
}  # fmt: skip
SOS_AUDIT_FIELDS = {
    "by_agency", "rejected", "closed_without_result", "withdrawals_without_head_confirmation",
    "abnormal_closes",
}  # fmt: skip


def this_week() -> dict[str, str]:
    """A period around today in Vietnam: what the test does now falls in it."""
    today = local_date(datetime.now(UTC))
    return {
        "from": (today - timedelta(days=3)).isoformat(),
        "to": (today + timedelta(days=3)).isoformat(),
    }


async def with_calendar(api: Api) -> None:
    """The working-day calendar around today, as `python -m db.migrate` writes it."""
    today = local_date(datetime.now(UTC))
    await sync_calendar(
        api.settings.database, first=today - timedelta(days=60), last=today + timedelta(days=400)
    )


async def report(api: Api, path: str, user: str, **params: Any) -> httpx.Response:
    return await api.get(path, user, **{**this_week(), **params})


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf"), response.content[:10]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def attachment(response: httpx.Response, path: str, extension: str) -> None:
    """A download named after the report and its period."""
    disposition = response.headers["content-disposition"]
    period = this_week()
    assert disposition.startswith("attachment; filename=")
    assert f"{period['from']}_{period['to']}.{extension}" in disposition


# --- who may read what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        (REPORTS[0], ["snv.home_affairs", "vpubnd.inspector"], ["sxd.officer", "sxd.head"]),
        (REPORTS[1], ["vpubnd.inspector"], ["snv.home_affairs", "sxd.officer", "admin"]),
        (REPORTS[2], ["snv.home_affairs", "vpubnd.inspector"], ["cat.officer"]),
        (REPORTS[3], ["snv.home_affairs", "vpubnd.inspector"], ["stp.head"]),
    ],
    ids=["agency_delays", "sos_audit", "on_time", "late_without_apology"],
)
async def test_r8_r9_reports_are_for_home_affairs_and_inspectors(
    api: Api, path: str, allowed: list[str], refused: list[str]
) -> None:
    await with_calendar(api)

    for user in allowed:
        assert (await report(api, path, user)).status_code == 200, user
    for user in refused:
        assert_problem(await report(api, path, user), 403, "forbidden")
    assert_problem(await report(api, path, None), 401, "unauthenticated")


async def test_reports_need_a_period_of_dates_in_order(api: Api) -> None:
    path, user = REPORTS[0], "vpubnd.inspector"

    missing = assert_problem(await api.get(path, user, to="2025-01-31"), 422, "validation_error")
    assert any(e["loc"] == ["query", "from"] for e in missing["errors"])
    assert_problem(
        await api.get(path, user, **{"from": "2025-02-01", "to": "2025-01-31"}),
        422,
        "invalid_period",
    )
    assert_problem(
        await api.get(path, user, **{"from": "31/01/2025", "to": "2025-01-31"}),
        422,
        "validation_error",
    )
    assert_problem(await report(api, path, user, format="pdf"), 422, "validation_error")
    # A database nobody prepared with `python -m db.migrate` has no working-day calendar.
    assert_problem(await report(api, path, user), 503, "calendar_not_synced")


# --- R9: a refused SOS through the API is audited -------------------------------------------------


async def test_r9_sos_refused_through_the_api_shows_in_the_audit_with_what_was_awaited(
    api: Api,
) -> None:
    await with_calendar(api)
    code = (await receive(api))["code"]
    asked = await consult(api, code, "CAT")
    assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")

    answer = await report(api, REPORTS[1], "vpubnd.inspector")

    assert answer.status_code == 200, answer.text
    audit = answer.json()
    assert SOS_AUDIT_FIELDS <= set(audit)
    assert audit["by_agency"] == [{"agency": "SXD", "action": "stop", "accepted": 0, "rejected": 1}]
    (rejected,) = audit["rejected"]
    assert {k: rejected[k] for k in ("dossier", "actor", "action", "actor_agency", "code")} == {
        "dossier": code,
        "actor": "sxd.officer",
        "action": "stop",
        "actor_agency": "SXD",
        "code": "sos_rejected_awaiting_replies",
    }
    assert "CAT" in rejected["reason"]
    assert rejected["request_reason"] == STOP["reason"]
    ((awaited),) = rejected["awaiting"]
    assert (awaited["agency"], awaited["overdue"]) == ("CAT", False)
    assert when(awaited["deadline"]) == when(asked[0]["deadline"])
    assert when(rejected["at"]) <= datetime.now(UTC)
    assert (
        audit["closed_without_result"],
        audit["withdrawals_without_head_confirmation"],
        audit["abnormal_closes"],
        audit["rejected_total"],
        audit["next_cursor"],
    ) == (0, 0, 0, 1, None)

    workbook = await report(api, REPORTS[1], "vpubnd.inspector", format="xlsx")
    assert workbook.headers["content-type"] == XLSX
    attachment(workbook, REPORTS[1], "xlsx")
    sheets = load_workbook(io.BytesIO(workbook.content))
    assert sheets.sheetnames == ["Tổng hợp", "SOS theo cơ quan", "SOS bị từ chối"]
    attempts = sheets["SOS bị từ chối"]
    headers = [c.value for c in attempts[1]]
    assert headers[:3] == ["Mã hồ sơ", "Thời điểm", "Người thực hiện"]
    assert all(c.font.b for c in attempts[1])
    assert attempts.freeze_panes == "A2"
    at = attempts.cell(row=2, column=2)
    assert at.number_format == "dd/mm/yyyy hh:mm"
    assert at.value == when(rejected["at"]).astimezone(VN).replace(tzinfo=None, microsecond=0)
    assert attempts.cell(row=2, column=1).value == code
    assert attempts.cell(row=2, column=5).value == "Dừng xử lý"
    assert attempts.cell(row=2, column=9).value.startswith("CAT (hạn ")
    assert (attempts.column_dimensions["A"].width or 0) > len(code)
    summary = sheets["Tổng hợp"]
    assert [c.value for c in summary[1]] == ["Chỉ tiêu", "Số lượng"]
    assert summary.cell(row=5, column=2).value == 1  # the refused attempts
    assert summary.cell(row=5, column=2).number_format == "#,##0"
    by_agency = sheets["SOS theo cơ quan"]
    assert [c.value for c in by_agency[2]] == ["SXD", "Dừng xử lý", 0, 1]

    rows = csv_rows(await report(api, REPORTS[1], "vpubnd.inspector", format="csv"))
    assert rows[0] == ["Tổng hợp"]
    assert ["SOS bị từ chối"] in rows


# --- R8: consulted agencies' delays ---------------------------------------------------------------


async def test_r8_agency_delays_as_json_csv_and_xlsx(api: Api) -> None:
    await with_calendar(api)
    code = (await receive(api))["code"]
    await consult(api, code, "CAT", "SNNMT")
    await reply(api, code, "CAT", "cat.officer")

    answer = await report(api, REPORTS[0], "snv.home_affairs")

    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert (document["from"], document["to"], document["next_cursor"]) == (
        this_week()["from"],
        this_week()["to"],
        None,
    )
    items = {item["agency"]: item for item in document["items"]}
    assert list(items) == ["CAT", "SNNMT"]
    assert all(AGENCY_DELAY_FIELDS <= set(item) for item in items.values())
    assert {k: items["CAT"][k] for k in AGENCY_DELAY_FIELDS} == {
        "agency": "CAT", "consultations": 1, "answered_on_time": 1, "answered_late": 0,
        "overdue_unanswered": 0, "reminders_1": 0, "reminders_2": 0,
        "delay_working_days_total": 0, "delay_working_days_max": 0, "late_without_cause": 0,
    }  # fmt: skip
    assert (items["CAT"]["on_time_share"], items["SNNMT"]["on_time_share"]) == (1.0, None)
    assert items["SNNMT"]["awaiting"] == 1

    as_csv = await report(api, REPORTS[0], "snv.home_affairs", format="csv")
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    attachment(as_csv, REPORTS[0], "csv")
    header, cat, snnmt = csv_rows(as_csv)
    assert header[:4] == [
        "Mã cơ quan",
        "Cơ quan được xin ý kiến",
        "Số lượt xin ý kiến",
        "Trả lời đúng hạn",
    ]
    assert "Nhắc lần 2 (đồng gửi Sở Nội vụ)" in header
    assert (cat[0], cat[2], cat[3]) == ("CAT", "1", "1")
    assert cat[1] == items["CAT"]["agency_name"] and "Công an" in cat[1]
    assert snnmt[header.index("Tỷ lệ trả lời đúng hạn")] == ""

    as_xlsx = await report(api, REPORTS[0], "snv.home_affairs", format="xlsx")
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["Trễ hạn cơ quan phối hợp"]
    assert [c.value for c in sheet[1]] == header
    assert sheet.cell(row=2, column=3).number_format == "#,##0"
    assert sheet.cell(row=2, column=len(header)).number_format == "0.0%"
    assert sheet.cell(row=2, column=len(header)).value == 1.0


# --- R11 and R13: on time, and late without an apology --------------------------------------


async def test_r11_on_time_counts_a_dossier_handed_over_early(api: Api) -> None:
    await with_calendar(api)
    code = (await receive(api))["code"]
    assert (await act(api, code, "result", RESULT)).status_code == 200
    assert (await act(api, code, "handover", {"received_by": "Lê Văn Cường"})).status_code == 200

    answer = await report(api, REPORTS[2], "vpubnd.inspector")

    assert answer.status_code == 200, answer.text
    document = answer.json()
    (agency,) = document["by_agency"]
    (procedure,) = document["by_procedure"]
    assert (agency["lead_agency"], agency["closed"], agency["completed"], agency["early"]) == (
        "SXD", 1, 1, 1,
    )  # fmt: skip
    assert (agency["on_time"], agency["late"], agency["stopped"], agency["supplemented"]) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert agency["on_time_share"] == 1.0
    assert (procedure["procedure_code"], procedure["early"]) == ("DN-XD-001", 1)

    workbook = load_workbook(
        io.BytesIO((await report(api, REPORTS[2], "vpubnd.inspector", format="xlsx")).content)
    )
    assert workbook.sheetnames == ["Theo cơ quan chủ trì", "Theo thủ tục", "Theo nơi tiếp nhận"]
    headers = [c.value for c in workbook["Theo thủ tục"][1]]
    assert headers[:3] == ["Mã cơ quan chủ trì", "Mã thủ tục", "Tên thủ tục"]
    assert {"Trước hạn", "Đúng hạn", "Trễ hạn", "Có tạm dừng (tính riêng)"} <= set(headers)


async def completed_at(api: Api, desk_user: str) -> str:
    """A DN-XD-001 dossier of SXD received by `desk_user`'s desk, its result handed over."""
    code = str((await receive(api, user=desk_user))["code"])
    assert (await act(api, code, "result", RESULT)).status_code == 200
    assert (await act(api, code, "handover", {"received_by": "Lê Văn Cường"})).status_code == 200
    return code


DESK_SHEET = "Theo nơi tiếp nhận"
CENTRE = "Trung tâm Phục vụ hành chính công thành phố Đồng Nai"


async def test_r11_on_time_files_count_by_receiving_desk_in_a_sheet_and_a_csv_section(
    api: Api,
) -> None:
    """Decree 118/2025: the files hold the JSON's `by_desk` too, as the XLSX's third sheet and
    the CSV's third section, the lead's own receipts under it as a desk."""
    await with_calendar(api)
    for user in ("tthcc.officer", "tthcc.officer", "sxd.officer"):
        await completed_at(api, user)

    workbook = load_workbook(
        io.BytesIO((await report(api, REPORTS[2], "vpubnd.inspector", format="xlsx")).content)
    )
    header, *rows = [[c.value for c in row] for row in workbook[DESK_SHEET].iter_rows()]
    assert header[:3] == ["Mã nơi tiếp nhận", "Nơi tiếp nhận", "Hồ sơ đã kết thúc"]
    assert [row[:5] for row in rows] == [
        ["SXD", "Sở Xây dựng thành phố Đồng Nai", 1, 1, 1],
        ["TTHCC", CENTRE, 2, 2, 2],
    ]  # code, name, closed, completed, early
    assert workbook[DESK_SHEET]["C2"].number_format == "#,##0"

    lines = csv_rows(await report(api, REPORTS[2], "vpubnd.inspector", format="csv"))
    titles = [i for i, line in enumerate(lines) if line in (["Theo thủ tục"], [DESK_SHEET])]
    assert [lines[i - 1] for i in titles] == [[], []]  # each section after a blank line
    section = lines[titles[1] + 1 :]
    assert section[0][:2] == ["Mã nơi tiếp nhận", "Nơi tiếp nhận"]
    assert [line[:3] for line in section[1:]] == [
        ["SXD", "Sở Xây dựng thành phố Đồng Nai", "1"],
        ["TTHCC", CENTRE, "2"],
    ]


async def test_r13_late_without_apology_answers_a_page_and_files(api: Api) -> None:
    await with_calendar(api)

    answer = await report(api, REPORTS[3], "snv.home_affairs")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {**this_week(), "items": [], "next_cursor": None}
    header, *rows = csv_rows(await report(api, REPORTS[3], "snv.home_affairs", format="csv"))
    assert header[:2] == ["Mã hồ sơ", "Mã cơ quan chủ trì"]
    assert "Đã nhắc xin lỗi" in header and rows == []


async def test_openapi_serves_the_reports_with_their_file_formats(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()

    for path in REPORTS:
        operation = document["paths"][path]["get"]
        assert {"text/csv", XLSX} <= set(operation["responses"]["200"]["content"]), path
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["from"]["required"] and parameters["to"]["required"], path
        assert "format" in parameters
