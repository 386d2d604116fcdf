"""/docs in Chromium with no internet: Swagger UI from the vendored files renders the served
OpenAPI document, and no request leaves the machine (the `page` fixture fails the test if one
tries)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.api import Api
from tests.fixtures.browser import screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database involved
async def test_docs_render_swagger_ui_offline(api: Api, page: Page) -> None:
    await page.goto(f"{api.base_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("motcua")
    receive = page.locator(
        '.opblock-post .opblock-summary-path[data-path="/api/v1/dossiers"]'
    ).first
    await expect(receive).to_be_visible()
    await screenshot(page, "docs", full_page=False)
    await receive.click()  # the operation opens: its parameters and responses, from the document
    await expect(page.locator(".opblock.is-open .responses-table").first).to_be_visible()
