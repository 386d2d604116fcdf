"""Receipt at any desk through the pages (issue 10, Decree 118/2025): the provincial centre's
officer is offered every active procedure grouped by its lead agency, receives a DN-XD-001
dossier for SXD, and reads its page, which names the desk apart from the lead agency; SXD's
officer sees the same line; a dossier its lead agency received names no desk."""

from __future__ import annotations

from tests.fixtures.api import Api
from tests.web.page_client import signed_in

APPLICANT = {"name": "Trần Thị Lan", "phone": "0903 111 222", "id_number": "075199000111"}
CENTRE = "Trung tâm Phục vụ hành chính công tỉnh Đồng Nai"


async def test_a_desk_officer_receives_any_procedure_and_the_page_names_the_desk(
    api: Api,
) -> None:
    desk = await signed_in(api, "tthcc.officer")
    try:
        form = await desk.page("/receive")
        assert 'value="DN-XD-001"' in form and 'value="DN-LLTP-001"' in form  # SXD's, STP's
        assert '<optgroup label="Sở Xây dựng tỉnh Đồng Nai">' in form
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
