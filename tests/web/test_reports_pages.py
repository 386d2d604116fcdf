"""The oversight pages over real HTTP, on both databases (issue 9, "Home Affairs and the Office of
the PPC"): the reports of a period with their charts, the lists with links to each dossier, the
downloads (the very files the API gives), who sees which report, and the period picker.

Dossiers come through the API (a late consultation, a refused SOS), or for what takes days (a
dossier gone late, R13) from the domain's own builders projected into the read model the way
tests/reports does."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.migrate import sync_calendar
from domain.localtime import local_date
from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    eventually,
    new_code,
    receive,
    reply,
    sleep_until,
)
from tests.api.test_reports_http import completed_at, with_calendar
from tests.db.test_read_model import project, view
from tests.fixtures.api import Api
from tests.unit.builders import dossier, hand_over, record_result, ring
from tests.web import page_client

STOP = {"action": "stop", "reason": "Chờ ý kiến của Công an tỉnh"}
SLUGS = ["agency-delays", "sos-audit", "on-time", "late-without-apology"]


@asynccontextmanager
async def signed_in(api: Api, user: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the pages with `user`'s session cookie (None: nobody)."""
    if user is None:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
            yield client
        return
    person = await page_client.signed_in(api, user)
    try:
        yield person.http
    finally:
        await person.http.aclose()


def this_week() -> tuple[date, date]:
    today = local_date(datetime.now(UTC))
    return today - timedelta(days=3), today + timedelta(days=3)


def as_page(start: date, end: date) -> dict[str, str]:
    return {"from": f"{start:%d/%m/%Y}", "to": f"{end:%d/%m/%Y}"}


def as_api(start: date, end: date) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


def section(page: str, anchor: str) -> str:
    """The page's `<section id=anchor>`, or '' when it has none."""
    found = re.search(rf'<section[^>]*id="{anchor}".*?</section>', page, re.S)
    return found.group(0) if found else ""


def text_of(html: str) -> str:
    """The words of some HTML, tags dropped and spaces squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def cells(workbook: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet's values and number formats, row by row."""
    book = load_workbook(io.BytesIO(workbook))
    return {
        sheet.title: [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]
        for sheet in book.worksheets
    }


async def late_consultation_and_refused_sos(api: Api) -> str:
    """A dossier of SXD whose consultation of CAT went overdue unanswered while SNNMT answered
    late with a cause, and whose stop was refused for CAT (R4)."""
    await with_calendar(api)
    code = str((await receive(api))["code"])
    asked = await consult(api, code, "SNNMT", "CAT", in_seconds=2)
    await sleep_until(asked[0]["deadline"])
    await reply(api, code, "SNNMT", "snnmt.officer", late_reason="Chờ kiểm tra hiện trường")
    assert_problem(await act(api, code, "sos", STOP), 409, "sos_rejected_awaiting_replies")
    await ladder_settled(api)
    return code


async def ladder_settled(api: Api) -> None:
    """Wait for CAT's reminder 2 (R3) to reach the report, so that every read of the period after
    this (page, download, API) sees the same figures: the ladder runs on its own clock."""

    async def cat_reminders_2() -> int:
        answer = await api.get(
            "/api/v1/reports/agency-delays", "vpubnd.inspector", **as_api(*this_week())
        )
        return sum(i["reminders_2"] for i in answer.json()["items"] if i["agency"] == "CAT")

    await eventually(cat_reminders_2, lambda sent: sent == 1, within=20, what="CAT's reminder 2")


MARCH_2025 = as_page(date(2025, 3, 1), date(2025, 3, 31))


async def late_and_early_in_march_2025(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> tuple[str, str]:
    """Two dossiers of SXD received on 03/03/2025, in the read model as the workflow would have
    left them: one late on 24/03 at 17:00 with no apology (R13), one handed over early (R11)."""
    await with_calendar(api)  # the delays are counted to now
    await sync_calendar(api.settings.database, first=date(2025, 1, 1), last=date(2025, 12, 31))
    late, early = dossier(code=new_code()), dossier(code=new_code())
    ring(late)  # R13's notice to the lead agency, the working day before it is due
    ring(late)  # late at its due time
    record_result(early)
    hand_over(early)
    for built in (late, early):
        await project(sessions, view(built))
    return late.code, early.code


# --- the reports of a period ----------------------------------------------------------------------


async def test_r8_r9_the_page_shows_the_late_agency_in_table_and_chart_and_the_refused_sos(
    api: Api,
) -> None:
    code = await late_consultation_and_refused_sos(api)

    async with signed_in(api, "vpubnd.inspector") as inspector:
        answer = await inspector.get("/reports", params=as_page(*this_week()))

    assert answer.status_code == 200, answer.text
    page = answer.text
    assert [f'href="#{slug}"' in page for slug in SLUGS] == [True] * 4
    delays = section(page, "agency-delays")
    table = text_of(re.search(r"<table.*?</table>", delays, re.S).group(0))  # type: ignore[union-attr]
    # CAT: 1 consultation, overdue and unanswered; SNNMT: 1, answered late (with a cause); the
    # reminders 1 and 2 went to CAT (unanswered), reminder 1 to SNNMT if it ran before the answer;
    # no working day of delay yet.
    cat = r"Công an thành phố Đồng Nai \(CAT\) 1 0 0 1 0 0 1 1 0 0 0 0,0 %"
    assert re.search(cat, table), table
    assert re.search(r"\(SNNMT\) 1 0 1 0 0 0 [01] 0 0 0 0 0,0 %", table), table
    chart = re.search(r'<svg class="chart-svg".*?</svg>', delays, re.S).group(0)  # type: ignore[union-attr]
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    labels = re.findall(r'class="chart-label"[^>]*>([^<]+)<', chart)
    totals = re.findall(r'class="chart-number"[^>]*>([^<]+)<', chart)
    assert len(labels) == 2 and all(late == "1" for late in totals)
    assert any("(CAT)" in label for label in labels), labels
    assert "Số lượt xin ý kiến trễ hạn" in chart  # the values' axis, in Vietnamese
    assert "Cơ quan được xin ý kiến" in chart

    sos = section(page, "sos-audit")
    sos_chart = re.search(r'<svg class="chart-svg".*?</svg>', sos, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'class="chart-label"[^>]*>Sở Xây dựng[^<]*\(SXD\)<', sos_chart), sos_chart
    assert re.findall(r'class="chart-number"[^>]*>([^<]+)<', sos_chart) == ["0", "1"]
    assert f'href="/dossiers/{code}"' in sos
    assert "Dừng xử lý" in text_of(sos) and "CAT: hạn" in text_of(sos)
    assert "quá hạn" in text_of(sos)
    assert f"/reports/sos-audit.xlsx?from={this_week()[0]:%d}%2F" in sos


async def test_r11_r13_on_time_and_late_without_apology_lists_link_each_dossier(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    late, early = await late_and_early_in_march_2025(api, sessions)

    async with signed_in(api, "snv.home_affairs") as home_affairs:
        answer = await home_affairs.get("/reports", params=MARCH_2025)

    assert answer.status_code == 200, answer.text
    listed = section(answer.text, "late-without-apology")
    assert f'href="/dossiers/{late}"' in listed
    assert f'href="/dossiers/{early}"' not in listed
    assert "17:00 24/03/2025" in text_of(listed) and "Đã nhắc" in text_of(listed)
    on_time = text_of(section(answer.text, "on-time"))
    # SXD: 1 closed, 1 completed, early; the share of early and on time 100 %.
    assert "(SXD) 1 1 1 0 0 0 0 0 0 0 0 100,0 %" in on_time, on_time


async def test_downloads_are_the_very_files_of_the_api(api: Api) -> None:
    await late_consultation_and_refused_sos(api)
    start, end = this_week()

    async with signed_in(api, "vpubnd.inspector") as inspector:
        for slug in SLUGS:
            for fmt in ("csv", "xlsx"):
                from_page = await inspector.get(
                    f"/reports/{slug}.{fmt}", params=as_page(start, end)
                )
                from_api = await api.get(
                    f"/api/v1/reports/{slug}", "vpubnd.inspector", format=fmt, **as_api(start, end)
                )
                assert from_page.status_code == from_api.status_code == 200, from_page.text
                for header in ("content-type", "content-disposition"):
                    assert from_page.headers[header] == from_api.headers[header], header
                if fmt == "csv":
                    assert from_page.content == from_api.content, slug
                else:  # a workbook records when it was written: its cells must be the same
                    assert cells(from_page.content) == cells(from_api.content), slug


async def test_r11_the_page_counts_by_receiving_desk_and_its_downloads_are_the_api_files(
    api: Api,
) -> None:
    """Decree 118/2025: the on-time report's third table, the desks that received the
    dossiers; the page's CSV and workbook with it are the API's."""
    await with_calendar(api)
    await completed_at(api, "tthcc.officer")
    start, end = this_week()

    async with signed_in(api, "snv.home_affairs") as home_affairs:
        page = await home_affairs.get("/reports", params=as_page(start, end))
        files = {
            fmt: await home_affairs.get(f"/reports/on-time.{fmt}", params=as_page(start, end))
            for fmt in ("csv", "xlsx")
        }

    on_time = section(page.text, "on-time")
    desks = text_of("<h3 " + on_time.split('<h3 id="on-time-desk"', 1)[1])
    assert desks.startswith("Theo nơi tiếp nhận Nơi tiếp nhận"), desks[:80]
    assert "Trung tâm Phục vụ hành chính công thành phố Đồng Nai (TTHCC) 1 1 1 0" in desks, desks
    for fmt, from_page in files.items():
        from_api = await api.get(
            "/api/v1/reports/on-time", "snv.home_affairs", format=fmt, **as_api(start, end)
        )
        assert from_page.status_code == from_api.status_code == 200, from_page.text
        if fmt == "csv":
            assert from_page.content == from_api.content
            assert "Theo nơi tiếp nhận" in from_page.content.decode("utf-8-sig")
        else:
            assert cells(from_page.content) == cells(from_api.content)
            assert "Theo nơi tiếp nhận" in cells(from_page.content)


# --- who sees what --------------------------------------------------------------------------------


async def test_r9_home_affairs_sees_no_sos_audit_and_may_not_download_it(api: Api) -> None:
    await late_consultation_and_refused_sos(api)
    period = as_page(*this_week())

    async with signed_in(api, "snv.home_affairs") as home_affairs:
        page = await home_affairs.get("/reports", params=period)
        refused = await home_affairs.get("/reports/sos-audit.xlsx", params=period)
        allowed = await home_affairs.get("/reports/agency-delays.xlsx", params=period)

    assert page.status_code == 200, page.text
    assert section(page.text, "agency-delays") and section(page.text, "late-without-apology")
    assert not section(page.text, "sos-audit")
    assert "sos-audit" not in page.text and "SOS" not in text_of(page.text)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "<code>forbidden</code>" in refused.text
    assert allowed.status_code == 200


async def test_reports_page_is_for_oversight_roles_only(api: Api) -> None:
    await with_calendar(api)
    for user in ("sxd.officer", "sxd.head", "admin"):  # as the API: no report for them
        async with signed_in(api, user) as client:
            page = await client.get("/reports")
            download = await client.get("/reports/agency-delays.csv", params=as_page(*this_week()))
        assert (page.status_code, download.status_code) == (403, 403), user
        assert "<code>forbidden</code>" in page.text
    async with signed_in(api, None) as nobody:
        away = await nobody.get("/reports/on-time.csv", params=as_page(*this_week()))
    assert away.status_code == 303
    assert away.headers["location"].startswith("/signin?next=%2Freports%2Fon-time.csv")


# --- the period picker ---------------------------------------------------------------------------


async def test_the_period_is_this_month_unless_chosen_and_presets_are_offered(api: Api) -> None:
    await with_calendar(api)
    today = local_date(datetime.now(UTC))
    first = today.replace(day=1)

    async with signed_in(api, "snv.home_affairs") as home_affairs:
        page = (await home_affairs.get("/reports")).text

    assert f'value="{first:%d/%m/%Y}"' in page
    presets = re.findall(r'<a href="/reports\?from=([^"&]+)&amp;to=([^"]+)"([^>]*)>([^<]+)<', page)
    assert [(label, "current" in attrs) for *_, attrs, label in presets] == [
        ("Tháng này", True),
        ("Tháng trước", False),
        ("Năm nay", False),
    ]
    assert presets[2][:2] == (f"01%2F01%2F{today.year}", f"31%2F12%2F{today.year}")


async def test_a_period_not_read_as_dates_or_reversed_is_shown_on_the_page(api: Api) -> None:
    await with_calendar(api)

    async with signed_in(api, "vpubnd.inspector") as inspector:
        unreadable = await inspector.get("/reports", params={"from": "2026-12-01", "to": ""})
        reversed_ = await inspector.get(
            "/reports", params=as_page(date(2026, 12, 31), date(2026, 12, 1))
        )
        bad_file = await inspector.get(
            "/reports/on-time.csv", params={"from": "x", "to": "31/12/2026"}
        )
        unknown = await inspector.get("/reports/nothing.csv", params=as_page(*this_week()))
        forged = await inspector.get(
            "/reports", params={**as_page(*this_week()), "late_cursor": "not-ours"}
        )

    assert unreadable.status_code == 422
    assert 'aria-invalid="true"' in unreadable.text
    assert "ví dụ 01/12/2026" in unreadable.text and "Vui lòng nhập ngày." in unreadable.text
    assert 'value="2026-12-01"' in unreadable.text  # what was typed stays, to be corrected
    assert reversed_.status_code == 422
    assert "Khoảng thời gian báo cáo không hợp lệ." in reversed_.text
    assert not section(reversed_.text, "agency-delays")
    assert (bad_file.status_code, unknown.status_code) == (422, 404)
    assert forged.status_code == 400 and "<code>invalid_cursor</code>" in forged.text
