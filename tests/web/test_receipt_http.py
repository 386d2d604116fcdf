"""Receiving a dossier at the desk through the page (issue 9): the receipt's own rule decides
who may receive which procedure (R2), the code comes from the unit's daily sequence, bad input
is shown by field with what was typed kept, and the receipt is the API's."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.localtime import VN
from tests.fixtures.api import APPLICANT, Api
from tests.web.page_client import signed_in


async def test_an_officer_receives_a_dossier_and_lands_on_its_page(api: Api) -> None:
    officer = await signed_in(api, "sxd.officer")
    form = await officer.page("/receive")
    assert 'value="DN-XD-001"' in form
    assert "DN-LLTP-001" not in form  # STP's procedure: not SXD's to receive (R2)
    answer = await officer.post(
        "/receive", {"procedure_code": "DN-XD-001", **APPLICANT}, token_from="/receive"
    )
    assert answer.status_code == 303, answer.text[:500]
    code = answer.headers["location"].removeprefix("/dossiers/")
    api.created.append(code)
    today = datetime.now(UTC).astimezone(VN)
    assert f"-{today:%y%m%d}-" in code  # the unit's daily sequence
    page = await officer.page(f"/dossiers/{code}")
    assert "Đã tiếp nhận hồ sơ" in page and APPLICANT["name"] in page
    dossier = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert dossier["applicant"]["phone"] == APPLICANT["phone"]
    assert dossier["events"][0]["actor"] == "sxd.officer"
    await officer.http.aclose()


async def test_bad_input_is_shown_by_field_and_kept(api: Api) -> None:
    officer = await signed_in(api, "sxd.officer")
    answer = await officer.post(
        "/receive",
        {"procedure_code": "DN-XD-001", "name": "", "phone": "0903 111 222"},
        token_from="/receive",
    )
    assert answer.status_code == 422
    assert 'id="receipt-name-error"' in answer.text
    assert 'value="0903 111 222"' in answer.text  # what was typed is kept
    long_name = "A" * 201
    answer = await officer.post(
        "/receive", {"procedure_code": "DN-XD-001", "name": long_name}, token_from="/receive"
    )
    assert answer.status_code == 422 and 'id="receipt-name-error"' in answer.text
    await officer.http.aclose()


async def test_who_may_not_receive_is_told_so(api: Api) -> None:
    consulted = await signed_in(api, "cat.officer")
    form = await consulted.page("/receive")
    assert "không chủ trì thủ tục nào" in form
    # posted all the same: the receipt's rule refuses it (R2), nothing is started
    answer = await consulted.post(
        "/receive", {"procedure_code": "DN-XD-001", **APPLICANT}, token_from="/receive"
    )
    assert answer.status_code == 403
    assert "Sở Xây dựng" in answer.text or "SXD" in answer.text
    await consulted.http.aclose()
    stranger = await api.http.get("/receive", follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/signin")
