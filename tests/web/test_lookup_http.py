"""The citizens' look-up page over real HTTP, on SQLite and PostgreSQL: what
`/public/v1/dossiers/{code}/progress` gives and nothing more, a wrong code and a wrong phone
alike, the limits shared with the API and a page with the wait beyond them."""

from __future__ import annotations

import html
import re

import httpx

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from tests.api.http_helpers import in_the_read_model, new_code, receive, serving
from tests.fixtures.api import APPLICANT, SECRET, Api
from tests.web.citizen import (
    APOLOGY_REASON,
    DOCUMENT,
    PHONE,
    SUPPLEMENT,
    awaiting_supplement,
    supplemented_and_apologised,
)


async def look_up(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    """The page as a citizen's browser asks for it: no token, no cookie needed."""
    return await client.get("/lookup", params=params)


def text(page: httpx.Response) -> str:
    """The page's words, tags dropped, entities read, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def refusal(page: httpx.Response) -> str:
    found = re.search(
        r'<div class="flash flash-error" role="alert" id="lookup-refusal">(.*?)</div>',
        page.text,
        re.S,
    )
    assert found, page.text
    return " ".join(found.group(1).split())


async def progress(api: Api, code: str) -> dict[str, object]:
    answer = await api.http.get(f"/public/v1/dossiers/{code}/progress", params={"phone": PHONE})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_qr_code_s_address_fills_the_code_and_asks_for_the_phone(api: Api) -> None:
    code = (await receive(api))["code"]

    page = await look_up(api.http, code=code)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'name="code" value="{code}"' in page.text
    assert re.search(r'name="phone" value=""[^>]*autofocus', page.text, re.S)
    assert "Quá trình giải quyết" not in page.text  # nothing shown before the phone matches


async def test_what_to_supply_is_shown_and_nothing_private(api: Api) -> None:
    code = await awaiting_supplement(api)

    page = await look_up(api.http, code=code, phone="0912345678")

    assert page.status_code == 200, page.text
    words = text(page)
    assert "Chờ bổ sung hồ sơ" in words  # the status in words
    asked = "Đề nghị ông/bà bổ sung một lần, đầy đủ các giấy tờ sau tại Bộ phận Một cửa:"
    assert f"Cần bổ sung giấy tờ {asked} {DOCUMENT}" in words
    assert f"Lý do: {SUPPLEMENT['reason']}" in words
    for step in (await progress(api, code))["timeline"]:  # type: ignore[attr-defined]
        assert step["label_vi"] in words
    assert "Lấy ý kiến cơ quan liên quan" in words
    for private in (
        APPLICANT["name"],
        APPLICANT["id_number"],
        "SNNMT",
        "snnmt",
        "Đồng ý",
        "sxd.officer",
    ):
        assert private not in page.text, private


async def test_the_apology_s_new_date_is_the_due_date_in_force(api: Api) -> None:
    code, new_date = await supplemented_and_apologised(api)
    shown = await progress(api, code)
    assert shown["apology"]["new_due_date"] == new_date.isoformat()  # type: ignore[index]
    assert shown["supplement"] is None  # delivered: nothing more to supply

    page = await look_up(api.http, code=code, phone=PHONE)

    words = text(page)
    assert f"Ngày hẹn trả kết quả mới: {new_date:%d/%m/%Y}" in words
    assert f"Lý do: {APOLOGY_REASON}" in words
    assert re.search(rf"Hẹn trả kết quả \d\d:\d\d {new_date:%d/%m/%Y}", words), words
    assert "Cần bổ sung giấy tờ" not in words
    kinds = [step["kind"] for step in shown["timeline"]]  # type: ignore[attr-defined]
    assert kinds[:5] == [
        "received",
        "consultation_requested",
        "sos_supplement",
        "supplement",
        "due_changed",
    ]
    assert kinds[5:] == ["apology"]  # its due change is the apology itself


async def test_a_wrong_phone_and_an_unknown_code_read_alike(api: Api) -> None:
    code = (await receive(api))["code"]

    wrong_phone = await look_up(api.http, code=code, phone="0987654321")
    unknown_code = await look_up(api.http, code=new_code(), phone=PHONE)

    for page in (wrong_phone, unknown_code):
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Quá trình giải quyết" not in page.text
    assert refusal(wrong_phone) == refusal(unknown_code)
    assert "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này." in refusal(wrong_phone)


async def test_the_page_and_the_api_share_the_limits_and_too_many_is_a_page_with_the_wait(
    database_url: str,
) -> None:
    await in_the_read_model(database_url, "X-1", phone="0912345678")
    settings = Settings(
        database_url=database_url,
        temporal_address="127.0.0.1:1",  # the look-up reads the read model only
        public_lookups_per_address=100,
        public_lookups_per_dossier=2,
        public_lookup_window_seconds=60,
    )
    async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as client:
        api = await client.get("/public/v1/dossiers/X-1", params={"phone": "0912 345 678"})
        assert api.status_code == 200
        page = await look_up(client, code="X-1", phone="0912345678")
        assert page.status_code == 200 and "Quá trình giải quyết" in page.text

        limited = await look_up(client, code="X-1", phone="0912345678")

        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("text/html")
        wait = int(limited.headers["Retry-After"])
        assert 1 <= wait <= 30
        assert f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {wait} giây." in refusal(
            limited
        )
        assert "Quá trình giải quyết" not in limited.text
        after = await client.get("/public/v1/dossiers/X-1", params={"phone": "0912345678"})
        assert after.status_code == 429  # the API counts the page's tries, and the page the API's
