"""OpenID Connect sign-in in Chromium, against the provider run by the test: the sign-in page's
button, the provider's page, back signed in where one was going; sign-out through the provider's
end of session back to the sign-in page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.api import USERS
from tests.fixtures.browser import assert_accessible, screenshot
from tests.web.oidc_provider import Provider, provider, query
from tests.web.test_oidc_http import pages_on

__all__ = ["provider"]  # the fixture, used by the test below


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # sign-in only
async def test_oidc_sign_in_and_out_in_a_browser(
    provider: Provider, database_url: str, page: Page
) -> None:
    async with pages_on(provider, database_url) as client:
        ours = str(client.base_url).rstrip("/")
        await page.goto(f"{ours}/signin?next=/lookup")
        button = page.get_by_role("link", name="Đăng nhập bằng tài khoản một cửa")
        await screenshot(page, "signin-oidc")
        await assert_accessible(page)

        await button.click()
        await expect(page).to_have_url(
            re.compile(re.escape(f"{provider.issuer}/oauth2/authorize?"))
        )
        assert query(page.url)["code_challenge_method"] == "S256"
        await page.get_by_role("button", name="snv.home_affairs").click()

        await expect(page).to_have_url(f"{ours}/lookup")
        await expect(page.locator(".who-name")).to_have_text(USERS["snv.home_affairs"].name)
        await expect(page.locator(".who-agency")).to_have_text("SNV")

        await page.get_by_role("button", name="Đăng xuất").click()
        await expect(page).to_have_url(
            re.compile(re.escape(f"{provider.issuer}/oauth2/end_session?"))
        )
        await page.get_by_role("button", name="End session").click()
        await expect(page).to_have_url(re.compile(re.escape(f"{ours}/signin")))
        await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        await expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
        # Leave the page while our server still runs: Chromium fetches the favicon lazily, and a
        # fetch after the server stopped is a console error that has nothing to do with sign-in.
        await page.goto("about:blank")
