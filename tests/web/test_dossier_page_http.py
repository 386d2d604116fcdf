"""The dossier page and its actions over real HTTP (the whole service, both databases): what the
page shows, the actions' contract (`POST /dossiers/{code}/actions/{action}`), refusals shown
with their facts and recorded as through the API (R4, R7, R9), CSRF and strangers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.localtime import VN
from tests.api.http_helpers import act, eventually
from tests.fixtures.api import Api
from tests.forms.pdf_reading import text_of
from tests.web.page_client import Browser, signed_in
from workflows.starter import workflow_id


@pytest_asyncio.fixture(loop_scope="session")
async def officer(api: Api) -> AsyncIterator[Browser]:
    browser = await signed_in(api, "sxd.officer")
    yield browser
    await browser.http.aclose()


async def test_the_page_shows_header_consultations_clock_timeline_and_links(
    api: Api, officer: Browser
) -> None:
    dossier = await api.receive()
    code = dossier["code"]
    assert (await api.consult(code, "CAT")).status_code == 201
    page = await officer.page(f"/dossiers/{code}")
    assert f'<h1 id="dossier-title">{code}</h1>' in page
    assert "Lê Văn Cường" in page  # the applicant
    assert "Đang xin ý kiến cơ quan liên quan" in page  # the status as a word
    assert "còn " in page and " ngày làm việc" in page  # working days left
    assert "Công an thành phố Đồng Nai" in page  # CAT by its name, in the panel
    assert "Đang chờ trả lời" in page
    assert "Tiếp nhận hồ sơ; thời hạn giải quyết" in page  # the timeline
    assert "Nguyễn Văn An" in page  # who acted, by name
    assert "Đồng hồ của hồ sơ" in page and 'class="clock-story"' in page
    # The forms of Circular 03/2025 that apply: the receipt and the control slip, no more yet.
    assert "Biểu mẫu (Thông tư số 03/2025/TT-VPCP)" in page
    assert re.findall(rf"/dossiers/{code}/forms/(\d\d)", page) == ["01", "06"]
    assert "Mẫu 06: Phiếu kiểm soát quá trình giải quyết hồ sơ" in page
    assert f"/namespaces/default/workflows/{workflow_id(code)}" in page
    # R4 shown before the click: the awaited agency beside the SOS buttons
    warning = page[page.index('id="sos-warning"') :]
    assert "Công an thành phố Đồng Nai" in warning[:600]
    pdf = await officer.http.get(f"/dossiers/{code}/forms/01")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_r4_stop_while_consulting_is_refused_named_and_recorded(
    api: Api, officer: Browser
) -> None:
    code = (await api.receive())["code"]
    assert (await api.consult(code, "CAT", "SNNMT")).status_code == 201
    page = f"/dossiers/{code}"
    answer = await officer.post(
        f"{page}/actions/sos", {"action": "stop", "reason": "Chờ thẩm định"}, page
    )
    assert answer.status_code == 303 and answer.headers["location"] == page
    shown = await officer.page(page)
    flash = shown[shown.index('class="flash flash-error"') :][:1500]
    assert "Không được dừng" in flash
    assert "Công an thành phố Đồng Nai" in flash and "Sở Nông nghiệp và Môi trường" in flash
    assert "Chờ thẩm định" in shown  # what was typed is filled in again
    assert "Bị từ chối: SOS: Dừng xử lý." in shown  # in the timeline
    events = (await api.get(f"/api/v1/dossiers/{code}")).json()["events"]
    refused = [e for e in events if e["kind"] == "refused"]
    assert refused and refused[-1]["detail"]["code"] == "sos_rejected_awaiting_replies"
    assert refused[-1]["actor"] == "sxd.officer"
    # A refused stop is no stop: no form 05 to link, and its address says it does not apply.
    assert f"/dossiers/{code}/forms/05" not in shown
    assert (await officer.http.get(f"{page}/forms/05")).status_code == 409


async def test_every_form_that_applies_is_linked_one_form_05_per_accepted_stop(
    api: Api, officer: Browser
) -> None:
    code = (await api.receive())["code"]
    page = f"/dossiers/{code}"
    for action, body in [
        ("sos", {"action": "stop", "reason": "Chờ văn bản"}),
        ("resume", {"reason": "Đã có văn bản"}),
        ("sos", {"action": "stop", "reason": "Chờ giám định"}),
        ("resume", {"reason": "Đã có kết quả giám định"}),
    ]:
        assert (await act(api, code, action, body)).status_code == 200, action
    due = datetime.fromisoformat((await api.get(f"/api/v1/dossiers/{code}")).json()["due_at"])
    new_date = (due.astimezone(VN) + timedelta(days=7)).date().isoformat()
    apology = {"reason": "Chờ thẩm định", "new_due_date": new_date}
    assert (await act(api, code, "apology", apology)).status_code == 200
    back = {"action": "return", "reason": "Không thuộc thẩm quyền"}
    assert (await act(api, code, "sos", back)).status_code == 200

    shown = await officer.page(page)

    links = re.findall(rf'href="/dossiers/{code}/forms/(\d\d(?:\?stop=\d)?)"', shown)
    assert links == ["01", "03", "04", "05?stop=1", "05?stop=2", "06"]
    assert "Mẫu 04: Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết" in shown
    assert "Mẫu 05: Thông báo dừng giải quyết hồ sơ (lần dừng 2)" in shown
    second = await officer.http.get(f"{page}/forms/05?stop=2")
    assert second.status_code == 200 and second.content.startswith(b"%PDF")
    assert "Lần dừng: 2/2" in text_of(second.content)
    assert (await officer.http.get(f"{page}/forms/05?stop=3")).status_code == 404


async def test_r7_a_late_reply_needs_its_cause(api: Api) -> None:
    code = (await api.receive())["code"]
    assert (await api.consult(code, "CAT", in_seconds=3)).status_code == 201  # a loaded CI
    await asyncio.sleep(3.5)
    agency = await signed_in(api, "cat.officer")
    page = f"/dossiers/{code}"
    try:
        shown = await agency.page(page)
        assert 'name="late_reason"' in shown and "Đã quá hạn" in shown
        refused = await agency.post(f"{page}/actions/reply", {"opinion": "Đồng ý"}, page)
        assert refused.status_code == 303
        shown = await agency.page(page)
        assert "nguyên nhân chậm" in shown and "Đồng ý" in shown  # refused, typed text kept
        done = await agency.post(
            f"{page}/actions/reply",
            {"opinion": "Đồng ý", "late_reason": "Chờ hồ sơ từ phòng chuyên môn"},
            page,
        )
        assert done.status_code == 303
        assert "Đã gửi ý kiến trả lời." in await agency.page(page)
    finally:
        await agency.http.aclose()
    dossier = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert dossier["consultations"][0]["status"] == "answered_late"
    assert dossier["consultations"][0]["late_reason"] == "Chờ hồ sơ từ phòng chuyên môn"


async def test_consult_from_the_page_once_per_key_then_an_unreadable_form_is_recorded(
    api: Api, officer: Browser
) -> None:
    code = (await api.receive())["code"]
    page = f"/dossiers/{code}"
    shown = await officer.page(page)
    assert "Tối đa" in shown and "ngày làm việc theo thủ tục" in shown  # R2's maximum shown
    deadline = (datetime.now(UTC) + timedelta(hours=30)).astimezone(VN)
    fields = {
        "agencies": ["CAT", "SYT"],
        "content": "Cho ý kiến về phòng cháy",
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),  # datetime-local, Vietnam's time
        "idempotency_key": "double-submit-1",
    }
    first = await officer.post(f"{page}/actions/consult", fields, page)
    second = await officer.post(f"{page}/actions/consult", fields, page)
    assert first.status_code == second.status_code == 303
    shown = await officer.page(page)
    assert "Đã gửi yêu cầu xin ý kiến." in shown, shown[shown.find("flash") :][:800]
    dossier = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert sorted(c["agency"] for c in dossier["consultations"]) == ["CAT", "SYT"]
    # a value the body's model refuses: shown by field, and recorded as the API records it
    odd = await officer.post(f"{page}/actions/sos", {"action": "explode", "reason": "x"}, page)
    assert odd.status_code == 303
    shown = await officer.page(page)
    assert "Lựa chọn không hợp lệ." in shown
    # recorded by the workflow (a signal), then projected: it shows within seconds
    await eventually(
        lambda: api.get(f"/api/v1/dossiers/{code}"),
        lambda answer: any(
            e["kind"] == "refused" and e["detail"]["code"] == "validation_error"
            for e in answer.json()["events"]
        ),
        within=10,
        what="the unreadable form's refused event",
    )


async def test_csrf_missing_and_strangers_are_refused(api: Api, officer: Browser) -> None:
    code = (await api.receive())["code"]
    page = f"/dossiers/{code}"
    no_token = await officer.http.post(f"{page}/actions/resume", data={"reason": "x"})
    assert no_token.status_code == 403 and "Biểu mẫu đã hết hạn" in unescape(no_token.text)
    stranger = await signed_in(api, "stp.officer")
    try:
        assert (await stranger.http.get(page)).status_code == 403
        attempt = await stranger.post(f"{page}/actions/resume", {"reason": "x"}, "/signin")
        assert attempt.status_code == 403
        assert (await stranger.http.get(f"{page}/forms/01")).status_code == 403
    finally:
        await stranger.http.aclose()
    assert (await officer.http.get("/dossiers/NO-SUCH-CODE")).status_code == 404
    events = (await api.get(f"/api/v1/dossiers/{code}")).json()["events"]
    assert not any(e["kind"] == "refused" for e in events)  # a stranger leaves no trace


async def test_the_web_ui_details_link_back_to_the_dossier_page(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    code = (await api.receive())["code"]
    described = await dev_env.client.get_workflow_handle(workflow_id(code)).describe()
    assert code in (await described.static_summary() or "")
    details = await described.static_details() or ""
    assert f"[{code}]({api.settings.pages_address}/dossiers/{code})" in details
