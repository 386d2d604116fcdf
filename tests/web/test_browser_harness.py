"""The browser harness itself (tests.fixtures.browser): what it lets through, what it catches,
and what its accessibility check refuses. Pages here are set from strings: no server needed."""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.async_api import Page

from tests.fixtures.browser import GUARDS, Guard, assert_accessible, screenshot


def guard_of(request: pytest.FixtureRequest) -> Guard:
    (guard,) = request.node.stash[GUARDS]
    return guard


async def test_a_request_off_the_machine_is_aborted_and_fails_the_test(
    page: Page, request: pytest.FixtureRequest
) -> None:
    guard = guard_of(request)
    # A host under `.invalid` (RFC 6761) never resolves: nothing can come from the internet even
    # if the guard let it through; the guard must still abort it and report it.
    await page.set_content('<img src="http://assets.offsite.invalid/logo.png" alt="logo">')
    assert await page.evaluate("document.images[0].naturalWidth") == 0  # never arrived
    assert guard.offsite == ["GET http://assets.offsite.invalid/logo.png"]
    with pytest.raises(pytest.fail.Exception, match=r"off this machine.*offsite\.invalid"):
        guard.check()  # what the harness does after the test; reported once, so this one passes


async def test_console_errors_and_uncaught_exceptions_fail_the_test(
    page: Page, request: pytest.FixtureRequest
) -> None:
    guard = guard_of(request)
    await page.set_content("<p>trang</p>")
    await page.evaluate("console.error('hỏng rồi')")
    await page.evaluate("setTimeout(() => { throw new Error('không bắt') }, 0)")
    await page.wait_for_timeout(100)
    with pytest.raises(pytest.fail.Exception) as failed:
        guard.check()
    assert "console error: hỏng rồi" in str(failed.value)
    assert "uncaught: " in str(failed.value) and "không bắt" in str(failed.value)


async def test_pages_are_vietnamese_desktop_and_phone_sized(page: Page, phone_page: Page) -> None:
    # The phone is a mobile browser: without this tag it lays a page out 980 pixels wide.
    for each in (page, phone_page):
        await each.set_content('<meta name="viewport" content="width=device-width">')
    # UTC+7 all year (ICU names the zone by its old name, Asia/Saigon).
    said = (
        "() => [innerWidth, innerHeight, devicePixelRatio, navigator.language,"
        " new Date(2026, 0, 1).getTimezoneOffset(), new Date(2026, 6, 1).getTimezoneOffset()]"
    )
    assert await page.evaluate(said) == [1366, 768, 1, "vi-VN", -420, -420]
    assert await phone_page.evaluate(said) == [390, 844, 1, "vi-VN", -420, -420]


async def test_screenshot_writes_a_png_of_the_page(page: Page) -> None:
    await page.set_content("<h1>Hồ sơ</h1>")
    path = await screenshot(page, "harness-self-test", full_page=False)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1366, 768)


async def test_an_accessible_page_passes_axe(page: Page) -> None:
    await page.set_content(
        '<!doctype html><html lang="vi"><head><title>Tra cứu</title></head><body><main>'
        "<h1>Tra cứu hồ sơ</h1><form><label for=code>Mã hồ sơ</label><input id=code name=code>"
        "<button>Tra cứu</button></form></main></body></html>"
    )
    await assert_accessible(page)


async def test_serious_violations_are_listed_by_rule_impact_and_target(page: Page) -> None:
    await page.set_content(
        '<!doctype html><html lang="vi"><head><title>x</title></head><body><main>'
        '<input id="phone"><img src="data:," id="seal">'
        '<p style="color:#bbb;background:#fff">nhạt</p></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        await assert_accessible(page)
    said = str(failed.value)
    assert "label (critical)" in said and '["#phone"]' in said
    assert "image-alt (critical)" in said and '["#seal"]' in said
    assert "color-contrast (serious)" in said
