"""The merged province's catalogue over real HTTP (issue 10): a ward receives its own procedure
with its unit's dossier code; a procedure led by an abolished district takes no new dossier
(`agency_inactive`, API and receipt page alike); an abolished district is not consulted, and the
dossier page's picker does not offer it."""

from __future__ import annotations

import re

from sources.catalogue import load_catalogue
from tests.api.http_helpers import assert_problem
from tests.fixtures.api import APPLICANT, Api
from tests.web.page_client import signed_in

TRAN_BIEN = "UBND-PHUONG-TRANBIEN"
BIEN_HOA, LONG_THANH = "UBND-BIENHOA", "UBND-LONGTHANH"  # districts until 30 June 2025


async def test_a_ward_receives_its_procedure_under_its_unit_id(api: Api) -> None:
    received = await api.receive("DN-HT-001-TRANBIEN", "tranbien.officer")
    assert received["lead_agency"] == TRAN_BIEN
    assert re.fullmatch(r"260\.41\.00\.H19-\d{6}-\d{4}", received["code"]), received["code"]


async def test_an_abolished_districts_procedure_takes_no_new_dossier(api: Api) -> None:
    body = {"procedure_code": "DN-TM-002-BIENHOA", "applicant": APPLICANT}
    refused = await api.post("/api/v1/dossiers", body, "bienhoa.officer")
    problem = assert_problem(refused, 422, "agency_inactive")
    assert problem["agencies"] == [BIEN_HOA]
    assert "chấm dứt hoạt động" in problem["detail_vi"]
    # someone else is told first that the dossier is not his agency's to receive
    other = await api.post("/api/v1/dossiers", body, "sxd.officer")
    assert_problem(other, 403, "not_lead_agency")
    # the receipt page does not offer it to the district's officer
    browser = await signed_in(api, "bienhoa.officer")
    try:
        form = await browser.page("/receive")
    finally:
        await browser.http.aclose()
    assert "DN-TM-002-BIENHOA" not in form


async def test_an_abolished_district_is_neither_consulted_nor_offered(api: Api) -> None:
    code = (await api.receive(code=f"T-province-{id(api):x}"))["code"]
    refused = await api.consult(code, "CAT", LONG_THANH)
    assert assert_problem(refused, 422, "agency_inactive")["agencies"] == [LONG_THANH]
    unknown = await api.consult(code, LONG_THANH, "KHONG-CO")
    assert assert_problem(unknown, 422, "unknown_agency")["agencies"] == ["KHONG-CO"]
    assert (await api.consult(code, TRAN_BIEN)).status_code == 201  # a ward is consulted

    browser = await signed_in(api, "sxd.officer")
    try:
        page = await browser.page(f"/dossiers/{code}")
    finally:
        await browser.http.aclose()
    offered = set(re.findall(r'name="agencies" value="([^"]+)"', page))
    assert "CAT" in offered and "UBND-XA-LONGTHANH" in offered
    assert not offered & {BIEN_HOA, LONG_THANH}
    assert TRAN_BIEN not in offered  # awaited already
    dossier = (await api.get(f"/api/v1/dossiers/{code}")).json()
    assert [c["agency"] for c in dossier["consultations"]] == [TRAN_BIEN]
    refusals = [e["detail"]["code"] for e in dossier["events"] if e["kind"] == "refused"]
    assert "agency_inactive" in refusals  # recorded in the dossier's audit trail (R12)


async def test_an_admin_retires_an_agency_with_its_date_and_decision(api: Api) -> None:
    seeded = load_catalogue().agency("UBND-XA-DAKIA")
    assert seeded is not None
    agency = seeded.model_dump(mode="json")
    assert agency["active"] is True and agency["kind"] == "commune"
    path = "/api/v1/agencies/UBND-XA-DAKIA"
    admin = api.headers("admin")
    undated = await api.http.put(path, json={**agency, "active": False}, headers=admin)
    assert "inactive_since" in assert_problem(undated, 422, "invalid_catalogue_entry")["detail"]
    retired = {**agency, "active": False, "inactive_since": "2026-12-01", "inactive_by": "NQ x"}
    answer = await api.http.put(path, json=retired, headers=admin)
    assert (answer.status_code, answer.json()) == (200, retired)
    code = (await api.receive(code=f"T-retired-{id(answer):x}"))["code"]
    refused = await api.consult(code, "UBND-XA-DAKIA")
    assert assert_problem(refused, 422, "agency_inactive")["agencies"] == ["UBND-XA-DAKIA"]
