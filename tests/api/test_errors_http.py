"""Bad input never answers 500 and always a problem document with a stable code (API.md,
"Conventions"): authentication, malformed JSON, bodies of the wrong shape, unknown routes and
methods, odd path codes; and what the service serves about itself (OpenAPI, docs, health)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dev.tokens import mint_token
from domain.localtime import local_date
from tests.api.http_helpers import (
    PROBLEM,
    assert_problem,
    dossier,
    eventually,
    receive,
    refused,
)
from tests.fixtures.api import APPLICANT, SECRET, USERS, Api

SOS = "/api/v1/dossiers/{code}/sos"
OFFICER = USERS["sxd.officer"]
AUTHORIZATIONS = {
    "no token": None,
    "empty header": "",
    "not bearer": "Basic c3hkOnNlY3JldA==",
    "not a jwt": "Bearer abc.def",
    "other secret": f"Bearer {mint_token(OFFICER, 'another-secret-of-at-least-thirty-two-bytes')}",
    "expired": "Bearer "
    + mint_token(OFFICER, SECRET, hours=1, now=datetime.now(UTC) - timedelta(hours=3)),
}


@pytest.mark.parametrize("authorization", AUTHORIZATIONS.values(), ids=AUTHORIZATIONS.keys())
async def test_no_or_bad_token_is_401_unauthenticated_with_a_bearer_challenge(
    api: Api, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    calls = [
        ("GET", "/api/v1/dossiers", None),
        ("GET", "/api/v1/dossiers/X-1", None),
        ("POST", "/api/v1/dossiers", {"procedure_code": "DN-XD-001", "applicant": APPLICANT}),
        ("POST", SOS.format(code="X-1"), {"action": "stop", "reason": "x"}),
        ("GET", "/api/v1/notices", None),
        ("GET", "/api/v1/procedures", None),
    ]
    for method, path, body in calls:
        answer = await api.http.request(method, path, json=body, headers=headers)
        problem = assert_problem(answer, 401, "unauthenticated")
        assert answer.headers["www-authenticate"].startswith('Bearer realm="motcua"'), path
        assert problem["detail_vi"]


async def test_malformed_json_is_400(api: Api) -> None:
    code = (await receive(api))["code"]
    for path in ("/api/v1/dossiers", SOS.format(code=code), f"/api/v1/dossiers/{code}/result"):
        for text in (b'{"procedure_code": ', b"{'single': 'quotes'}", b"\xff\xfe"):
            answer = await api.http.post(
                path,
                content=text,
                headers=api.headers("sxd.officer", **{"Content-Type": "application/json"}),
            )
            assert_problem(answer, 400, "malformed_json")
    # Nothing changed; the six attempts on the dossier's actions are kept as refused (R9, R12).
    after = await eventually(
        lambda: dossier(api, code),
        lambda d: len(refused(d)) == 6,
        within=10,
        what="six refused events",
    )
    assert after["status"] == "processing"
    assert {(e["detail"]["action"], e["detail"]["code"]) for e in refused(after)} == {
        ("sos", "malformed_json"),
        ("result", "malformed_json"),
    }


SHAPES: dict[str, tuple[str, Any, list[Any]]] = {
    "sos action explode": (SOS, {"action": "explode", "reason": "x"}, ["body", "action"]),
    "sos without action": (SOS, {"reason": "x"}, ["body", "action"]),
    "sos documents not a list": (
        SOS,
        {"action": "supplement", "reason": "x", "missing_documents": "Đơn"},
        ["body", "missing_documents"],
    ),
    "deadline without zone": (
        "/api/v1/dossiers/{code}/consultations",
        {"agencies": ["CAT"], "content": "x", "deadline": "2030-01-02T10:00:00"},
        ["body", "deadline"],
    ),
    "deadline not a time": (
        "/api/v1/dossiers/{code}/consultations",
        {"agencies": ["CAT"], "content": "x", "deadline": "next Monday"},
        ["body", "deadline"],
    ),
    "agencies not a list": (
        "/api/v1/dossiers/{code}/consultations",
        {"agencies": "CAT", "content": "x", "deadline": "2030-01-02T10:00:00+07:00"},
        ["body", "agencies"],
    ),
    "applicant without name": (
        "/api/v1/dossiers",
        {"procedure_code": "DN-XD-001", "applicant": {"phone": "0912345678"}},
        ["body", "applicant", "name"],
    ),
    "no applicant": ("/api/v1/dossiers", {"procedure_code": "DN-XD-001"}, ["body", "applicant"]),
    "procedure code a number": (
        "/api/v1/dossiers",
        {"procedure_code": 1, "applicant": APPLICANT},
        ["body", "procedure_code"],
    ),
    "odd explicit code": (
        "/api/v1/dossiers",
        {"procedure_code": "DN-XD-001", "applicant": APPLICANT, "code": "a/b c"},
        ["body", "code"],
    ),
    "body a list": ("/api/v1/dossiers", [1, 2], ["body"]),
    "result outcome maybe": (
        "/api/v1/dossiers/{code}/result",
        {"outcome": "maybe", "document_no": "1"},
        ["body", "outcome"],
    ),
    "apology date not a date": (
        "/api/v1/dossiers/{code}/apology",
        {"reason": "x", "new_due_date": "sau Tết"},
        ["body", "new_due_date"],
    ),
    "reply opinion an object": (
        "/api/v1/dossiers/{code}/consultations/CAT/reply",
        {"opinion": {"text": "x"}},
        ["body", "opinion"],
    ),
}


async def test_bodies_of_the_wrong_shape_are_422_validation_error_with_errors(api: Api) -> None:
    code = (await receive(api))["code"]
    for case, (path, body, location) in SHAPES.items():
        answer = await api.post(path.format(code=code), body)  # a party's: recorded
        problem = assert_problem(answer, 422, "validation_error")
        assert isinstance(problem["errors"], list) and problem["errors"], case
        assert all({"loc", "msg", "type"} <= set(e) for e in problem["errors"]), case
        assert location in [e["loc"] for e in problem["errors"]], (case, problem["errors"])
    # Nothing changed; each attempt on the dossier's actions is kept as refused (R9, R12).
    on_the_dossier = sum(path != "/api/v1/dossiers" for path, _, _ in SHAPES.values())
    after = await eventually(
        lambda: dossier(api, code),
        lambda d: len(refused(d)) == on_the_dossier,
        within=10,
        what=f"{on_the_dossier} refused events",
    )
    assert [e["kind"] for e in after["events"] if e["kind"] != "refused"] == ["received"]
    assert {e["detail"]["code"] for e in refused(after)} == {"validation_error"}


async def test_unknown_routes_are_404_and_wrong_methods_405(api: Api) -> None:
    for path in ("/api/v1/nope", "/api/v2/dossiers", "/api/v1/dossiers/X-1/explode"):
        assert_problem(await api.get(path), 404, "not_found")
    # Outside the API's prefixes a path is a page's: the same 404, as a page for people.
    page = await api.get("/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "not_found" in page.text
    wrong = {
        "DELETE": "/api/v1/dossiers",
        "PUT": "/api/v1/dossiers/X-1/sos",
        "PATCH": "/api/v1/dossiers/X-1",
        "GET": "/api/v1/dossiers/X-1/result",
        "POST": "/api/v1/notices",
    }
    for method, path in wrong.items():
        answer = await api.http.request(method, path, headers=api.headers("sxd.officer"))
        assert_problem(answer, 405, "method_not_allowed")
        assert answer.headers["allow"]


async def test_odd_path_codes_are_422(api: Api) -> None:
    for code in ("a$b", "a b", "hồ-sơ", "x" * 65, "a;DROP"):
        answer = await api.get(f"/api/v1/dossiers/{code}")
        problem = assert_problem(answer, 422, "validation_error")
        assert problem["errors"][0]["loc"] == ["path", "code"]
        assert_problem(
            await api.post(SOS.format(code=code), {"action": "stop", "reason": "x"}),
            422,
            "validation_error",
        )
    code = (await receive(api))["code"]
    too_long_agency = f"/api/v1/dossiers/{code}/consultations/" + "A" * 65 + "/reply"
    assert_problem(await api.post(too_long_agency, {"opinion": "x"}), 422, "validation_error")


# Deadlines at the edges of the datetime range, and the rule's own code for each.
END_OF_TIME = {
    "9999-12-31T23:59:59+00:00": "deadline_beyond_maximum",  # plus the grace: year 10000
    "9999-12-31T23:59:59-14:00": "deadline_beyond_maximum",  # in UTC: year 10000
    "0001-01-01T00:00:00+14:00": "deadline_in_past",  # in UTC: year 0
}


async def test_deadlines_at_the_end_of_time_are_refused_not_a_stuck_dossier(api: Api) -> None:
    codes = [(await receive(api))["code"] for _ in END_OF_TIME]

    async def attempt(code: str, deadline: str) -> httpx.Response:
        body = {"agencies": ["CAT"], "content": "Xin ý kiến", "deadline": deadline}
        # Bounded: the bug makes the API wait its whole update timeout (20 s) for nothing.
        return await api.http.post(
            f"/api/v1/dossiers/{code}/consultations",
            json=body,
            headers=api.headers("sxd.officer"),
            timeout=5,
        )

    try:
        answers = await asyncio.gather(*map(attempt, codes, END_OF_TIME))
    except httpx.ReadTimeout:
        pytest.fail("no answer within 5 s: the dossier's workflow is stuck")
    for answer, rule in zip(answers, END_OF_TIME.values(), strict=True):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] in {rule, "validation_error"}
    for code in codes:
        assert (await api.consult(code, "CAT")).status_code == 201


async def test_every_error_is_a_problem_document_never_a_500(api: Api) -> None:
    """A sample of odd requests across the API: each answers 4xx with a problem document."""
    odd: list[tuple[str, str, Any, dict[str, str]]] = [
        ("POST", "/api/v1/dossiers", None, {}),
        ("POST", "/api/v1/dossiers", "", {"Content-Type": "application/json"}),
        ("POST", "/api/v1/dossiers", {"procedure_code": None, "applicant": None}, {}),
        ("GET", "/api/v1/dossiers?limit=1e3", None, {}),
        ("GET", "/api/v1/notices?kind=", None, {}),
        ("GET", "/public/v1/dossiers/X?phone=" + "9" * 40, None, {}),
        ("POST", "/api/v1/agencies", {"code": "X"}, {}),
        ("PUT", "/api/v1/procedures/DN-XD-001", {"code": "DN-XD-001"}, {}),
    ]
    for method, path, body, headers in odd:
        answer = await api.http.request(
            method, path, json=body, headers=api.headers("admin", **headers)
        )
        assert 400 <= answer.status_code < 500, (method, path, answer.text)
        assert answer.headers["content-type"] == PROBLEM, (method, path)
        assert answer.json()["code"], (method, path)


# --- what the service serves about itself ----------------------------------------------------


# API.md's routes but the oversight reports (issue 4).
CONTRACT_ROUTES = {
    ("get", "/api/v1/agencies"),
    ("get", "/api/v1/procedures"),
    ("post", "/api/v1/dossiers"),
    ("get", "/api/v1/dossiers"),
    ("get", "/api/v1/dossiers/{code}"),
    ("post", "/api/v1/dossiers/{code}/consultations"),
    ("post", "/api/v1/dossiers/{code}/consultations/{agency}/reply"),
    ("post", "/api/v1/dossiers/{code}/sos"),
    ("post", "/api/v1/dossiers/{code}/supplement"),
    ("post", "/api/v1/dossiers/{code}/resume"),
    ("post", "/api/v1/dossiers/{code}/apology"),
    ("post", "/api/v1/dossiers/{code}/withdrawal"),
    ("post", "/api/v1/dossiers/{code}/withdrawal/confirm"),
    ("post", "/api/v1/dossiers/{code}/result"),
    ("post", "/api/v1/dossiers/{code}/handover"),
    ("get", "/api/v1/notices"),
    ("get", "/api/v1/reports/agency-delays"),
    ("get", "/api/v1/reports/sos-audit"),
    ("get", "/public/v1/dossiers/{code}"),
    ("get", "/public/v1/dossiers/{code}/progress"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


async def test_openapi_lists_every_route_of_the_contract_and_docs_are_served(api: Api) -> None:
    answer = await api.http.get("/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    served = {(method, path) for path, item in document["paths"].items() for method in item}
    assert CONTRACT_ROUTES <= served, CONTRACT_ROUTES - served
    assert document["info"]["version"]
    docs = await api.http.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


async def test_health_and_readiness(api: Api) -> None:
    health = await api.http.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"temporal": True, "database": True}
    # The calendar is a detail, never a check: an unconfirmed next year still leaves it ready.
    calendar = ready.json()["details"]["calendar"]
    assert calendar["confirmed_years"] == [2023, 2024, 2025, 2026, 2027]
    assert calendar["to_confirm"] == ["2027-05-03"]  # 3/5/2027 in lieu of Saturday 1/5
    next_year = local_date(datetime.now(UTC)).year + 1
    assert (next_year in calendar["unconfirmed_years"]) is (next_year > 2027)
    assert (calendar["warning"] is None) is (not calendar["unconfirmed_years"])
