"""The work lists of issue 9 over HTTP, on both databases: the officers' inbox by urgency
(`GET /api/v1/inbox`), the consultations addressed to an agency (`GET /api/v1/consultations`)
and the withdrawals waiting for a head (`GET /api/v1/withdrawals`, R6).

The inbox's groups depend on due dates days apart, which no workflow reaches within a test: those
dossiers are written into the read model as the projection writes them (its columns, the folded
name included); dossiers received through the API show that the projection fills the search
column too. Consultations and withdrawals come from real workflows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from db.engine import create_engine, session_factory
from db.models import DossierRecord
from db.read_model import search_key
from domain.urgency import UrgencyBounds
from sources.calendar import CalendarSource
from tests.api.http_helpers import (
    act,
    assert_problem,
    consult,
    eventually,
    new_code,
    receive,
    reply,
)
from tests.fixtures.api import Api

INBOX = "/api/v1/inbox"
CONSULTATIONS = "/api/v1/consultations"
WITHDRAWALS = "/api/v1/withdrawals"
WITHDRAWAL = {"reason": "Người nộp xin rút hồ sơ", "application_ref": "DON-07"}


async def every_page(api: Api, path: str, user: str, **params: Any) -> list[dict[str, Any]]:
    """The answers of a list, page after page, following `next_cursor` to the end."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await api.get(path, user, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "next_cursor never ends"


def items(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page["items"]]


# --- the officers' inbox ---------------------------------------------------------------------


async def in_the_read_model(database_url: str, *dossiers: dict[str, Any]) -> None:
    """Dossiers as the projection writes them (`db.projection`), without workflows."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as db:
            for d in dossiers:
                name = d.pop("name")
                db.add(
                    DossierRecord(
                        procedure_code=d.pop("procedure_code", "DN-XD-001"),
                        procedure_name="Cấp giấy phép xây dựng",
                        lead_agency=d.pop("lead_agency", "SXD"),
                        applicant={"name": name},
                        applicant_search=search_key(name),
                        status=d.pop("status", "processing"),
                        national_status=4,
                        received_at=now - timedelta(days=20),
                        version=1,
                        updated_at=now,
                        **d,
                    )
                )
            await db.commit()
    finally:
        await engine.dispose()


async def inbox_corpus(api: Api, database_url: str) -> dict[str, str]:
    """SXD's open dossiers, one or two in each group, and some that its inbox must not show."""
    now = datetime.now(UTC)
    bounds = UrgencyBounds.at(now, CalendarSource(api.settings.calendar_overrides).calendar())
    # A minute's margin on each side of a bound: the request comes a little after `now`.
    due = {
        "late": now - timedelta(days=10),
        "marked_late": bounds.soon_ends + timedelta(days=3),
        "due_today": now + (bounds.today_ends - now) / 2 + timedelta(seconds=60),
        "due_soon": bounds.today_ends + (bounds.soon_ends - bounds.today_ends) / 2,
        "in_time": bounds.soon_ends + timedelta(days=1),
    }
    codes = {kind: new_code() for kind in [*due, "no_due_date", "closed", "other_agency"]}
    await in_the_read_model(
        database_url,
        {"code": codes["late"], "name": "Nguyễn Thị Ánh", "due_at": due["late"]},
        {
            "code": codes["marked_late"],
            "name": "Trần Văn Bình",
            "due_at": due["marked_late"],
            "late": True,
            "status": "result_ready",
        },
        {"code": codes["due_today"], "name": "Lê Văn Cường", "due_at": due["due_today"]},
        {
            "code": codes["due_soon"],
            "name": "Phạm Thị Dung",
            "due_at": due["due_soon"],
            "procedure_code": "DN-XD-002",
        },
        {"code": codes["in_time"], "name": "LÊ VĂN ĐỨC", "due_at": due["in_time"]},
        {"code": codes["no_due_date"], "name": "Hoàng Văn Em", "status": "awaiting_supplement"},
        {
            "code": codes["closed"],
            "name": "Lê Văn Phúc",
            "due_at": due["late"],
            "status": "completed",
            "closed_at": now,
        },
        {
            "code": codes["other_agency"],
            "name": "Lê Văn Giang",
            "due_at": due["late"],
            "lead_agency": "STP",
            "procedure_code": "DN-LLTP-001",
        },
    )
    return codes


async def test_inbox_groups_the_open_dossiers_by_urgency_due_first(
    api: Api, database_url: str
) -> None:
    codes = await inbox_corpus(api, database_url)

    response = await api.get(INBOX, "sxd.officer")

    assert response.status_code == 200, response.text
    inbox = response.json()
    assert inbox["counts"] == {"late": 2, "due_today": 1, "due_soon": 1, "in_time": 2}
    assert inbox["next_cursor"] is None
    listed = [(i["code"], i["urgency"]) for i in inbox["items"]]
    assert listed == [  # due first; no due date last
        (codes["late"], "late"),
        (codes["due_today"], "due_today"),
        (codes["due_soon"], "due_soon"),
        (codes["in_time"], "in_time"),
        (codes["marked_late"], "late"),  # late whatever its date: the clock said so
        (codes["no_due_date"], "in_time"),
    ]
    by_code = {i["code"]: i for i in inbox["items"]}
    today = by_code[codes["due_today"]]
    assert today["applicant_name"] == "Lê Văn Cường"
    assert today["procedure_code"] == "DN-XD-001"
    assert today["procedure_name"] == "Cấp giấy phép xây dựng"
    assert today["status"] == "processing"
    assert today["working_days_left"] == 0
    assert by_code[codes["late"]]["working_days_left"] < 0
    assert by_code[codes["due_soon"]]["working_days_left"] in (1, 2)
    assert by_code[codes["in_time"]]["working_days_left"] >= 3
    assert by_code[codes["no_due_date"]]["working_days_left"] is None
    assert by_code[codes["no_due_date"]]["due_at"] is None

    for urgency in ("late", "due_today", "due_soon", "in_time"):
        group = (await api.get(INBOX, "sxd.head", urgency=urgency)).json()
        assert {i["urgency"] for i in group["items"]} == {urgency}
        assert len(group["items"]) == inbox["counts"][urgency]
        assert group["counts"] == inbox["counts"]  # the counts ignore the urgency asked


async def test_inbox_search_finds_a_vietnamese_name_with_or_without_diacritics_and_a_code(
    api: Api, database_url: str
) -> None:
    codes = await inbox_corpus(api, database_url)
    received = await receive(api)  # "Lê Văn Cường" too, projected by its workflow

    async def found(q: str) -> set[str]:
        page = (await api.get(INBOX, "sxd.officer", q=q)).json()
        assert sum(page["counts"].values()) == len(page["items"])  # counts for the same search
        return {i["code"] for i in page["items"]}

    cuong = {codes["due_today"], received["code"]}
    assert await found("Lê Văn Cường") == cuong
    assert await found("lê văn cường") == cuong
    assert await found("LE VAN CUONG") == cuong
    assert await found("cường") == cuong
    assert await found("le van") == {codes["due_today"], codes["in_time"], received["code"]}
    assert await found("Đức") == {codes["in_time"]}
    assert await found("duc") == {codes["in_time"]}
    assert await found(codes["due_soon"][-6:].upper()) == {codes["due_soon"]}  # a part of it
    assert await found("%") == set()  # LIKE's wildcards are searched for, not obeyed
    assert await found("_") == set()


async def test_inbox_filters_by_status_and_procedure(api: Api, database_url: str) -> None:
    codes = await inbox_corpus(api, database_url)

    ready = (await api.get(INBOX, "sxd.officer", status="result_ready")).json()
    assert [i["code"] for i in ready["items"]] == [codes["marked_late"]]
    assert ready["counts"] == {"late": 1, "due_today": 0, "due_soon": 0, "in_time": 0}

    other = (await api.get(INBOX, "sxd.officer", procedure_code="DN-XD-002")).json()
    assert [i["code"] for i in other["items"]] == [codes["due_soon"]]

    assert_problem(await api.get(INBOX, "sxd.officer", status="lost"), 422, "validation_error")
    assert_problem(await api.get(INBOX, "sxd.officer", urgency="soon"), 422, "validation_error")


async def test_inbox_pages_by_keyset_through_dossiers_with_and_without_due_dates(
    api: Api, database_url: str
) -> None:
    await inbox_corpus(api, database_url)
    whole = (await api.get(INBOX, "sxd.officer")).json()

    for limit in (1, 2, 4):
        pages = await every_page(api, INBOX, "sxd.officer", limit=limit)
        assert [i["code"] for i in items(pages)] == [i["code"] for i in whole["items"]]
        assert all(len(page["items"]) <= limit for page in pages)
        assert all(page["counts"] == whole["counts"] for page in pages)

    stranger = await api.get(INBOX, "sxd.officer", cursor="bm90IGEgY3Vyc29y")
    assert_problem(stranger, 400, "invalid_cursor")


async def test_inbox_is_the_callers_agency_s_and_any_agency_s_for_evaluators(
    api: Api, database_url: str
) -> None:
    codes = await inbox_corpus(api, database_url)

    stp = (await api.get(INBOX, "stp.officer")).json()
    assert [i["code"] for i in stp["items"]] == [codes["other_agency"]]
    evaluator = (await api.get(INBOX, "snv.home_affairs", lead_agency="STP")).json()
    assert evaluator == stp
    everyone = (await api.get(INBOX, "vpubnd.inspector")).json()
    assert sum(everyone["counts"].values()) == 7

    another = await api.get(INBOX, "sxd.officer", lead_agency="STP")
    refused = assert_problem(another, 403, "forbidden")
    assert refused["detail_vi"]
    assert_problem(await api.get(INBOX, "admin"), 403, "forbidden")
    assert_problem(await api.get(INBOX, None), 401, "unauthenticated")


# --- the consultations addressed to an agency ------------------------------------------------


async def test_consultations_inbox_lists_the_awaited_overdue_first_then_the_answered(
    api: Api,
) -> None:
    soon = (await receive(api))["code"]
    later = (await receive(api))["code"]
    answered = (await receive(api))["code"]
    await consult(api, later, "CAT", in_seconds=7200)
    await consult(api, soon, "CAT", "SNNMT", in_seconds=2)
    await consult(api, answered, "CAT", in_seconds=3600)
    await reply(api, answered, "CAT", "cat.officer")
    await asyncio.sleep(2.5)  # `soon`'s deadline passes

    awaited = (await api.get(CONSULTATIONS, "cat.officer")).json()

    assert [(i["dossier"], i["status"]) for i in awaited["items"]] == [
        (soon, "overdue"),
        (later, "awaiting"),
    ]
    first = awaited["items"][0]
    assert first["content"] == "Xin ý kiến"
    assert first["procedure_code"] == "DN-XD-001"
    assert first["lead_agency"] == "SXD"
    assert first["lead_agency_name"]
    assert first["requested_by"] == {"user_id": "sxd.officer", "name": "Nguyễn Văn An"}
    assert first["number"] == 1
    assert first["replied_at"] is None

    async def first_awaited() -> dict[str, Any]:
        answer: dict[str, Any] = (await api.get(CONSULTATIONS, "cat.officer")).json()["items"][0]
        return answer

    reminded = await eventually(  # R3: reminder 1 at the deadline, shown with the consultation
        first_awaited, lambda c: len(c["reminders"]) >= 1, within=15, what="reminder 1"
    )
    assert reminded["reminders"][0]["level"] == 1

    done = (await api.get(CONSULTATIONS, "cat.officer", state="answered")).json()
    assert [(i["dossier"], i["status"]) for i in done["items"]] == [(answered, "answered")]
    assert done["items"][0]["replied_at"] is not None

    everything = await every_page(api, CONSULTATIONS, "cat.officer", state="all", limit=1)
    assert [i["dossier"] for i in items(everything)] == [soon, later, answered]

    other = (await api.get(CONSULTATIONS, "snnmt.officer")).json()
    assert [i["dossier"] for i in other["items"]] == [soon]
    assert (await api.get(CONSULTATIONS, "sxd.officer")).json()["items"] == []
    evaluator = (await api.get(CONSULTATIONS, "snv.home_affairs", agency="CAT")).json()
    assert evaluator == awaited


async def test_consultations_inbox_refuses_other_roles_and_agencies(api: Api) -> None:
    assert_problem(await api.get(CONSULTATIONS, "admin"), 403, "forbidden")
    assert_problem(await api.get(CONSULTATIONS, "cat.officer", agency="SYT"), 403, "forbidden")
    unknown_state = await api.get(CONSULTATIONS, "cat.officer", state="late")
    assert_problem(unknown_state, 422, "validation_error")


# --- the withdrawals waiting for a head (R6) -------------------------------------------------


async def test_r6_withdrawals_wait_for_the_head_oldest_first(api: Api) -> None:
    first = (await receive(api))["code"]
    second = (await receive(api))["code"]
    untouched = (await receive(api))["code"]
    for code in (first, second):
        response = await act(api, code, "withdrawal", WITHDRAWAL)
        assert response.status_code == 202, response.text

    pages = await every_page(api, WITHDRAWALS, "sxd.head", limit=1)

    waiting = items(pages)
    assert [w["code"] for w in waiting] == [first, second]
    assert untouched not in {w["code"] for w in waiting}
    assert waiting[0]["applicant_name"] == "Lê Văn Cường"
    assert waiting[0]["reason"] == WITHDRAWAL["reason"]
    assert waiting[0]["application_ref"] == "DON-07"
    assert waiting[0]["requested_by"] == {"user_id": "sxd.officer", "name": "Nguyễn Văn An"}
    assert waiting[0]["requested_at"] <= waiting[1]["requested_at"]
    assert waiting[0]["procedure_code"] == "DN-XD-001"
    assert waiting[0]["lead_agency"] == "SXD"

    confirmed = await act(api, first, "withdrawal/confirm", {"signature_ref": "KY-07"}, "sxd.head")
    assert confirmed.status_code == 200, confirmed.text
    after = (await api.get(WITHDRAWALS, "sxd.head")).json()
    assert [w["code"] for w in after["items"]] == [second]

    inspector = (await api.get(WITHDRAWALS, "vpubnd.inspector", lead_agency="SXD")).json()
    assert inspector == after
    assert (await api.get(WITHDRAWALS, "stp.head")).json()["items"] == []
    assert_problem(await api.get(WITHDRAWALS, "sxd.officer"), 403, "forbidden")
    assert_problem(await api.get(WITHDRAWALS, "admin"), 403, "forbidden")
    assert_problem(await api.get(WITHDRAWALS, "sxd.head", lead_agency="STP"), 403, "forbidden")
