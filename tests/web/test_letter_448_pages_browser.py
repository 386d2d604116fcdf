"""Letter 448's scenario through the pages alone, in Chromium, on the real stack (issue 9): an
officer receives a dossier at the desk and consults two agencies; his SOS stop is refused and the
refusal names the agencies awaited (R4); one agency replies on time from its inbox, the other
goes late and its reply demands a cause (R7); the stop is then accepted and resumed (R11); the
result is recorded and handed over (R5); the citizen looks the dossier up from form 01's QR code
on a phone; Home Affairs sees the late agency in the delay report (R8) and downloads it as Excel.
No API call but the test's clean-up: every step is a click or a key press."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import openpyxl
from playwright.async_api import Page, expect

from db.migrate import sync_calendar
from domain.localtime import VN
from tests.fixtures.api import Api
from tests.fixtures.browser import assert_accessible, pick_agency, screenshot, sign_in
from tests.forms.pdf_reading import qr_codes

SNNMT = "Sở Nông nghiệp và Môi trường thành phố Đồng Nai"
CAT = "Công an thành phố Đồng Nai"
PHONE = "0912 345 678"


def local_minute(at: datetime) -> str:
    """`datetime-local`'s value (minutes) of an instant in Vietnam."""
    return at.astimezone(VN).strftime("%Y-%m-%dT%H:%M")


def next_minute_after(seconds: float) -> datetime:
    """The first whole minute at least `seconds` from now: a deadline the form can hold (its
    field counts minutes) that still passes within the test."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def consult(page: Page, agency: str, content: str, deadline: datetime) -> None:
    await page.locator("#form-consult > summary").click()
    await pick_agency(page, agency)
    await page.locator("#consult-content").fill(content)
    await page.locator("#consult-deadline").fill(local_minute(deadline))
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã gửi yêu cầu xin ý kiến")


async def reply_from_inbox(page: Page, code: str, opinion: str, cause: str | None) -> None:
    card = page.locator("article.work-item", has_text=code)
    await card.get_by_label("Ý kiến").fill(opinion)
    if cause is not None:
        await card.get_by_label("Nguyên nhân chậm trả lời").fill(cause)
    await card.get_by_role("button", name="Gửi ý kiến").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã gửi ý kiến trả lời.")


async def test_letter_448_through_the_pages(
    api: Api, page: Page, phone_page: Page, tmp_path: Path
) -> None:
    # The desk: a building-permit dossier received by SXD's officer.
    await sign_in(page, api, "sxd.officer", "/receive")
    await page.get_by_label("Thủ tục hành chính").select_option("DN-XD-001")
    await page.get_by_label("Họ và tên").fill("Lê Văn Cường")
    await page.get_by_label("Số điện thoại").fill(PHONE)
    await page.get_by_role("button", name="Tiếp nhận và tính hạn trả kết quả").click()
    await page.wait_for_url("**/dossiers/**")
    code = page.url.rsplit("/", 1)[1]
    api.created.append(code)
    await expect(page.locator(".flash-ok")).to_contain_text(f"Đã tiếp nhận hồ sơ {code}")

    # R1, R2: two consultations, each with its content and deadline; CAT's passes shortly.
    await consult(page, SNNMT, "Cho ý kiến về đánh giá tác động môi trường",
                  datetime.now(UTC) + timedelta(days=2))  # fmt: skip
    cat_deadline = next_minute_after(25)
    await consult(page, CAT, "Cho ý kiến về phòng cháy và chữa cháy", cat_deadline)

    # R4: the stop is refused while opinions are awaited, and the page says whose.
    await page.locator("#form-sos summary").click()
    await expect(page.locator("#sos-warning")).to_contain_text(CAT)
    await page.locator("#sos-reason").fill("Chờ kết quả thẩm định thiết kế")
    await page.get_by_role("button", name="Dừng xử lý").click()
    refusal = page.locator(".flash-error")
    await expect(refusal).to_contain_text("Không được dừng")
    await expect(refusal).to_contain_text(SNNMT)
    await expect(refusal).to_contain_text(CAT)
    await expect(page.locator(".timeline li.refused").first).to_contain_text("Dừng xử lý")
    await assert_accessible(page)
    await screenshot(page, "letter-448-sos-refused")

    # SNNMT replies on time, from its inbox.
    await sign_in(page, api, "snnmt.officer", "/consultations")
    await reply_from_inbox(page, code, "Thống nhất, không có ý kiến khác", cause=None)

    # CAT goes late: once its deadline has passed, its reply demands a cause (R7).
    wait = (cat_deadline - datetime.now(UTC)).total_seconds() + 1
    await asyncio.sleep(max(wait, 0))
    await sign_in(page, api, "cat.officer", "/consultations")
    card = page.locator("article.work-item", has_text=code)
    await expect(card.locator("[data-status-badge]")).to_have_text("Quá hạn, chưa trả lời")
    cause = card.get_by_label("Nguyên nhân chậm trả lời")
    await expect(cause).to_be_visible()
    assert await cause.evaluate("(field) => field.required")
    await assert_accessible(page)
    await reply_from_inbox(
        page, code, "Đủ điều kiện về phòng cháy", cause="Cán bộ thụ lý đi công tác"
    )

    # Nothing awaited now: the stop is accepted, then resumed (R11), result, handover (R5).
    await sign_in(page, api, "sxd.officer", f"/dossiers/{code}")
    await page.locator("#form-sos summary").click()
    await expect(page.locator("#sos-warning")).to_have_count(0)
    await page.locator("#sos-reason").fill("Chờ văn bản của Bộ Xây dựng")
    await page.get_by_role("button", name="Dừng xử lý").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã thực hiện thao tác SOS")
    await expect(page.locator(".dossier-header")).to_contain_text("Tạm dừng xử lý")
    await page.locator("#resume-reason").fill("Đã có văn bản của Bộ")
    await page.get_by_role("button", name="Tiếp tục xử lý").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Đã tiếp tục xử lý hồ sơ")
    await page.locator("#form-result summary").click()
    await page.get_by_label("Kết quả", exact=True).select_option("approved")
    await page.get_by_label("Số văn bản kết quả").fill("125/GPXD-SXD")
    await page.get_by_role("button", name="Ghi kết quả").click()
    await expect(page.locator(".flash-ok")).to_be_visible()
    await page.get_by_label("Người nhận kết quả").fill("Lê Văn Cường")
    await page.get_by_role("button", name="Trả kết quả").click()
    await expect(page.locator(".flash-ok")).to_be_visible()
    await expect(page.locator(".dossier-header")).to_contain_text("Đã trả kết quả")
    await assert_accessible(page)
    await screenshot(page, "letter-448-completed")

    # The citizen: form 01's QR code, read from the PDF the desk printed, on a phone.
    form_01 = await page.request.get(f"{api.base_url}/dossiers/{code}/forms/01")
    assert form_01.ok, await form_01.text()
    (address,) = qr_codes(await form_01.body())
    assert address == f"{api.base_url}/lookup?code={code}"
    await phone_page.goto(address)
    await phone_page.get_by_role("textbox", name="Số điện thoại").fill(PHONE)
    await phone_page.get_by_role("button", name="Tra cứu").click()
    await expect(phone_page.locator("main")).to_contain_text("Đã trả kết quả")
    await expect(phone_page.locator("main")).not_to_contain_text(CAT)  # nothing internal
    await assert_accessible(phone_page)
    await screenshot(phone_page, "letter-448-citizen-phone")

    # Home Affairs: CAT is late in the delay report (R8), and the Excel file says so too. (The
    # reports count working days on the calendar `python -m db.migrate` writes: this month's.)
    today = datetime.now(UTC).astimezone(VN).date()
    await sync_calendar(
        api.settings.database,
        first=today.replace(day=1),
        last=today.replace(day=28) + timedelta(days=4),
    )
    await sign_in(page, api, "snv.home_affairs", "/reports")
    delays = page.locator("#agency-delays")
    late_row = delays.locator("tbody tr", has_text=CAT)
    await expect(late_row).to_be_visible()
    async with page.expect_download() as started:
        await delays.get_by_role("link", name="Tải Excel").click()
    download = await started.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    sheet = openpyxl.load_workbook(BytesIO(saved.read_bytes())).active
    assert sheet is not None
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert any(CAT in str(row) for row in rows), rows[:5]
    await screenshot(page, "letter-448-reports")
