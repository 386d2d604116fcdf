"""Receipt at any desk of the province over real HTTP, on both databases (issue 10, Decree
118/2025): the provincial centre's officer receives a DN-XD-001 dossier for SXD; SXD's officer
acts on it; the desk reads it, but acts on nothing; the document names the desk only when it is
not the lead agency."""

from __future__ import annotations

import re

from tests.api.http_helpers import act, assert_problem, consult, dossier
from tests.api.test_reports_http import RESULT, report, with_calendar
from tests.fixtures.api import APPLICANT, Api

DESK = "TTHCC"


async def test_the_provincial_desk_receives_for_the_lead_agency_which_alone_acts(
    api: Api,
) -> None:
    received = await api.receive("DN-XD-001", "tthcc.officer")
    code = received["code"]
    assert received["lead_agency"] == "SXD" and received["receiving_desk"] == DESK
    assert received["status"] == "processing"
    # the code carries the receiving unit's identifier (Circular 01/2018 art. 19): the desk's
    assert re.fullmatch(r"000\.01\.01\.H19-\d{6}-\d{4,}", code), code
    assert received["events"][0]["detail"]["receiving_desk"] == DESK

    # SXD leads it: it consults; the desk cannot (it reads, it is no party)
    await consult(api, code, "CAT")
    desk_consults = await api.consult(code, "SNNMT", user="tthcc.officer")
    assert_problem(desk_consults, 403, "forbidden")

    as_desk = await dossier(api, code, "tthcc.officer")
    assert as_desk["receiving_desk"] == DESK
    assert [c["agency"] for c in as_desk["consultations"]] == ["CAT"]
    assert_problem(await api.get(f"/api/v1/dossiers/{code}", "stp.officer"), 403, "forbidden")

    # the desk finds it in its inbox under "received here"; SXD in its own inbox
    async def inbox(user: str, **params: object) -> list[str]:
        response = await api.get("/api/v1/inbox", user, limit=500, **params)
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()["items"]]

    assert code in await inbox("tthcc.officer", received_here="true", q=code)
    assert code not in await inbox("tthcc.officer", q=code)  # the centre leads none of it
    assert code in await inbox("sxd.officer", q=code)
    assert code not in await inbox("sxd.officer", received_here="true", q=code)


async def test_a_dossier_received_by_its_lead_agency_names_no_desk(api: Api) -> None:
    received = await api.receive("DN-XD-001", "sxd.officer")
    assert received["receiving_desk"] is None
    assert received["code"].startswith("000.00.07.H19-"), received["code"]  # SXD's unit
    assert "receiving_desk" not in received["events"][0]["detail"]
    assert (await dossier(api, received["code"]))["receiving_desk"] is None


async def test_a_desk_receives_nothing_for_an_abolished_district_nor_does_its_admin(
    api: Api,
) -> None:
    body = {"procedure_code": "DN-TM-002-BIENHOA", "applicant": APPLICANT}
    refused = await api.post("/api/v1/dossiers", body, "tthcc.officer")
    assert assert_problem(refused, 422, "agency_inactive")["agencies"] == ["UBND-BIENHOA"]
    as_admin = await api.post(
        "/api/v1/dossiers", {"procedure_code": "DN-XD-001", "applicant": APPLICANT}, "admin"
    )
    assert_problem(as_admin, 403, "forbidden")  # the centre's admin is no officer
    # a ward's committee is a desk too
    ward = await api.receive("DN-XD-001", "tranbien.officer")
    assert ward["lead_agency"] == "SXD" and ward["receiving_desk"] == "UBND-PHUONG-TRANBIEN"
    assert ward["code"].startswith("260.41.00.H19-"), ward["code"]  # the ward's unit


async def test_the_on_time_report_counts_a_desk_dossier_for_its_lead_and_its_desk(
    api: Api,
) -> None:
    await with_calendar(api)
    code = (await api.receive("DN-XD-001", "tthcc.officer"))["code"]
    # the result is SXD's to record, not the desk's
    assert_problem(await act(api, code, "result", RESULT, "tthcc.officer"), 403, "forbidden")
    assert (await act(api, code, "result", RESULT)).status_code == 200
    handover = await act(api, code, "handover", {"received_by": "Lê Văn Cường"})
    assert handover.status_code == 200, handover.text
    assert (await dossier(api, code, "tthcc.officer"))["status"] == "completed"

    answer = await report(api, "/api/v1/reports/on-time", "vpubnd.inspector")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    by_agency = {row["lead_agency"]: row for row in document["by_agency"]}
    by_desk = {row["receiving_desk"]: row for row in document["by_desk"]}
    assert by_agency["SXD"]["closed"] >= 1 and by_agency["SXD"]["early"] >= 1
    desk = by_desk[DESK]
    assert (desk["closed"], desk["completed"], desk["early"]) == (1, 1, 1)
    assert desk["desk_name"] == "Trung tâm Phục vụ hành chính công thành phố Đồng Nai"
    assert "TTHCC" not in by_agency  # it leads none of them
    # the lead and desk tables add up to the same dossiers
    assert sum(r["closed"] for r in by_agency.values()) == sum(
        r["closed"] for r in by_desk.values()
    )
