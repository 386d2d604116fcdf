"""The dossier page in Chromium (no internet, axe): an officer consults an agency, presses SOS
stop and sees the refusal naming the awaited agency (screenshot `dossier-refused`); a dossier
with a supplement period and a stop shows them on its clock (screenshot `dossier-clock`); the
consultation picker groups the agencies by kind (screenshot `consult-picker`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from domain.localtime import VN
from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, pick_agency, screenshot, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DOCUMENT = "Đơn đề nghị cấp giấy phép xây dựng"


async def test_consult_then_sos_refused_names_the_awaited_agency(api: Api, page: Page) -> None:
    code = (await api.receive())["code"]
    await sign_in(page, api, "sxd.officer", f"/dossiers/{code}")
    await assert_accessible(page)
    await page.locator("#form-consult > summary").click()
    await pick_agency(page, "Công an thành phố Đồng Nai")
    await page.locator("#consult-content").fill("Cho ý kiến về phòng cháy và chữa cháy")
    deadline = (datetime.now(UTC) + timedelta(hours=26)).astimezone(VN)
    await page.locator("#consult-deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã gửi yêu cầu xin ý kiến")
    await page.locator("#form-sos summary").click()
    await expect(page.locator("#sos-warning")).to_contain_text("Công an thành phố Đồng Nai")
    await page.locator("#sos-reason").fill("Chờ kết quả thẩm định thiết kế")
    await page.get_by_role("button", name="Dừng xử lý").click()
    flash = page.locator(".flash-error")
    await expect(flash).to_contain_text("Không được dừng")
    await expect(flash).to_contain_text("Công an thành phố Đồng Nai")
    await expect(page.locator(".timeline li.refused").first).to_contain_text("Dừng xử lý")
    await assert_accessible(page)
    await screenshot(page, "dossier-refused")


async def test_the_consultation_picker_groups_agencies_by_kind_the_local_ones_folded(
    api: Api, page: Page
) -> None:
    """Issue 10: about 110 agencies offered, grouped (provincial bodies; wards' committees;
    communes' committees) with the long local groups folded in a <details>; no abolished district
    offered; a ward and a department consulted at once (screenshot `consult-picker`)."""
    code = (await api.receive())["code"]
    await sign_in(page, api, "sxd.officer", f"/dossiers/{code}")
    await page.locator("#form-consult > summary").click()
    picker = page.get_by_role("group", name="Cơ quan được xin ý kiến")
    provincial = picker.get_by_role("group", name="Sở, ban, ngành và cơ quan cấp tỉnh")
    await expect(provincial.get_by_label("Công an thành phố Đồng Nai")).to_be_visible()
    lead = provincial.get_by_label("Sở Xây dựng thành phố Đồng Nai")
    await expect(lead).to_have_count(0)  # the lead
    wards = page.locator("#consult-wards")
    await expect(wards.locator("summary")).to_have_text("Ủy ban nhân dân phường (23)")
    await expect(page.locator("#consult-communes summary")).to_have_text("Ủy ban nhân dân xã (72)")
    await expect(wards.get_by_label("Ủy ban nhân dân phường Trấn Biên")).to_be_hidden()
    await expect(picker.get_by_label("Ủy ban nhân dân thành phố Biên Hòa")).to_have_count(0)
    await expect(picker.locator("input[type=checkbox]")).to_have_count(14 + 23 + 72)

    await pick_agency(page, "Ủy ban nhân dân phường Trấn Biên")
    await pick_agency(page, "Công an thành phố Đồng Nai")
    await page.locator("#consult-content").fill("Cho ý kiến về quy hoạch khu dân cư")
    deadline = (datetime.now(UTC) + timedelta(hours=26)).astimezone(VN)
    await page.locator("#consult-deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    await assert_accessible(page)
    await screenshot(page, "consult-picker")
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã gửi yêu cầu xin ý kiến")
    document = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert sorted(c["agency"] for c in document["consultations"]) == [
        "CAT",
        "UBND-PHUONG-TRANBIEN",
    ]


async def test_the_clock_shows_the_supplement_and_stop_periods(api: Api, page: Page) -> None:
    code = (await api.receive())["code"]
    path = f"/api/v1/dossiers/{code}"
    for call, body in (
        ("sos", {"action": "supplement", "reason": "Thiếu đơn", "missing_documents": [DOCUMENT]}),
        ("supplement", {"documents": [DOCUMENT]}),
        ("sos", {"action": "stop", "reason": "Chờ văn bản của Bộ"}),
        ("resume", {"reason": "Đã có văn bản"}),
    ):
        answer = await api.post(f"{path}/{call}", body)
        assert answer.status_code == 200, answer.text
    await sign_in(page, api, "sxd.officer", f"/dossiers/{code}")
    story = page.locator(".clock-story")
    await expect(story).to_contain_text("Chờ bổ sung hồ sơ")
    await expect(story).to_contain_text("Tạm dừng (SOS)")
    await expect(page.locator(".clock-bar rect.period.supplement")).to_have_count(1)
    await expect(page.locator(".clock-bar rect.period.stopped")).to_have_count(1)
    await assert_accessible(page)
    await screenshot(page, "dossier-clock")
