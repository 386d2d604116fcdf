"""The pages not driven elsewhere, in Chromium with axe and their screenshots: the development
sign-in page, the desk's receipt form (with a field refused and what was typed kept), an error
page, and the English sign-in page's words come from the same template."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, expected_status_logged, screenshot


async def test_sign_in_receipt_and_error_pages(
    api: Api, page: Page, request: pytest.FixtureRequest
) -> None:
    await page.goto(f"{api.base_url}/")
    await page.wait_for_url("**/signin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    await expect(page.locator('[id="signin-sxd.officer"]')).to_contain_text("Nguyễn Văn An")
    await assert_accessible(page)
    await screenshot(page, "signin")

    await page.locator('[id="signin-sxd.officer"]').click()
    await page.wait_for_url("**/inbox")
    await page.get_by_role("link", name="Tiếp nhận hồ sơ").click()
    await page.wait_for_url("**/receive")
    await page.get_by_label("Số điện thoại").fill("0903 111 222")
    await page.get_by_label("Họ và tên").fill("A" * 201)  # beyond the name's 200 characters
    await page.get_by_role("button", name="Tiếp nhận và tính hạn trả kết quả").click()
    await expect(page.locator("#receipt-name-error")).to_be_visible()
    expected_status_logged(request, 422, "/receive")
    await expect(page.get_by_label("Số điện thoại")).to_have_value("0903 111 222")
    await assert_accessible(page)
    await screenshot(page, "receive")

    answer = await page.goto(f"{api.base_url}/dossiers/NO-SUCH-DOSSIER")
    assert answer is not None and answer.status == 404
    expected_status_logged(request, 404, "/dossiers/NO-SUCH-DOSSIER")
    await expect(page.locator("main")).to_contain_text("Không có hồ sơ với mã này.")
    await assert_accessible(page)
    await screenshot(page, "error-404")
