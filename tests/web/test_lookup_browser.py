"""The citizen in Chromium: form 01's QR code, decoded as a phone's camera would, opens the
look-up with the code filled in; with the phone typed the dossier shows, readable at 390 px (no
sideways scrolling) and at 1366 px, with no serious accessibility violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.api.http_helpers import receive
from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, expected_status_logged, screenshot
from tests.forms.pdf_reading import qr_codes
from tests.web.citizen import DOCUMENT, PHONE, awaiting_supplement, supplemented_and_apologised

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # pages, not SQL


async def form_01_qr(api: Api, code: str) -> str:
    receipt = await api.get(f"/api/v1/dossiers/{code}/forms/01.pdf")
    assert receipt.status_code == 200, receipt.text
    [payload] = qr_codes(receipt.content)
    return payload


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


@SQLITE
async def test_form_01_s_qr_code_leads_a_phone_to_its_dossier(api: Api, phone_page: Page) -> None:
    code, new_date = await supplemented_and_apologised(api)
    address = await form_01_qr(api, code)
    assert address == f"{api.base_url}/lookup?code={code}"

    await phone_page.goto(address)
    await expect(phone_page.locator("#lookup-code")).to_have_value(code)
    await expect(phone_page.locator("#lookup-phone")).to_be_focused()
    await phone_page.locator("#lookup-phone").fill(PHONE)
    await phone_page.get_by_role("button", name="Tra cứu").click()

    await expect(phone_page.locator("#dossier-heading")).to_contain_text(code)
    await expect(phone_page.locator(".status")).to_contain_text("Đang xử lý")
    await expect(phone_page.locator(".apology")).to_contain_text(f"{new_date:%d/%m/%Y}")
    await expect(phone_page.locator(".steps > li")).to_have_count(6)
    await no_sideways_scroll(phone_page)
    button = await phone_page.get_by_role("button", name="Tra cứu").bounding_box()
    assert button is not None and button["height"] >= 44  # a thumb's tap target
    await screenshot(phone_page, "lookup-phone")
    await assert_accessible(phone_page)


@SQLITE
async def test_what_to_supply_on_a_desktop_and_a_wrong_phone(
    api: Api, page: Page, request: pytest.FixtureRequest
) -> None:
    code = await awaiting_supplement(api)

    await page.goto(f"{api.base_url}/lookup?code={code}&phone={PHONE}")

    await expect(page.locator(".supplement")).to_contain_text(DOCUMENT)
    await expect(page.locator(".status")).to_contain_text("Chờ bổ sung hồ sơ")
    await screenshot(page, "lookup-desktop")
    await assert_accessible(page)

    other = (await receive(api))["code"]
    await page.locator("#lookup-code").fill(other)
    await page.locator("#lookup-phone").fill("0900000000")
    await page.get_by_role("button", name="Tra cứu").click()
    await expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy hồ sơ")
    expected_status_logged(request, 404, f"/lookup?code={other}")
    await screenshot(page, "lookup-not-found", full_page=False)
    await assert_accessible(page)
