"""The oversight page in Chromium: an inspector signs in by his button, picks a period, sees the
late agency in the chart and the table, the page passes axe, and the Excel button downloads the
very workbook the API gives (letter 448's scenario ends so: Home Affairs sees the late agency and
downloads the Excel file)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.localtime import local_date
from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, screenshot, sign_in
from tests.web.test_reports_pages import (
    MARCH_2025,
    as_api,
    as_page,
    cells,
    late_and_early_in_march_2025,
    late_consultation_and_refused_sos,
    this_week,
)


async def test_reports_page_shows_the_late_agency_and_downloads_its_excel_file(
    api: Api, page: Page, tmp_path: Path
) -> None:
    code = await late_consultation_and_refused_sos(api)
    start, end = this_week()

    await sign_in(page, api, "vpubnd.inspector", "/reports")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Báo cáo theo dõi, kiểm tra")
    period = as_page(start, end)
    await page.get_by_label("Từ ngày").fill(period["from"])
    await page.get_by_label("Đến ngày").fill(period["to"])
    await page.get_by_role("button", name="Xem báo cáo").click()

    delays = page.locator("#agency-delays")
    chart = delays.get_by_role("img", name="Lượt xin ý kiến trễ hạn theo cơ quan")
    await expect(chart).to_be_visible()
    await expect(chart.locator(".chart-label", has_text="(CAT)")).to_be_visible()
    row = delays.get_by_role("row").filter(has_text="(CAT)")
    await expect(row.get_by_role("cell").nth(3)).to_have_text("1")  # overdue, unanswered
    await expect(page.locator("#sos-audit").get_by_role("link", name=code)).to_be_visible()
    await screenshot(page, "reports")
    await assert_accessible(page)

    async with page.expect_download() as started:
        await delays.get_by_role("link", name="Tải Excel").click()
    download = await started.value
    assert download.suggested_filename == (
        f"tre-han-co-quan-phoi-hop_{start.isoformat()}_{end.isoformat()}.xlsx"
    )
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    from_api = await api.get(
        "/api/v1/reports/agency-delays", "vpubnd.inspector", format="xlsx", **as_api(start, end)
    )
    assert cells(saved.read_bytes()) == cells(from_api.content)

    await page.get_by_role("link", name="Tháng này").click()  # a preset, without typing
    today = local_date(datetime.now(UTC))
    await expect(page.get_by_label("Từ ngày")).to_have_value(f"01/{today:%m/%Y}")
    await expect(page.get_by_role("link", name="Tháng này")).to_have_attribute(
        "aria-current", "true"
    )


async def test_home_affairs_reads_the_lists_and_no_sos_audit(
    api: Api, page: Page, sessions: async_sessionmaker[AsyncSession]
) -> None:
    late, early = await late_and_early_in_march_2025(api, sessions)

    await sign_in(page, api, "snv.home_affairs", f"/reports?{urlencode(MARCH_2025)}")

    tabs = page.get_by_role("navigation", name="Các báo cáo").get_by_role("link")
    await expect(tabs).to_have_text(
        ["Trễ hạn của cơ quan phối hợp", "Kết quả đúng hạn", "Trễ hạn chưa xin lỗi"]
    )
    await tabs.nth(2).click()  # an anchor: no script needed
    await expect(page).to_have_url(re.compile("#late-without-apology$"))
    listed = page.locator("#late-without-apology")
    await expect(listed.get_by_role("link", name=late)).to_have_attribute(
        "href", f"/dossiers/{late}"
    )
    await expect(page.locator("#on-time").get_by_role("row").filter(has_text="SXD")).to_have_count(
        3  # by agency, by procedure, and by receiving desk (its own receipts)
    )
    await expect(page.get_by_role("link", name=early)).to_have_count(0)
    await screenshot(page, "reports-lists")
    await assert_accessible(page)
