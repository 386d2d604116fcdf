"""Receipt at any desk through the pages (issue 10, Decree 118/2025): the provincial centre's
officer is offered every active procedure grouped by its lead agency, receives a DN-XD-001
dossier for SXD, and reads its page, which names the desk apart from the lead agency; SXD's
officer sees the same line; a dossier its lead agency received names no desk. A desk's inbox
switches to the dossiers it received for other lead agencies."""

from __future__ import annotations

import re

from tests.api.http_helpers import receive
from tests.fixtures.api import APPLICANT, Api
from tests.web.page_client import signed_in

CENTRE = "Trung tâm Phục vụ hành chính công thành phố Đồng Nai"


async def test_a_desk_officer_receives_any_procedure_and_the_page_names_the_desk(
    api: Api,
) -> None:
    desk = await signed_in(api, "tthcc.officer")
    try:
        form = await desk.page("/receive")
        assert 'value="DN-XD-001"' in form and 'value="DN-LLTP-001"' in form  # SXD's, STP's
        assert '<optgroup label="Sở Xây dựng thành phố Đồng Nai">' in form
        assert 'value="DN-TM-002-BIENHOA"' not in form  # an abolished district's: none
        answer = await desk.post(
            "/receive", {"procedure_code": "DN-XD-001", **APPLICANT}, token_from="/receive"
        )
        assert answer.status_code == 303, answer.text[:500]
        code = answer.headers["location"].removeprefix("/dossiers/")
        api.created.append(code)
        assert code.startswith("000.01.01.H19-")  # the centre's unit identifier
        page = await desk.page(f"/dossiers/{code}")
        assert "Nơi tiếp nhận" in page and CENTRE in page
    finally:
        await desk.http.aclose()
    lead = await signed_in(api, "sxd.officer")
    try:
        assert "Nơi tiếp nhận" in await lead.page(f"/dossiers/{code}")
        form = await lead.page("/receive")
        assert "<optgroup" not in form  # its own procedures only, ungrouped as before
        own = (await api.receive("DN-XD-001", "sxd.officer"))["code"]
        assert "Nơi tiếp nhận" not in await lead.page(f"/dossiers/{own}")
    finally:
        await lead.http.aclose()


def views_of(page: str) -> dict[str, tuple[str, str]]:
    """The inbox's list switch: each link's words, with its address and count."""
    found = re.findall(
        r'<a href="([^"]+)"[^>]*>([^<]+?) <span class="count">(\d+)</span></a>',
        page.split('id="inbox-views"', 1)[1].split("</nav>", 1)[0],
    )
    return {words: (href, count) for href, words, count in found}


async def test_a_desk_switches_its_inbox_to_the_dossiers_received_here_keeping_the_search(
    api: Api,
) -> None:
    """Without JavaScript: the ward's inbox links its own list and "Hồ sơ tiếp nhận tại đây",
    each with its count and the search kept; a row received for another lead agency names it.
    The lead agency's own inbox names the desk, and offers no switch (it is no desk)."""
    own = (await receive(api, "DN-HT-001-TRANBIEN", "tranbien.officer"))["code"]
    for_sxd = (await receive(api, "DN-XD-001", "tranbien.officer"))["code"]
    for_stp = (await receive(api, "DN-LLTP-001", "tranbien.officer"))["code"]
    ward = await signed_in(api, "tranbien.officer")
    try:
        page = await ward.page("/inbox?status=processing")
        assert own in page and for_sxd not in page
        views = views_of(page)
        assert views["Hồ sơ đơn vị chủ trì"] == ("/inbox?status=processing", "1")
        here, count = views["Hồ sơ tiếp nhận tại đây"]
        assert (here, count) == ("/inbox?status=processing&received_here=true", "2")

        received = await ward.page(here)
        assert for_sxd in received and for_stp in received and own not in received
        assert "2 hồ sơ tiếp nhận tại đây đang giải quyết." in received
        assert "Cơ quan chủ trì: Sở Xây dựng thành phố Đồng Nai" in received
        assert "Cơ quan chủ trì: Sở Tư pháp thành phố Đồng Nai" in received
        assert "Nơi tiếp nhận:" not in received  # the reader is the desk
        assert '<input type="hidden" name="received_here" value="true">' in received
        # a search within it: the counts of both lists follow it
        searched = await ward.page(f"/inbox?received_here=true&q={for_sxd}")
        assert [for_sxd in searched, for_stp in searched] == [True, False]
        assert {w: c for w, (_, c) in views_of(searched).items()} == {
            "Hồ sơ đơn vị chủ trì": "0",
            "Hồ sơ tiếp nhận tại đây": "1",
        }
    finally:
        await ward.http.aclose()
    lead = await signed_in(api, "sxd.officer")
    try:
        page = await lead.page(f"/inbox?q={for_sxd}")
        assert for_sxd in page and "Nơi tiếp nhận: Ủy ban nhân dân phường Trấn Biên" in page
        assert "Cơ quan chủ trì:" not in page  # the reader leads it
        assert views_of(page) == {}
    finally:
        await lead.http.aclose()
