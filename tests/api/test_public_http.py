"""The citizens' look-up (API.md, "Citizens"): no token, the applicant's phone (spaces ignored),
exactly the public fields and nothing else; a wrong or missing phone answers exactly like an
unknown code, so the look-up tells a stranger nothing about which codes exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from tests.api.http_helpers import (
    PROBLEM,
    act,
    dossier,
    in_the_read_model,
    new_code,
    receive,
    serving,
    when,
)
from tests.fixtures.api import APPLICANT, SECRET, Api

PUBLIC_KEYS = {
    "code",
    "procedure_name",
    "status",
    "status_label_vi",
    "received_at",
    "due_at",
    "completed_at",
}


async def look_up(api: Api, code: str, **params: str) -> httpx.Response:
    """The look-up as a citizen's browser makes it: no Authorization header at all."""
    return await api.http.get(f"/public/v1/dossiers/{code}", params=params)


async def test_public_look_up_needs_no_token_and_shows_only_the_public_fields(api: Api) -> None:
    received = await receive(api)
    code = received["code"]
    assert APPLICANT["phone"] == "0912 345 678"

    for phone in ("0912345678", "0912 345 678", " 0912 34 5678 ", "0912\t345678"):
        found = await look_up(api, code, phone=phone)
        assert found.status_code == 200, (phone, found.text)
        assert found.headers["content-type"] == "application/json"
        public = found.json()
        assert set(public) == PUBLIC_KEYS, phone

    assert public["code"] == code
    assert public["procedure_name"].startswith("Cấp giấy phép xây dựng mới")
    assert (public["status"], public["status_label_vi"]) == ("processing", "Đang xử lý")
    assert when(public["received_at"]) == when(received["received_at"])
    assert when(public["due_at"]) == when(received["due_at"])
    assert public["completed_at"] is None
    text = found.text
    for private in (APPLICANT["name"], APPLICANT["id_number"], "SXD", "events", "consultations"):
        assert private not in text

    result = {"outcome": "approved", "document_no": "7/GPXD", "summary": "Cấp phép"}
    assert (await act(api, code, "result", result)).status_code == 200
    assert (await act(api, code, "handover", {})).status_code == 200

    done = (await look_up(api, code, phone="0912345678")).json()
    assert (done["status"], done["status_label_vi"]) == ("completed", "Đã trả kết quả")
    assert when(done["completed_at"]) == when((await dossier(api, code))["completed_at"])


def without_instance(response: httpx.Response, code: str) -> dict[str, Any]:
    """The problem document less what only echoes the request (its path, the code asked for)."""
    body: dict[str, Any] = response.json()
    body.pop("instance")
    return {k: v.replace(code, "{code}") if isinstance(v, str) else v for k, v in body.items()}


async def test_wrong_or_missing_phone_answers_like_an_unknown_code(api: Api) -> None:
    code = (await receive(api))["code"]
    without_phone = (await receive(api, applicant={"name": "Trần Văn Bình"}))["code"]
    unknown = new_code()

    answers = {
        "wrong phone": (code, await look_up(api, code, phone="0987654321")),
        "missing phone": (code, await look_up(api, code)),
        "empty phone": (code, await look_up(api, code, phone="  ")),
        "unknown code": (unknown, await look_up(api, unknown, phone="0912345678")),
        "no phone on file": (without_phone, await look_up(api, without_phone, phone="0912345678")),
    }

    for case, (asked, answer) in answers.items():
        assert answer.status_code == 404, case
        assert answer.headers["content-type"] == PROBLEM, case
        assert answer.json()["code"] == "dossier_not_found", case
        assert answer.json()["instance"] == f"/public/v1/dossiers/{asked}", case
    bodies = {case: without_instance(answer, asked) for case, (asked, answer) in answers.items()}
    assert all(body == bodies["unknown code"] for body in bodies.values()), bodies
    # A token changes nothing: the look-up is the same for everyone.
    with_token = await api.get(f"/public/v1/dossiers/{code}", "sxd.officer", phone="0987654321")
    assert with_token.status_code == 404
    assert without_instance(with_token, code) == bodies["unknown code"]


async def limited_look_ups(
    database_url: str, per_address: int, per_dossier: int
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        temporal_address="127.0.0.1:1",  # the look-up reads the read model only
        public_lookups_per_address=per_address,
        public_lookups_per_dossier=per_dossier,
        public_lookup_window_seconds=60,
    )
    async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as client:
        yield client


def assert_rate_limited(answer: httpx.Response, within_s: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == "rate_limited"
    assert 1 <= int(answer.headers["Retry-After"]) <= within_s


async def test_issue8_look_ups_of_one_code_are_limited_alike_for_known_and_unknown_codes(
    database_url: str,
) -> None:
    """Per dossier code: 2 a minute here (one every 30 s); a wrong phone counts as an unknown
    code does, and answers the same."""
    await in_the_read_model(database_url, "X-1", phone="0912345678")
    async with asynccontextmanager(limited_look_ups)(database_url, 100, 2) as client:
        wrong = [await client.get("/public/v1/dossiers/X-1", params={"phone": "0"}) for _ in "12"]
        unknown = [await client.get("/public/v1/dossiers/X-2", params={"phone": "0"}) for _ in "12"]
        for answer in (*wrong, *unknown):
            assert answer.status_code == 404 and answer.json()["code"] == "dossier_not_found"
        for code, phone in (("X-1", "0912345678"), ("X-2", "0")):
            answer = await client.get(f"/public/v1/dossiers/{code}", params={"phone": phone})
            assert_rate_limited(answer, 30)  # even the right phone, now
        found = await client.get("/public/v1/dossiers/X-3", params={"phone": "0"})
        assert found.status_code == 404  # another code is not limited by these


async def test_issue8_look_ups_from_one_address_are_limited(database_url: str) -> None:
    """Per client address: 3 a minute here, whatever the codes (they are sequential)."""
    async with asynccontextmanager(limited_look_ups)(database_url, 3, 100) as client:
        for n in range(3):
            answer = await client.get(f"/public/v1/dossiers/X-{n}", params={"phone": "0"})
            assert answer.status_code == 404, answer.text
        assert_rate_limited(await client.get("/public/v1/dossiers/X-9", params={"phone": "0"}), 20)


PROGRESS_KEYS = PUBLIC_KEYS | {"apology", "supplement", "timeline"}
STEP_KEYS = {"at", "kind", "label_vi", "reason", "documents", "due_at", "new_due_date"}


async def test_progress_adds_the_applicant_s_steps_and_nothing_private(api: Api) -> None:
    code = (await receive(api))["code"]
    await api.consult(code, "SNNMT")
    document = "Đơn đề nghị cấp giấy phép xây dựng"  # one of DN-XD-001's required documents
    await reply_and_act(
        api, code, {"action": "supplement", "reason": "Thiếu đơn", "missing_documents": [document]}
    )

    found = await api.http.get(
        f"/public/v1/dossiers/{code}/progress", params={"phone": "0912345678"}
    )

    assert found.status_code == 200, found.text
    shown = found.json()
    assert set(shown) == PROGRESS_KEYS
    assert shown["status"] == "awaiting_supplement"
    assert shown["supplement"]["missing_documents"] == [document]
    assert shown["supplement"]["reason"] == "Thiếu đơn"
    assert shown["apology"] is None
    assert [step["kind"] for step in shown["timeline"]] == [
        "received",
        "consultation_requested",
        "sos_supplement",
    ]
    assert all(set(step) == STEP_KEYS for step in shown["timeline"])
    for private in (APPLICANT["name"], APPLICANT["id_number"], "SNNMT", "Xin ý kiến", "refused"):
        assert private not in found.text
    wrong = await api.http.get(f"/public/v1/dossiers/{code}/progress", params={"phone": "0"})
    unknown = await api.http.get(
        f"/public/v1/dossiers/{new_code()}/progress", params={"phone": "0"}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["code"] == unknown.json()["code"] == "dossier_not_found"


async def reply_and_act(api: Api, code: str, sos: dict[str, Any]) -> None:
    """SNNMT answers, then the officer asks for a supplement (R4 lets him once none awaits)."""
    body = {"opinion": "Đồng ý", "late_reason": None}
    answered = await api.post(
        f"/api/v1/dossiers/{code}/consultations/SNNMT/reply", body, "snnmt.officer"
    )
    assert answered.status_code == 200, answered.text
    asked = await api.post(f"/api/v1/dossiers/{code}/sos", sos)
    assert asked.status_code == 200, asked.text
