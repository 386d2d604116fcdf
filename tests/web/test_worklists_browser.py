"""The work-list pages in Chromium (no internet, axe, screenshots): the officers' inbox at desktop
and phone sizes, reached by the keyboard and refreshed by htmx as one types (screenshots `inbox`,
`inbox-phone`); the consulted agency's inbox, whose cause of lateness appears at the deadline
while the page stays open (reply.js, screenshot `consultations`); a head confirming a withdrawal
(screenshot `withdrawals`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect

from tests.api.http_helpers import act, consult, receive
from tests.api.test_work_lists_http import WITHDRAWAL, inbox_corpus
from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_inbox_by_keyboard_with_htmx_search_and_its_screenshots(
    api: Api, database_url: str, page: Page
) -> None:
    codes = await inbox_corpus(api, database_url)
    await sign_in(page, api, "sxd.officer", "/inbox")
    rows = page.locator("table.inbox tbody tr")
    await expect(rows).to_have_count(6)
    await expect(page.locator("a.tab.late .count")).to_have_text("2")
    await expect(rows.first.locator(".badge")).to_have_text("Quá hạn")
    await assert_accessible(page)
    await screenshot(page, "inbox")

    # the keyboard reaches the search field, then the first dossier's link
    reached: list[str] = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => document.activeElement.id || document.activeElement.textContent.trim()"
        )
        reached.append(focused)
        if focused == codes["late"]:
            break
    assert "inbox-q" in reached, reached
    assert reached[-1] == codes["late"], reached
    assert reached.index("inbox-q") < len(reached) - 1

    # htmx: typing refreshes the list and the counts in place (no page load), the address too
    await page.evaluate("() => { window.sameDocument = true }")
    await page.locator("#inbox-q").fill("le van cuong")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(codes["due_today"])
    await expect(page.locator("a.tab.all .count")).to_have_text("1")
    await expect(page.locator("#inbox-summary")).to_have_text("Tìm thấy 1 hồ sơ đang giải quyết.")
    assert await page.evaluate("() => window.sameDocument === true")
    assert "q=le%20van%20cuong" in page.url
    await expect(page.locator("#inbox-q")).to_be_focused()
    await assert_accessible(page)
    # back: the whole list again (htmx keeps no copy of the list, it loads the page)
    await page.go_back()
    await expect(rows).to_have_count(6)
    assert await page.evaluate("() => localStorage.length") == 0


async def test_inbox_on_a_phone(api: Api, database_url: str, phone_page: Page) -> None:
    await inbox_corpus(api, database_url)
    await sign_in(phone_page, api, "sxd.officer", "/inbox")
    await expect(phone_page.locator("table.inbox tbody tr")).to_have_count(6)
    await assert_accessible(phone_page)
    await screenshot(phone_page, "inbox-phone")


async def test_consultations_cause_of_lateness_appears_at_the_deadline(
    api: Api, page: Page
) -> None:
    overdue = (await receive(api))["code"]
    soon = (await receive(api))["code"]
    later = (await receive(api))["code"]
    await consult(api, later, "CAT", in_seconds=3 * 86400)
    await consult(api, overdue, "CAT", "SNNMT", in_seconds=1)
    await asyncio.sleep(1.2)
    consultation = await consult(api, soon, "CAT", in_seconds=6)
    deadline = datetime.fromisoformat(consultation[0]["deadline"])

    await sign_in(page, api, "cat.officer", "/consultations")
    cards = page.locator("article.work-item")
    await expect(cards).to_have_count(3)
    await expect(cards.nth(0)).to_contain_text(overdue)
    await expect(cards.nth(0).locator("[data-status-badge]")).to_have_text("Quá hạn, chưa trả lời")
    await expect(cards.nth(0).get_by_label("Nguyên nhân chậm trả lời")).to_be_visible()
    soon_cause = cards.nth(1).locator("textarea[name=late_reason]")
    await expect(soon_cause).to_be_hidden()
    await assert_accessible(page)
    await screenshot(page, "consultations")

    # the page stays open past the deadline: reply.js shows the cause, now required
    wait = (deadline - datetime.now(UTC)).total_seconds()
    assert wait > 0, "the consultation's deadline passed before the page was looked at"
    await expect(soon_cause).to_be_visible(timeout=(wait + 5) * 1000)
    assert await soon_cause.evaluate("(e) => e.required && !e.closest('fieldset').disabled")
    await expect(cards.nth(1).locator("[data-status-badge]")).to_have_text("Quá hạn, chưa trả lời")
    await cards.nth(1).get_by_label("Ý kiến").fill("Thống nhất với hồ sơ thiết kế")
    await soon_cause.fill("Cán bộ thụ lý đi công tác")
    await cards.nth(1).get_by_role("button", name="Gửi ý kiến").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã gửi ý kiến trả lời.")
    await expect(cards).to_have_count(2)
    await assert_accessible(page)


async def test_a_head_confirms_a_withdrawal(api: Api, page: Page) -> None:
    codes = [(await receive(api))["code"] for _ in range(2)]
    for code in codes:
        assert (await act(api, code, "withdrawal", WITHDRAWAL)).status_code == 202
    await sign_in(page, api, "sxd.head", "/withdrawals")
    cards = page.locator("article.work-item")
    await expect(cards).to_have_count(2)
    await expect(cards.first).to_contain_text("DON-07")
    await assert_accessible(page)
    await screenshot(page, "withdrawals")
    await cards.first.get_by_label("Số văn bản đã ký xác nhận").fill("125/QĐ-SXD")
    await cards.first.get_by_role("button", name="Xác nhận rút hồ sơ").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã xác nhận rút hồ sơ.")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text(codes[1])


async def test_a_desk_switches_to_the_dossiers_received_here_and_its_screenshot(
    api: Api, page: Page
) -> None:
    """Decree 118/2025: the ward's desk has its own list and "Hồ sơ tiếp nhận tại đây", each
    with its count; a search refreshes both counts (htmx), the switch keeps the search, and a
    row received for another lead agency names it (screenshot `inbox-received-here`)."""
    await receive(api, "DN-HT-001-TRANBIEN", "tranbien.officer")
    for_sxd = (await receive(api, "DN-XD-001", "tranbien.officer"))["code"]
    for_stp = (await receive(api, "DN-LLTP-001", "tranbien.officer"))["code"]
    await sign_in(page, api, "tranbien.officer", "/inbox")
    views = page.get_by_role("navigation", name="Danh sách hồ sơ")
    own = views.get_by_role("link", name="Hồ sơ đơn vị chủ trì")
    here = views.get_by_role("link", name="Hồ sơ tiếp nhận tại đây")
    await expect(own).to_have_attribute("aria-current", "page")
    await expect(own.locator(".count")).to_have_text("1")
    await expect(here.locator(".count")).to_have_text("2")

    await page.locator("#inbox-q").fill(for_sxd)
    await expect(here.locator(".count")).to_have_text("1")
    await expect(own.locator(".count")).to_have_text("0")
    await here.click()
    await page.wait_for_url(lambda url: "received_here=true" in url and for_sxd in url)
    rows = page.locator("table.inbox tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Cơ quan chủ trì: Sở Xây dựng thành phố Đồng Nai")
    await expect(page.locator("#inbox-q")).to_have_value(for_sxd)

    await page.locator("#inbox-q").fill("")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text=for_stp)).to_contain_text("Sở Tư pháp thành phố Đồng Nai")
    await expect(page.locator("#inbox-summary")).to_have_text(
        "2 hồ sơ tiếp nhận tại đây đang giải quyết."
    )
    await assert_accessible(page)
    await screenshot(page, "inbox-received-here")
