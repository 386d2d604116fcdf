"""The work-list pages over real HTTP, on both databases (issue 9): the officers' inbox by urgency
(`/inbox`: groups and their counts, rows, search, filters, next-page links), the consulted
agency's inbox and its reply form (`/consultations`, R7: a late reply needs its cause), the
withdrawals waiting for a head (`/withdrawals`, R6), and who may read none of them (403 page).

The inbox's dossiers are written into the read model as the projection writes them (as the API's
tests of the same lists do: due dates days apart are out of a test's reach); consultations and
withdrawals come from real workflows, and the pages' forms post to the dossier actions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import pytest
import pytest_asyncio

from tests.api.http_helpers import act, consult, dossier, eventually, receive, sleep_until
from tests.api.test_work_lists_http import WITHDRAWAL, inbox_corpus
from tests.fixtures.api import Api
from tests.web.page_client import Browser, signed_in
from web.pages import inbox as inbox_page

ROW = re.compile(
    r'<tr class="urgency-(\w+)">\s*<td[^>]*><a class="dossier-code" href="/dossiers/([^"]+)"'
)
TAB = re.compile(
    r'<a class="tab (\w+)" href="([^"]+)"[^>]*>\s*[^<]*<span class="count">(\d+)</span>'
)


@pytest_asyncio.fixture(loop_scope="session")
async def officer(api: Api) -> AsyncIterator[Browser]:
    browser = await signed_in(api, "sxd.officer")
    yield browser
    await browser.http.aclose()


def rows(page: str) -> list[tuple[str, str]]:
    """(code, urgency) of each row of the inbox's table, in order."""
    return [(code, urgency) for urgency, code in ROW.findall(page)]


def tabs(page: str) -> dict[str, int]:
    return {key: int(count) for key, _, count in TAB.findall(page)}


def row_of(page: str, code: str) -> str:
    start = page.index(f'href="/dossiers/{code}"')
    return page[start : page.index("</tr>", start)]


async def test_inbox_groups_by_urgency_with_counts_words_and_due_first(
    api: Api, database_url: str, officer: Browser
) -> None:
    codes = await inbox_corpus(api, database_url)

    page = await officer.page("/inbox")

    assert tabs(page) == {"all": 6, "late": 2, "due_today": 1, "due_soon": 1, "in_time": 2}
    assert rows(page) == [
        (codes["late"], "late"),
        (codes["due_today"], "due_today"),
        (codes["due_soon"], "due_soon"),
        (codes["in_time"], "in_time"),
        (codes["marked_late"], "late"),
        (codes["no_due_date"], "in_time"),
    ]
    assert codes["closed"] not in page and codes["other_agency"] not in page
    # each group's colour comes with its word, and the working days in words
    late = row_of(page, codes["late"])
    assert '<span class="badge late">Quá hạn</span>' in late
    assert re.search(r"quá hạn \d+ ngày làm việc", late)
    assert "Nguyễn Thị Ánh" in late and "Cấp giấy phép xây dựng" in late and "Đang xử lý" in late
    today = row_of(page, codes["due_today"])
    assert '<span class="badge due_today">Đến hạn hôm nay</span>' in today
    assert "hạn là hôm nay" in today
    soon = row_of(page, codes["due_soon"])
    assert "Sắp đến hạn" in soon and re.search(r"còn [12] ngày làm việc", soon)
    assert "Chưa có hạn: chờ bổ sung hồ sơ" in row_of(page, codes["no_due_date"])
    assert "Đã có kết quả, chờ trả" in row_of(page, codes["marked_late"])
    # received and due dates as dd/mm/yyyy
    assert re.search(r"<td data-label=\"Ngày nhận\">\d\d/\d\d/\d{4}</td>", late)

    # each group is a link of its own (?urgency=), and the counts stay those of every group
    href = dict((key, link) for key, link, _ in TAB.findall(page))["due_today"]
    assert "urgency=due_today" in href
    group = await officer.page(href.replace("&amp;", "&"))
    assert rows(group) == [(codes["due_today"], "due_today")]
    assert tabs(group) == tabs(page)
    assert re.search(r'aria-current="page">\s*Đến hạn hôm nay', group)


async def test_inbox_search_by_name_without_diacritics_by_code_and_filters(
    api: Api, database_url: str, officer: Browser
) -> None:
    codes = await inbox_corpus(api, database_url)

    found = await officer.page("/inbox?q=le+van+cuong")
    assert rows(found) == [(codes["due_today"], "due_today")]
    assert tabs(found) == {"all": 1, "late": 0, "due_today": 1, "due_soon": 0, "in_time": 0}
    assert 'value="le van cuong"' in found  # the search stays in its field
    assert "Tìm thấy 1 hồ sơ đang giải quyết." in found
    assert [c for c, _ in rows(await officer.page("/inbox?q=Đức"))] == [codes["in_time"]]
    by_code = await officer.page(f"/inbox?q={codes['due_soon'][-6:].upper()}")
    assert [c for c, _ in rows(by_code)] == [codes["due_soon"]]

    ready = await officer.page("/inbox?status=result_ready&q=")
    assert rows(ready) == [(codes["marked_late"], "late")]
    assert '<option value="result_ready" selected>' in ready
    procedure = await officer.page("/inbox?procedure_code=DN-XD-002&status=")
    assert [c for c, _ in rows(procedure)] == [codes["due_soon"]]
    assert '<option value="DN-XD-002" selected>' in procedure  # the catalogue's, SXD's own
    assert '<option value="DN-XD-001">' in procedure
    assert "DN-LLTP-001" not in procedure  # STP's procedure is not SXD's to filter by
    nothing = await officer.page("/inbox?q=kh%C3%B4ng+ai")
    assert rows(nothing) == [] and "Không có hồ sơ nào khớp với điều kiện tìm." in nothing

    odd = await officer.http.get("/inbox?status=lost")
    assert odd.status_code == 422 and "Thông tin gửi lên chưa đúng" in unescape(odd.text)


async def test_inbox_next_page_links_carry_the_keyset_cursor(
    api: Api, database_url: str, officer: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = await inbox_corpus(api, database_url)
    monkeypatch.setattr(inbox_page, "PAGE_SIZE", 4)  # the server runs in this process

    seen: list[str] = []
    address: str | None = "/inbox"
    while address:
        page = await officer.page(address)
        seen += [code for code, _ in rows(page)]
        assert tabs(page)["all"] == 6
        link = re.search(r'<a href="([^"]+)" rel="next">', page)
        address = link.group(1) if link else None
        assert len(seen) <= 6
    assert seen == [
        codes[k] for k in ("late", "due_today", "due_soon", "in_time", "marked_late", "no_due_date")
    ]
    assert (await officer.http.get("/inbox?cursor=bm90IGEgY3Vyc29y")).status_code == 400


async def test_who_may_not_read_a_list_gets_the_403_page(api: Api) -> None:
    admin = await signed_in(api, "admin")
    officer = await signed_in(api, "sxd.officer")
    try:
        for path in ("/inbox", "/consultations", "/withdrawals"):
            refused = await admin.http.get(path)
            assert refused.status_code == 403, path
            assert "<code>forbidden</code>" in refused.text, path
        refused = await officer.http.get("/withdrawals")  # R6: heads confirm, officers do not
        assert refused.status_code == 403
        another = await officer.http.get("/inbox?lead_agency=STP")
        assert another.status_code == 403
        evaluator = await signed_in(api, "snv.home_affairs")  # any agency's, as by the API
        assert (await evaluator.http.get("/inbox?lead_agency=STP")).status_code == 200
        await evaluator.http.aclose()
    finally:
        await admin.http.aclose()
        await officer.http.aclose()
    nobody = await api.http.get("/consultations")
    assert nobody.status_code == 303 and nobody.headers["location"].startswith("/signin?next=")


async def test_r7_a_consulted_agency_replies_late_from_its_inbox(api: Api) -> None:
    late = (await receive(api))["code"]
    in_time = (await receive(api))["code"]
    await consult(api, in_time, "CAT", in_seconds=3600)
    [asked] = await consult(api, late, "CAT", in_seconds=3)  # room for a loaded machine
    await sleep_until(asked["deadline"])
    agency = await signed_in(api, "cat.officer")
    try:
        page = await agency.page("/consultations")
        assert page.index(f'data-dossier="{late}"') < page.index(f'data-dossier="{in_time}"')
        card = page[page.index(f'data-dossier="{late}"') : page.index(f'data-dossier="{in_time}"')]
        assert "Quá hạn, chưa trả lời" in card
        assert "Nguyễn Văn An" in card and "Sở Xây dựng" in card and "Xin ý kiến" in card
        assert '<fieldset class="late-cause">' in card  # R7: shown and required
        assert 'name="late_reason"' in card and "required" in card
        on_time = page[page.index(f'data-dossier="{in_time}"') :]
        assert '<fieldset class="late-cause" hidden disabled>' in on_time  # not yet late
        assert 'src="/static/reply.js" defer' in page

        reply = f"/dossiers/{late}/actions/reply"
        back = {"return_to": "/consultations", "agency": "CAT"}
        refused = await agency.post(reply, {"opinion": "Đồng ý", **back}, "/consultations")
        assert refused.status_code == 303 and refused.headers["location"] == "/consultations"
        page = await agency.page("/consultations")
        flash = page[page.index('class="flash flash-error"') :][:800]
        assert "nguyên nhân chậm" in flash
        assert ">Đồng ý</textarea>" in page  # what was typed, filled in again

        fields = {"opinion": "Đồng ý", "late_reason": "Chờ ý kiến phòng chuyên môn", **back}
        done = await agency.post(reply, fields, "/consultations")
        assert done.status_code == 303
        page = await agency.page("/consultations")
        assert "Đã gửi ý kiến trả lời." in page
        assert f'data-dossier="{late}"' not in page  # no longer awaited

        answered = await agency.page("/consultations?state=answered")
        card = answered[answered.index(f'data-dossier="{late}"') :]
        assert "Đã trả lời sau hạn" in card and "Đã trả lời lúc" in card
        assert "<form" not in card[: card.find("</article>")]
    finally:
        await agency.http.aclose()
    document = await dossier(api, late)
    assert document["consultations"][0]["status"] == "answered_late"
    assert document["consultations"][0]["late_reason"] == "Chờ ý kiến phòng chuyên môn"


async def test_r6_the_head_confirms_a_withdrawal_from_the_list(api: Api) -> None:
    first = (await receive(api))["code"]
    second = (await receive(api))["code"]
    for code in (first, second):
        assert (await act(api, code, "withdrawal", WITHDRAWAL)).status_code == 202
    head = await signed_in(api, "sxd.head")
    try:
        page = await head.page("/withdrawals")
        assert page.index(f'data-dossier="{first}"') < page.index(f'data-dossier="{second}"')
        card = page[page.index(f'data-dossier="{first}"') :]
        assert WITHDRAWAL["reason"] in card and "DON-07" in card
        assert "Nguyễn Văn An" in card and "Lê Văn Cường" in card

        confirm = f"/dossiers/{first}/actions/confirm_withdrawal"
        empty = await head.post(confirm, {"return_to": "/withdrawals"}, "/withdrawals")
        assert empty.status_code == 303
        page = await head.page("/withdrawals")
        flash = page[page.index('class="flash flash-error"') :][:400]
        assert "Phải có chữ ký xác nhận của thủ trưởng." in flash  # R6's refusal

        fields = {"signature_ref": "KY-07/QĐ", "return_to": "/withdrawals"}
        done = await head.post(confirm, fields, "/withdrawals")
        assert done.status_code == 303 and done.headers["location"] == "/withdrawals"
        page = await head.page("/withdrawals")
        assert "Đã xác nhận rút hồ sơ." in page
        assert f'data-dossier="{first}"' not in page and f'data-dossier="{second}"' in page
    finally:
        await head.http.aclose()
    await eventually(
        lambda: dossier(api, first),
        lambda d: d["status"] == "withdrawn",
        within=10,
        what="the withdrawn dossier",
    )


async def test_a_stopped_dossier_says_its_clock_waits_not_a_supplement(
    api: Api, officer: Browser
) -> None:
    """R11: while stopped the dossier has no due date; the inbox says why in words."""
    code = (await api.receive())["code"]
    stop = {"action": "stop", "reason": "Chờ văn bản của Bộ"}
    assert (await api.post(f"/api/v1/dossiers/{code}/sos", stop)).status_code == 200
    row = row_of(await officer.page(f"/inbox?q={code[-6:]}"), code)
    assert "Tạm dừng: thời hạn tính tiếp khi hồ sơ được xử lý lại" in row
    assert "chờ bổ sung" not in row
