"""Limits at the boundary (issue 8, items 1, 2, 3 and 5; issue 10's `null`): bodies over the cap
are 413 before anything parses them; texts beyond their length or holding a control character,
lists too long and numbers beyond the databases are 422 with a code naming the field; so are
control characters in paths and queries; odd cursors are 400. Never a 5xx, never a frozen
dossier, never a read-model row for a change the workflow did not accept. Over real HTTP on
SQLite and PostgreSQL (which refuses NUL: the bug of item 1)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlmodel import col, update

from db.engine import create_engine
from db.models import DossierRecord, ProcedureRecord
from domain import limits
from tests.api.http_helpers import (
    PROBLEM,
    act,
    assert_problem,
    consult,
    deadline_in,
    dossier,
    eventually,
    new_code,
    receive,
    refused,
)
from tests.fixtures.api import APPLICANT, Api

MB = 1024 * 1024


def assert_beyond(response: httpx.Response, code: str, field: str) -> dict[str, Any]:
    """A 422 of `domain.limits` with its code, naming `field`."""
    problem = assert_problem(response, 422, code)
    assert problem["field"] == field, problem
    return problem


def cursor_of(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


async def test_nul_in_an_sos_reason_is_422_and_the_dossier_keeps_working(api: Api) -> None:
    """Item 1: the NUL used to reach the read model, which PostgreSQL refused for ever."""
    code = (await receive(api))["code"]
    stop = {"action": "stop", "reason": "x\u0000y"}
    assert_beyond(await act(api, code, "sos", stop), "forbidden_character", "reason")
    # A NUL byte in a body that is not even JSON: its excerpt is kept for the audit, escaped.
    raw = b'{"action": "stop", "reason": "x\x00'
    headers = api.headers("sxd.officer", **{"Content-Type": "application/json"})
    answer = await api.http.post(f"/api/v1/dossiers/{code}/sos", content=raw, headers=headers)
    assert_problem(answer, 400, "malformed_json")
    after = await eventually(
        lambda: dossier(api, code),
        lambda d: len(refused(d)) == 2,
        within=10,
        what="two refused events",
    )
    assert after["status"] == "processing"
    assert [e["detail"]["code"] for e in refused(after)] == [
        "forbidden_character",
        "malformed_json",
    ]
    excerpt = refused(after)[1]["detail"]["request"]["body"]
    assert "\x00" not in excerpt and "x\\u0000" in excerpt
    # Not frozen: the next action is answered, and reaches the read model.
    stopped = await act(api, code, "sos", {"action": "stop", "reason": "Chờ kết quả giám định"})
    assert stopped.status_code == 200, stopped.text
    assert (await dossier(api, code))["status"] == "stopped"


async def test_nul_in_an_applicant_name_is_422_and_no_dossier_is_received(api: Api) -> None:
    """Item 1: the receipt used to start a workflow whose dossier never reached the read model."""
    odd = {
        "name": ("applicant.name", {**APPLICANT, "name": "Lê\u0000Văn"}),
        "line break in a name": ("applicant.name", {**APPLICANT, "name": "Lê\nVăn"}),
        "lone surrogate": ("applicant.address", {**APPLICANT, "address": "Biên Hòa \ud800"}),
        "phone": ("applicant.phone", {**APPLICANT, "phone": "0912\u0007"}),
    }
    headers = api.headers("sxd.officer", **{"Content-Type": "application/json"})
    for field, applicant in odd.values():
        code = new_code()
        # As JSON with escapes: a lone surrogate has no UTF-8 of its own.
        body = json.dumps({"procedure_code": "DN-XD-001", "applicant": applicant, "code": code})
        answer = await api.http.post("/api/v1/dossiers", content=body, headers=headers)
        assert_beyond(answer, "forbidden_character", field)
        gone = await api.get(f"/api/v1/dossiers/{code}")
        assert_problem(gone, 404, "dossier_not_found")
    long_name = {**APPLICANT, "name": "A" * (limits.NAME_MAX + 1)}
    receipt = {"procedure_code": "DN-XD-001", "applicant": long_name, "code": new_code()}
    answer = await api.post("/api/v1/dossiers", receipt)
    problem = assert_beyond(answer, "text_too_long", "applicant.name")
    assert str(limits.NAME_MAX) in problem["detail"]


async def test_bodies_over_the_cap_are_413_before_anything_is_read(api: Api) -> None:
    """Item 2: three 1.5 MB reasons pushed a dossier past Temporal's payload limit; a 10 MB body
    was a 500. Now neither reaches the workflow, nor is recorded."""
    code = (await receive(api))["code"]
    huge_reason = {"action": "stop", "reason": "x" * (3 * MB // 2)}
    for _ in range(3):
        problem = assert_problem(await act(api, code, "sos", huge_reason), 413, "payload_too_large")
        assert problem["max_bytes"] == limits.BODY_MAX_BYTES
    headers = api.headers("sxd.officer", **{"Content-Type": "application/json"})
    sos = f"/api/v1/dossiers/{code}/sos"
    ten_mb = b'{"action": "stop", "reason": "' + b"x" * (10 * MB) + b'"}'
    assert_problem(
        await api.http.post(sos, content=ten_mb, headers=headers), 413, "payload_too_large"
    )

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(ten_mb), 64 * 1024):
            yield ten_mb[start : start + 64 * 1024]

    answer = await api.http.post(sos, content=streamed(), headers=headers)
    assert "content-length" not in answer.request.headers
    assert_problem(answer, 413, "payload_too_large")
    # A body just under the cap is read (and refused by its field's limit, not by the cap).
    under = {"action": "stop", "reason": "x" * (limits.BODY_MAX_BYTES - 100)}
    assert_beyond(await act(api, code, "sos", under), "text_too_long", "reason")
    stopped = await act(api, code, "sos", {"action": "stop", "reason": "Chờ giám định"})
    assert stopped.status_code == 200, stopped.text
    assert [e["detail"]["code"] for e in refused(stopped.json())] == ["text_too_long"]


async def test_a_3_mb_consultation_is_refused_and_none_reaches_the_read_model(api: Api) -> None:
    """Item 3: a 3 MB content answered 503 yet left an awaiting consultation in the read model
    that the workflow did not have."""
    code = (await receive(api))["code"]
    path = f"/api/v1/dossiers/{code}/consultations"

    def body(content: str, agencies: list[str] | None = None) -> dict[str, Any]:
        return {"agencies": agencies or ["CAT"], "content": content, "deadline": deadline_in(3600)}

    assert_problem(await api.post(path, body("x" * 3 * MB)), 413, "payload_too_large")
    too_long = await api.post(path, body("x" * (limits.LONG_TEXT_MAX + 1)))
    assert_beyond(too_long, "text_too_long", "content")
    many = [f"A{i}" for i in range(limits.AGENCIES_MAX + 1)]
    assert_beyond(await api.post(path, body("x", many)), "too_many_items", "agencies")
    unchanged = await dossier(api, code)
    assert (unchanged["status"], unchanged["consultations"]) == ("processing", [])
    # At the limit, with line breaks (a multi-line text), it is accepted.
    longest = ("Đề nghị cho ý kiến.\n" * limits.LONG_TEXT_MAX)[: limits.LONG_TEXT_MAX]
    accepted = await api.post(path, body(longest))
    assert accepted.status_code == 201, accepted.text
    [consultation] = (await dossier(api, code))["consultations"]
    assert consultation["content"] == longest.strip()  # kept as sent, but its outer spaces


async def test_an_integer_beyond_64_bits_in_the_catalogue_is_422(api: Api) -> None:
    """Item 5: `POST /api/v1/procedures` with such a number was a 503 `database_unavailable`."""
    procedure = {
        "code": "DN-XD-999",
        "name": "Thủ tục thử",
        "lead_agency": "SXD",
        "processing_days": 20,
        "max_consultation_days": 5,
        "required_documents": ["Đơn đề nghị"],
    }
    for days in (2**70, -(2**70), limits.DAYS_MAX + 1, 0):
        added = await api.post(
            "/api/v1/procedures", {**procedure, "processing_days": days}, "admin"
        )
        assert_beyond(added, "number_out_of_range", "processing_days")
    changed = await api.http.put(
        "/api/v1/procedures/DN-XD-001",
        json={**procedure, "code": "DN-XD-001", "max_consultation_days": 2**64},
        headers=api.headers("admin"),
    )
    assert_beyond(changed, "number_out_of_range", "max_consultation_days")
    sane = await api.post("/api/v1/procedures", procedure, "admin")
    assert sane.status_code == 201, sane.text


async def test_control_characters_in_paths_and_queries_are_422_naming_the_parameter(
    api: Api,
) -> None:
    """Item 5: a NUL in a list filter or in the public look-up was a 503."""
    code = (await receive(api))["code"]
    calls = {
        "lead_agency": api.get("/api/v1/dossiers", lead_agency="S\u0000XD"),
        "dossier": api.get("/api/v1/notices", "snv.home_affairs", dossier=f"{code}\u0000"),
        "agency": api.get("/api/v1/notices", "snv.home_affairs", agency="\u001bCAT"),
        "phone": api.http.get(f"/public/v1/dossiers/{code}", params={"phone": "0912\u0000"}),
        "code": api.http.get("/public/v1/dossiers/T-1%00", params={"phone": "0912345678"}),
    }
    for parameter, call in calls.items():
        assert_beyond(await call, "forbidden_character", parameter)
    # Whitespace a look-up ignores is not refused.
    found = await api.http.get(f"/public/v1/dossiers/{code}", params={"phone": "0912\t345678"})
    assert found.status_code == 200, found.text


async def test_cursors_beyond_what_the_databases_hold_are_400_invalid_cursor(api: Api) -> None:
    """Item 5: a huge number in a cursor was a 503 `database_unavailable`."""
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    forged: list[tuple[str, dict[str, str], Any]] = [
        ("/api/v1/notices", {}, 2**64),
        ("/api/v1/notices", {}, 10**30),
        ("/api/v1/notices", {}, -(2**63) - 1),
        ("/api/v1/dossiers", {}, ["0001-01-01T00:00:00+14:00", "X"]),  # before year 1 in UTC
        ("/api/v1/dossiers", {}, ["2026-12-01T00:00:00+07:00", "X\u0000"]),
        ("/api/v1/agencies", {}, "SXD\u0000"),
        ("/api/v1/reports/sos-audit", period, ["2026-12-01T00:00:00+07:00", "X", 2**64]),
    ]
    for path, params, position in forged:
        answer = await api.get(path, "vpubnd.inspector", cursor=cursor_of(position), **params)
        assert_problem(answer, 400, "invalid_cursor")
    too_long = await api.get("/api/v1/notices", "vpubnd.inspector", cursor="A" * 10_000)
    assert_problem(too_long, 400, "invalid_cursor")


async def test_required_texts_sent_as_null_are_refused_by_their_own_rule(api: Api) -> None:
    """Issue 10: `null` is missing, like empty or left out: the rule's code, not a 422
    `validation_error`; and the refusal is recorded as any other (R9)."""
    consulting = (await receive(api))["code"]
    await consult(api, consulting, "CAT")
    reply = await act(api, consulting, "consultations/CAT/reply", {"opinion": None}, "cat.officer")
    assert_problem(reply, 422, "opinion_required")
    code = (await receive(api))["code"]
    deadline = deadline_in(600)
    calls: dict[str, list[tuple[dict[str, Any], str]]] = {
        "consultations": [
            ({"agencies": None, "content": "x", "deadline": deadline}, "agencies_required"),
            ({"agencies": ["CAT"], "content": None, "deadline": deadline}, "content_required"),
        ],
        "sos": [
            ({"action": "stop", "reason": None}, "reason_required"),
            (
                {"action": "supplement", "reason": "x", "missing_documents": None},
                "missing_documents_required",
            ),
        ],
        "withdrawal": [({"reason": "Rút", "application_ref": None}, "application_ref_required")],
        "result": [({"outcome": "approved", "document_no": None}, "document_no_required")],
    }
    for action, attempts in calls.items():
        for body, rule in attempts:
            assert_problem(await act(api, code, action, body), 422, rule)
    after = await dossier(api, code)
    assert after["status"] == "processing"
    assert len(refused(after)) == sum(len(attempts) for attempts in calls.values())


async def test_rows_recorded_before_the_limits_are_still_read(api: Api) -> None:
    """The limits check what comes in; what the databases already hold (a procedure, an
    applicant, accepted before them) is read as recorded, never a 500."""
    code = (await receive(api))["code"]
    longer = "Thủ tục " * limits.TITLE_MAX
    address = {**APPLICANT, "address": "Biên Hòa\t" * limits.TITLE_MAX}
    engine = create_engine(api.settings.database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(ProcedureRecord)
                .where(col(ProcedureRecord.code) == "DN-XD-001")
                .values(name=longer)
            )
            await connection.execute(
                update(DossierRecord)
                .where(col(DossierRecord.code) == code)
                .values(applicant=address)
            )
    finally:
        await engine.dispose()
    procedures = (await api.get("/api/v1/procedures", limit=500)).json()["items"]
    assert longer in [p["name"] for p in procedures]
    assert (await dossier(api, code))["applicant"]["address"] == address["address"]
    again = await api.receive(code=new_code())  # and a receipt under it, as recorded
    assert again["procedure_name"] == longer


async def test_the_openapi_states_the_limits_and_every_problem_response(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas and "HTTPValidationError" not in schemas
    reason = schemas["SosBody"]["properties"]["reason"]["anyOf"][0]
    assert reason["maxLength"] == limits.REASON_MAX and reason["pattern"]
    days = schemas["Procedure"]["properties"]["processing_days"]
    assert (days["minimum"], days["maximum"]) == (limits.DAYS_MIN, limits.DAYS_MAX)
    expected = {
        ("post", "/api/v1/dossiers/{code}/sos"): {400, 401, 403, 404, 409, 413, 422, 429, 503},
        ("post", "/api/v1/dossiers"): {400, 401, 403, 409, 413, 422, 503},
        ("get", "/api/v1/dossiers"): {400, 401, 403, 422, 503},
        ("get", "/public/v1/dossiers/{code}"): {404, 422, 429, 503},
        ("get", "/public/v1/dossiers/{code}/progress"): {404, 422, 429, 503},
        ("post", "/api/v1/procedures"): {400, 401, 403, 409, 413, 422, 503},
    }
    for (method, path), statuses in expected.items():
        responses = document["paths"][path][method]["responses"]
        problems = {int(s) for s in responses if int(s) >= 400}
        assert problems == statuses, (method, path, problems)
        for status in statuses:
            content = responses[str(status)]["content"]
            assert content == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        if 429 in statuses:
            assert "Retry-After" in responses["429"]["headers"]
    assert str(limits.BODY_MAX_BYTES) in responses["413"]["description"]


async def test_405_names_every_method_of_the_path(api: Api) -> None:
    """Found by schemathesis: `Allow` named the methods of the path's first route only."""
    answer = await api.http.request("PATCH", "/api/v1/procedures", headers=api.headers("admin"))
    assert_problem(answer, 405, "method_not_allowed")
    assert answer.headers["allow"] == "GET, POST"
