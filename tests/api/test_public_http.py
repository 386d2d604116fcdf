"""The citizens' look-up (API.md, "Citizens"): no token, the applicant's phone (spaces ignored),
exactly the public fields and nothing else; a wrong or missing phone answers exactly like an
unknown code, so the look-up tells a stranger nothing about which codes exist."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.http_helpers import PROBLEM, act, dossier, new_code, receive, when
from tests.fixtures.api import APPLICANT, Api

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
