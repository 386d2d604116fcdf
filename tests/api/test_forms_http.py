"""`GET /api/v1/dossiers/{code}/forms/{01..06}.pdf` over real HTTP, on both databases: each form
of Circular 03/2025/TT-VPCP an A5 PDF whose Vietnamese text reads back exactly (its number, title
and legal basis) and whose QR code (form 01) scans to the dossier code; form 05 once per accepted
stop; 409 for a form that does not apply; the visibility of `GET /api/v1/dossiers/{code}`.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.api.http_helpers import act, assert_problem, consult, receive, reply, when
from tests.fixtures.api import APPLICANT, USERS, Api
from tests.forms.pdf_reading import assert_a5, qr_codes, text_of

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PDF = "application/pdf"
MOTTO = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
SXD = "Sở Xây dựng thành phố Đồng Nai"
DOCUMENT = "Đơn đề nghị cấp giấy phép xây dựng"  # one of DN-XD-001's required documents


BASIS = (
    "Căn cứ Nghị định số 118/2025/NĐ-CP ngày 09 tháng 6 năm 2025 của Chính phủ và Thông tư số "
    "03/2025/TT-VPCP ngày 15 tháng 9 năm 2025 của Văn phòng Chính phủ"
)


async def form(
    api: Api, code: str, number: str, user: str | None = "sxd.officer", **params: int
) -> httpx.Response:
    return await api.get(f"/api/v1/dossiers/{code}/forms/{number}.pdf", user, **params)


async def pdf_text(
    api: Api, code: str, number: str, user: str = "sxd.officer", stop: int | None = None
) -> str:
    """Form `number` (of stop `stop`), which must be served as an A5 PDF, as text."""
    answer = await form(api, code, number, user, **({"stop": stop} if stop else {}))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == PDF
    name = f"{code}-mau-{number}{f'-lan-{stop}' if stop else ''}.pdf"
    assert name in answer.headers["content-disposition"]
    assert_a5(answer.content)
    text = text_of(answer.content)
    # A dossier received today: Circular 03/2025's number and Decree 118/2025's basis.
    for expected in [*MOTTO, code, APPLICANT["name"], SXD, f"(Mẫu số {number} – Thông tư số 03"]:
        assert expected in text, (number, expected, text)
    assert BASIS in " ".join(text.split())
    return text


async def test_forms_01_and_06_of_a_completed_dossier(api: Api) -> None:
    received = await receive(api)
    code = received["code"]
    await consult(api, code, "SNNMT")
    await reply(api, code, "SNNMT", "snnmt.officer")
    result = {"outcome": "approved", "document_no": "12/GPXD", "summary": "Cấp phép"}
    assert (await act(api, code, "result", result)).status_code == 200
    assert (await act(api, code, "handover", {"received_by": "Lê Văn Cường"})).status_code == 200

    receipt = await form(api, code, "01")
    text = await pdf_text(api, code, "01")
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert f"Mã hồ sơ: {code}" in text
    assert f"Số điện thoại: {APPLICANT['phone']}" in text
    assert DOCUMENT in text
    due = when(received["due_at"]).astimezone(VN)
    assert f"Thời gian trả kết quả: 17 giờ 00 phút, ngày {due:%d/%m/%Y}" in text
    assert qr_codes(receipt.content) == [f"{api.settings.pages_address}/lookup?code={code}"]
    # Signed by the officer who received it, by the name the token gave, not the login.
    assert USERS["sxd.officer"].name in text and "sxd.officer" not in text

    slip = await pdf_text(api, code, "06", "vpubnd.inspector")
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in slip
    assert "Sở Nông nghiệp và Môi trường thành phố Đồng Nai" in slip  # the consulted agency by name
    for step in ["Tiếp nhận hồ sơ", "Xin ý kiến phối hợp", "Trả lời xin ý kiến"]:
        assert step in slip
    # The reply came within seconds of the request, before a deadline an hour later (on its day,
    # or the day before it near midnight); the result weeks before the due date.
    assert "Đúng hạn" in slip or slip.count("Trước hạn") == 2
    assert "Trước hạn" in slip and "Quá hạn" not in slip
    assert USERS["snnmt.officer"].name in slip  # who answered, by name


async def test_forms_02_to_05_only_once_they_apply(api: Api) -> None:
    code = (await receive(api))["code"]
    for number in ("02", "03", "04", "05"):
        problem = assert_problem(await form(api, code, number), 409, "form_not_applicable")
        assert problem["form"] == number and problem["dossier_status"] == "processing"
        assert problem["detail_vi"]

    supplement = {"action": "supplement", "reason": "Thiếu đơn", "missing_documents": [DOCUMENT]}
    assert (await act(api, code, "sos", supplement)).status_code == 200
    text = await pdf_text(api, code, "02")
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert f"1 {DOCUMENT}" in text and "Lý do: Thiếu đơn" in text

    apologised = await receive(api)
    due = when(apologised["due_at"]).astimezone(VN).date()
    new_date = due + timedelta(days=7)
    body = {"reason": "Chờ kết quả thẩm định", "new_due_date": new_date.isoformat()}
    assert (await act(api, apologised["code"], "apology", body)).status_code == 200
    text = await pdf_text(api, apologised["code"], "04")
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in " ".join(text.split())
    assert "Lý do chậm trễ: Chờ kết quả thẩm định" in text
    assert f"Ngày hẹn trả kết quả trước đây: 17 giờ 00 phút, ngày {due:%d/%m/%Y}" in text
    assert f"Ngày hẹn trả kết quả mới: 17 giờ 00 phút, ngày {new_date:%d/%m/%Y}" in text

    returned = (await receive(api))["code"]
    back = {"action": "return", "reason": "Không thuộc thẩm quyền"}
    assert (await act(api, returned, "sos", back)).status_code == 200
    text = await pdf_text(api, returned, "03")
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Lý do: Không thuộc thẩm quyền" in text


async def test_forms_are_served_to_those_who_may_see_the_dossier(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")

    for user in ("sxd.officer", "sxd.head", "cat.officer", "snv.home_affairs", "vpubnd.inspector"):
        answer = await form(api, code, "06", user)
        assert (answer.status_code, answer.headers["content-type"]) == (200, PDF), user
    for outsider in ("stp.officer", "snnmt.officer", "admin"):
        assert_problem(await form(api, code, "01", outsider), 403, "forbidden")
    assert_problem(await form(api, "T-khong-co-ho-so", "01"), 404, "dossier_not_found")
    for unknown in ("08", "00", "1", "abc"):
        assert_problem(await form(api, code, unknown), 404, "not_found")
    tracking_book = assert_problem(await form(api, code, "07"), 404, "not_found")
    assert "tracking book" in tracking_book["detail"]
    unknown_kind = await api.get(f"/api/v1/dossiers/{code}/forms/01.docx")
    assert_problem(unknown_kind, 404, "not_found")
    assert_problem(await form(api, code, "01", None), 401, "unauthenticated")


async def test_form_05_once_per_accepted_stop_the_latest_by_default(api: Api) -> None:
    code = (await receive(api))["code"]
    stop = {"action": "stop", "reason": "Chờ văn bản của cơ quan có thẩm quyền"}
    assert (await act(api, code, "sos", stop)).status_code == 200
    assert (await act(api, code, "resume", {"reason": "Đã có văn bản"})).status_code == 200
    again = {"action": "stop", "reason": "Chờ kết quả giám định"}
    assert (await act(api, code, "sos", again)).status_code == 200

    latest = await pdf_text(api, code, "05")
    first = await pdf_text(api, code, "05", stop=1)

    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in latest
    assert "Lần dừng: 2/2" in latest and "Lý do dừng giải quyết: Chờ kết quả giám định" in latest
    assert "Thời gian tiếp tục giải quyết: chưa tiếp tục" in latest
    assert "Lần dừng: 1/2" in first and "Chờ văn bản của cơ quan có thẩm quyền" in first
    assert "Thời gian tiếp tục giải quyết: chưa tiếp tục" not in first
    missing = assert_problem(await form(api, code, "05", stop=3), 404, "not_found")
    assert missing["stops"] == 2
    assert (await form(api, code, "05", stop=0)).status_code == 422


async def test_form_05_does_not_apply_to_a_stop_refused_while_consulting(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "CAT")
    stop = {"action": "stop", "reason": "Chờ ý kiến"}
    assert (await act(api, code, "sos", stop)).status_code == 409  # R4

    problem = assert_problem(await form(api, code, "05"), 409, "form_not_applicable")
    assert problem["form"] == "05" and problem["detail_vi"]


async def test_openapi_serves_the_forms_route_as_pdf(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()

    operation = document["paths"]["/api/v1/dossiers/{code}/forms/{form}.pdf"]["get"]
    assert PDF in operation["responses"]["200"]["content"]
    assert {"403", "404", "409"} <= operation["responses"].keys()
