"""The lists of API.md over HTTP: dossiers (filters, what each caller may see, keyset pagination
newest first), notices (filters, pagination), the catalogue (seeded from data/catalogue.toml,
paginated) and the admins' edits of it. Every list is `{"items": [...], "next_cursor"}` with
`limit` 1..500."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from sources.catalogue import load_catalogue
from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    deadline_in,
    new_code,
    receive,
)
from tests.fixtures.api import APPLICANT, Api

LISTS = ["/api/v1/dossiers", "/api/v1/notices", "/api/v1/agencies", "/api/v1/procedures"]
AGENCY_KINDS = {
    "department",
    "district",
    "commune",
    "ward",
    "home_affairs",
    "ppc_office",
    "public_admin_center",
}


async def every_page(
    api: Api, path: str, user: str = "snv.home_affairs", **params: Any
) -> list[list[dict[str, Any]]]:
    """The pages of a list, following `next_cursor` until it is null."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        response = await api.get(path, user, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "next_cursor never ends"


async def codes(api: Api, user: str = "snv.home_affairs", **params: Any) -> set[str]:
    pages = await every_page(api, "/api/v1/dossiers", user, **params)
    listed = [d["code"] for page in pages for d in page]
    assert len(listed) == len(set(listed)), listed
    return set(listed)


async def some_dossiers(api: Api) -> dict[str, str]:
    """SXD: one processing, one consulting CAT, one completed; STP: one processing."""
    processing = (await receive(api))["code"]
    consulting = (await receive(api))["code"]
    await consult(api, consulting, "CAT")
    completed = (await receive(api))["code"]
    result = {"outcome": "denied", "document_no": "9/TB", "summary": "Không đủ điều kiện"}
    assert (await act(api, completed, "result", result)).status_code == 200
    assert (await act(api, completed, "handover", {})).status_code == 200
    judicial = (await receive(api, "DN-LLTP-001", "stp.officer"))["code"]
    return {
        "processing": processing,
        "consulting": consulting,
        "completed": completed,
        "judicial": judicial,
    }


# --- GET /api/v1/dossiers ---------------------------------------------------------------------


async def test_dossier_list_filters_by_status_lead_agency_and_overdue(api: Api) -> None:
    made = await some_dossiers(api)
    everything = set(made.values())

    assert await codes(api) == everything
    assert await codes(api, status="processing") == {made["processing"], made["judicial"]}
    assert await codes(api, status="consulting") == {made["consulting"]}
    assert await codes(api, status="completed") == {made["completed"]}
    assert await codes(api, status="withdrawn") == set()
    assert await codes(api, lead_agency="STP") == {made["judicial"]}
    assert await codes(api, lead_agency="SXD", status="processing") == {made["processing"]}
    # Nothing received today is past its due date; a closed dossier is never overdue.
    assert await codes(api, overdue="true") == set()
    assert await codes(api, overdue="false") == everything
    listed = (await api.get("/api/v1/dossiers", "snv.home_affairs", status="consulting")).json()
    [consulting] = listed["items"]
    assert consulting == (await api.get(f"/api/v1/dossiers/{made['consulting']}")).json()
    bad = await api.get("/api/v1/dossiers", overdue="perhaps")
    assert_problem(bad, 422, "validation_error")
    misspelt = await api.get("/api/v1/dossiers", status="complete")  # not an empty page
    assert "status" in assert_problem(misspelt, 422, "validation_error")["detail"]


async def test_dossier_list_shows_each_agency_only_what_concerns_it(api: Api) -> None:
    made = await some_dossiers(api)
    sxd = {made["processing"], made["consulting"], made["completed"]}

    assert await codes(api, "sxd.officer") == sxd
    assert await codes(api, "sxd.head") == sxd
    assert await codes(api, "cat.officer") == {made["consulting"]}
    assert await codes(api, "stp.officer") == {made["judicial"]}
    assert await codes(api, "snnmt.officer") == set()
    assert await codes(api, "admin") == set()
    for oversight in ("snv.home_affairs", "vpubnd.inspector"):
        assert await codes(api, oversight) == set(made.values())
    # A filter never widens what one sees.
    assert await codes(api, "cat.officer", lead_agency="SXD") == {made["consulting"]}
    assert await codes(api, "stp.officer", lead_agency="SXD") == set()


async def test_dossier_list_pages_newest_first_each_dossier_once(api: Api) -> None:
    made = [(await receive(api))["code"] for _ in range(7)]

    pages = await every_page(api, "/api/v1/dossiers", "sxd.officer", limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [d["code"] for page in pages for d in page] == made[::-1]
    whole = (await api.get("/api/v1/dossiers", limit=500)).json()
    assert ([d["code"] for d in whole["items"]], whole["next_cursor"]) == (made[::-1], None)
    exact = await every_page(api, "/api/v1/dossiers", "sxd.officer", limit=7)
    assert [len(page) for page in exact] == [7]


@pytest.mark.parametrize("path", LISTS)
async def test_list_limits_and_cursors_are_checked(api: Api, path: str) -> None:
    for limit in ("0", "501", "-1", "ba", "99999999999999999999"):
        problem = assert_problem(await api.get(path, limit=limit), 422, "validation_error")
        assert problem["errors"] and problem["errors"][0]["loc"] == ["query", "limit"]
    for cursor in ("%%%", "not-a-cursor", "!!"):
        assert_problem(await api.get(path, cursor=cursor), 400, "invalid_cursor")
    assert (await api.get(path, limit="500")).status_code == 200


def cursor_of(position: Any) -> str:
    """A cursor in the API's own encoding (base64url JSON) holding a position it never gave."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", LISTS)
async def test_a_forged_cursor_is_400_invalid_cursor(api: Api, path: str) -> None:
    answer = await api.get(path, "snv.home_affairs", cursor=cursor_of(["nope", "c"]))
    assert_problem(answer, 400, "invalid_cursor")


# --- GET /api/v1/notices --------------------------------------------------------------------


async def test_notice_list_filters_by_dossier_and_kind_and_pages(api: Api) -> None:
    first = (await receive(api))["code"]
    await consult(api, first, "CAT", "SNNMT", "UBND-PHUONG-BIENHOA")
    second = (await receive(api))["code"]
    await consult(api, second, "CAT")

    of_first = [n for page in await every_page(api, "/api/v1/notices", dossier=first) for n in page]
    assert [(n["kind"], n["to"], n["dossier"]) for n in of_first] == [
        ("consultation_request", agency, first)
        for agency in ("CAT", "SNNMT", "UBND-PHUONG-BIENHOA")
    ]
    assert all(
        set(n) == {"id", "kind", "dossier", "to", "cc", "sent_at", "subject", "body", "delivery"}
        for n in of_first
    )
    pages = await every_page(api, "/api/v1/notices", dossier=first, limit=2)
    assert [[n["id"] for n in page] for page in pages] == [
        [n["id"] for n in of_first[:2]],
        [n["id"] for n in of_first[2:]],
    ]
    requests = await every_page(api, "/api/v1/notices", kind="consultation_request", limit=1)
    assert [len(page) for page in requests] == [1, 1, 1, 1]
    ids = [page[0]["id"] for page in requests]
    assert ids == sorted(set(ids))
    assert await every_page(api, "/api/v1/notices", dossier=first, kind="reminder_1") == [[]]
    to_cat = await every_page(api, "/api/v1/notices", agency="CAT")
    assert [n["dossier"] for n in to_cat[0]] == [first, second]
    as_cat = await every_page(api, "/api/v1/notices", "cat.officer", kind="consultation_request")
    assert [(n["dossier"], n["to"]) for n in as_cat[0]] == [(first, "CAT"), (second, "CAT")]
    unknown_kind = await api.get("/api/v1/notices", kind="telegram")
    assert_problem(unknown_kind, 422, "validation_error")


async def test_a_lead_agency_sees_the_notices_it_sent_to_its_applicants(api: Api) -> None:
    stop = {"action": "stop", "reason": "Chờ xác minh"}
    ours = (await receive(api))["code"]
    assert (await act(api, ours, "sos", stop)).status_code == 200
    consulted = (await receive(api))["code"]
    await consult(api, consulted, "CAT")
    other = (await receive(api, procedure="DN-LLTP-001", user="stp.officer"))["code"]
    assert (await act(api, other, "sos", stop, "stp.officer")).status_code == 200

    def seen(user: str) -> Any:
        return every_page(api, "/api/v1/notices", user)

    as_sxd = {(n["kind"], n["to"], n["dossier"]) for p in await seen("sxd.officer") for n in p}
    as_cat = [n for page in await seen("cat.officer") for n in page]
    as_stp = {(n["kind"], n["to"], n["dossier"]) for p in await seen("stp.officer") for n in p}

    # A lead agency: the notices to its applicants, sent in its name, and nobody else's.
    assert ("stop_notice", "applicant", ours) in as_sxd
    assert ("stop_notice", "applicant", other) not in as_sxd
    assert ("stop_notice", "applicant", other) in as_stp
    assert ("consultation_request", "CAT", consulted) not in as_sxd  # CAT's own
    # A consulted agency: its own notices, never those to applicants.
    assert ("consultation_request", "CAT", consulted) in {
        (n["kind"], n["to"], n["dossier"]) for n in as_cat
    }
    assert all(n["to"] == "CAT" or "CAT" in n["cc"] for n in as_cat)


# --- GET /api/v1/agencies and /procedures ------------------------------------------------------


async def test_catalogue_lists_hold_the_seeded_catalogue_page_by_page(api: Api) -> None:
    seeded = load_catalogue()

    agency_pages = await every_page(api, "/api/v1/agencies", "cat.officer", limit=5)
    agencies = [a for page in agency_pages for a in page]
    assert all(len(page) == 5 for page in agency_pages[:-1])
    assert sorted(a["code"] for a in agencies) == sorted(a.code for a in seeded.agencies)
    assert len({a["code"] for a in agencies}) == len(agencies)
    assert all({"code", "name", "kind"} <= set(a) and a["kind"] in AGENCY_KINDS for a in agencies)
    assert [a["code"] for a in agencies if a["kind"] == "home_affairs"] == ["SNV"]

    procedure_pages = await every_page(api, "/api/v1/procedures", "stp.officer", limit=2)
    procedures = {p["code"]: p for page in procedure_pages for p in page}
    assert sorted(procedures) == sorted(p.code for p in seeded.procedures)
    building = procedures["DN-XD-001"]
    assert (building["lead_agency"], building["processing_days"]) == ("SXD", 20)
    assert building["max_consultation_days"] == 7
    assert "Đơn đề nghị cấp giấy phép xây dựng" in building["required_documents"]
    assert procedures["DN-LLTP-001"]["lead_agency"] == "STP"
    assert_problem(await api.get("/api/v1/agencies", None), 401, "unauthenticated")


# --- admins' edits of the catalogue -----------------------------------------------------------


NEW_AGENCY = {
    "code": "SNGV",
    "name": "Sở Ngoại vụ thành phố Đồng Nai",
    "kind": "department",
    "unit_id": "000.00.40.H19",
    # where its notices go (activities.delivery): admins set the channel with the agency
    "email": "vanthu@sngv.dongnai.gov.vn",
    "webhook_url": None,
    # issue 10: a commune's desk, and whether the agency still exists
    "one_stop_desk": None,
    "active": True,
    "inactive_since": None,
    "inactive_by": None,
}
NEW_PROCEDURE = {
    "code": "DN-XD-099",
    "name": "Cấp giấy phép di dời công trình",
    "lead_agency": "SXD",
    "processing_days": 15,
    "max_consultation_days": 5,
    "required_documents": ["Đơn đề nghị di dời"],
}


async def send(api: Api, method: str, path: str, body: Any, user: str = "admin") -> httpx.Response:
    return await api.http.request(method, path, json=body, headers=api.headers(user))


async def test_admins_add_and_change_agencies(api: Api) -> None:
    officer = await send(api, "POST", "/api/v1/agencies", NEW_AGENCY, "sxd.officer")
    assert assert_problem(officer, 403, "forbidden")["required_roles"] == ["admin"]

    added = await send(api, "POST", "/api/v1/agencies", NEW_AGENCY)

    assert (added.status_code, added.json()) == (201, NEW_AGENCY)
    listed = [a for page in await every_page(api, "/api/v1/agencies", "admin") for a in page]
    assert NEW_AGENCY in listed
    duplicate = await send(api, "POST", "/api/v1/agencies", {**NEW_AGENCY, "name": "Khác"})
    assert_problem(duplicate, 409, "agency_exists")
    renamed = {**NEW_AGENCY, "name": "Sở Ngoại vụ"}
    changed = await send(api, "PUT", "/api/v1/agencies/SNGV", renamed)
    assert (changed.status_code, changed.json()) == (200, renamed)
    assert renamed in [a for page in await every_page(api, "/api/v1/agencies") for a in page]
    head = await send(api, "PUT", "/api/v1/agencies/SNGV", renamed, "sxd.head")
    assert_problem(head, 403, "forbidden")
    other_code = await send(api, "PUT", "/api/v1/agencies/SXD", renamed)
    assert_problem(other_code, 422, "validation_error")
    missing = await send(
        api,
        "PUT",
        "/api/v1/agencies/SKHONG",
        {**NEW_AGENCY, "code": "SKHONG", "unit_id": "000.00.41.H19"},
    )
    assert_problem(missing, 404, "agency_not_found")
    second_home_affairs = {
        **NEW_AGENCY,
        "code": "SNV2",
        "kind": "home_affairs",
        "unit_id": "000.00.42.H19",
    }
    refused = await send(api, "POST", "/api/v1/agencies", second_home_affairs)
    assert_problem(refused, 422, "invalid_catalogue_entry")
    taken_unit = {**NEW_AGENCY, "code": "SNGV2"}
    assert_problem(
        await send(api, "POST", "/api/v1/agencies", taken_unit), 422, "invalid_catalogue_entry"
    )
    bad_kind = await send(
        api, "POST", "/api/v1/agencies", {**NEW_AGENCY, "code": "SX", "kind": "club"}
    )
    assert_problem(bad_kind, 422, "validation_error")


async def test_admins_add_and_change_procedures_which_then_serve_receipts(api: Api) -> None:
    officer = await send(api, "POST", "/api/v1/procedures", NEW_PROCEDURE, "sxd.officer")
    assert_problem(officer, 403, "forbidden")
    orphan = {**NEW_PROCEDURE, "code": "DN-XD-098", "lead_agency": "KHONG-CO"}
    assert_problem(
        await send(api, "POST", "/api/v1/procedures", orphan), 422, "invalid_catalogue_entry"
    )

    added = await send(api, "POST", "/api/v1/procedures", NEW_PROCEDURE)

    assert (added.status_code, added.json()) == (201, NEW_PROCEDURE)
    duplicate = await send(api, "POST", "/api/v1/procedures", NEW_PROCEDURE)
    assert_problem(duplicate, 409, "procedure_exists")
    changed_body = {**NEW_PROCEDURE, "max_consultation_days": 3}
    changed = await send(api, "PUT", "/api/v1/procedures/DN-XD-099", changed_body)
    assert (changed.status_code, changed.json()) == (200, changed_body)
    procedures = [p for page in await every_page(api, "/api/v1/procedures") for p in page]
    assert changed_body in procedures
    missing = await send(
        api, "PUT", "/api/v1/procedures/DN-XD-097", {**NEW_PROCEDURE, "code": "DN-XD-097"}
    )
    assert_problem(missing, 404, "procedure_not_found")
    beyond = {**NEW_PROCEDURE, "max_consultation_days": 16}  # R2: within the processing time
    assert_problem(
        await send(api, "PUT", "/api/v1/procedures/DN-XD-099", beyond),
        422,
        "invalid_catalogue_entry",
    )

    # The new entry serves receipts at once, by its lead agency only, with its own maximum (R2).
    body = {"procedure_code": "DN-XD-099", "applicant": APPLICANT, "code": new_code()}
    assert_problem(await api.post("/api/v1/dossiers", body, "stp.officer"), 403, "not_lead_agency")
    received = await receive(api, "DN-XD-099")
    assert received["procedure_code"] == "DN-XD-099"
    too_far = await api.post(
        f"/api/v1/dossiers/{received['code']}/consultations",
        {"agencies": ["CAT"], "content": "Xin ý kiến", "deadline": deadline_in(10 * 86400)},
    )
    assert assert_problem(too_far, 422, "deadline_beyond_maximum")["max_days"] == 3
