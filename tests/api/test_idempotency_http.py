"""`Idempotency-Key`: a client that retries a POST after a network error gets the outcome of its
first attempt, and the action happens once; concurrent retries included. Receipts use generated
codes here on purpose: the key must stand for the code the service made up."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.http_helpers import (
    act,
    assert_problem,
    deadline_in,
    dossier,
    notices,
    receive,
    refused,
)
from tests.fixtures.api import APPLICANT, Api

RECEIPT = {"procedure_code": "DN-XD-001", "applicant": APPLICANT}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def listed(api: Api, user: str = "sxd.officer") -> list[str]:
    answer = await api.get("/api/v1/dossiers", user, limit=500)
    assert answer.status_code == 200, answer.text
    return [d["code"] for d in answer.json()["items"]]


def created(api: Api, *answers: httpx.Response) -> set[str]:
    """The codes of 201 receipts, registered so the fixture ends their workflows."""
    codes = {a.json()["code"] for a in answers if a.status_code == 201}
    api.created.extend(codes - set(api.created))
    for answer in answers:
        assert answer.status_code == 201, answer.text
    return codes


async def test_a_retried_receipt_with_the_same_key_is_the_same_dossier(api: Api) -> None:
    first = await api.post("/api/v1/dossiers", RECEIPT, **key("receipt-1"))
    retry = await api.post("/api/v1/dossiers", RECEIPT, **key("receipt-1"))

    assert created(api, first, retry) == {first.json()["code"]}
    assert retry.json() == first.json()
    assert await listed(api) == [first.json()["code"]]

    other = await api.post("/api/v1/dossiers", RECEIPT, **key("receipt-2"))
    no_key = await api.post("/api/v1/dossiers", RECEIPT)
    codes = created(api, first, other, no_key)
    assert len(codes) == 3
    assert sorted(await listed(api)) == sorted(codes)


async def test_the_key_belongs_to_its_user(api: Api) -> None:
    mine = await api.post("/api/v1/dossiers", RECEIPT, **key("shared"))
    theirs = await api.post(
        "/api/v1/dossiers",
        {"procedure_code": "DN-LLTP-001", "applicant": APPLICANT},
        "stp.officer",
        **key("shared"),
    )

    assert len(created(api, mine, theirs)) == 2
    assert theirs.json()["lead_agency"] == "STP"


async def test_concurrent_receipts_with_one_key_make_one_dossier(api: Api) -> None:
    for attempt in range(3):
        answers = await asyncio.gather(
            *(api.post("/api/v1/dossiers", RECEIPT, **key(f"burst-{attempt}")) for _ in range(4))
        )
        codes = created(api, *answers)
        assert len(codes) == 1, (attempt, codes)
    assert len(await listed(api)) == 3


async def test_a_retried_consultation_with_the_same_key_happens_once(api: Api) -> None:
    code = (await receive(api))["code"]
    body = {"agencies": ["CAT", "SNNMT"], "content": "Xin ý kiến", "deadline": deadline_in(3600)}
    path = f"/api/v1/dossiers/{code}/consultations"

    first = await api.post(path, body, **key("consult-1"))
    retry = await api.post(path, body, **key("consult-1"))

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    shown = await dossier(api, code)
    assert [c["agency"] for c in shown["consultations"]] == ["CAT", "SNNMT"]
    assert len([e for e in shown["events"] if e["kind"] == "consultation_requested"]) == 2
    assert len(await notices(api, dossier=code, kind="consultation_request")) == 2

    # Without the key, the same body is a new attempt, refused: both are already consulted.
    again = await api.post(path, body)
    assert_problem(again, 409, "already_consulting")


async def test_concurrent_consultations_with_one_key_happen_once(api: Api) -> None:
    code = (await receive(api))["code"]
    body = {"agencies": ["CAT"], "content": "Xin ý kiến", "deadline": deadline_in(3600)}

    answers = await asyncio.gather(
        *(
            api.post(f"/api/v1/dossiers/{code}/consultations", body, **key("consult-burst"))
            for _ in range(4)
        )
    )

    assert [a.status_code for a in answers] == [201] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    assert len((await dossier(api, code))["consultations"]) == 1


async def test_a_retried_sos_refusal_is_recorded_once(api: Api) -> None:
    code = (await receive(api))["code"]
    await api.consult(code, "CAT")
    stop = {"action": "stop", "reason": "Chờ thẩm định"}

    answers: list[dict[str, Any]] = []
    for _ in range(3):
        attempt = await api.post(f"/api/v1/dossiers/{code}/sos", stop, **key("stop-1"))
        answers.append(assert_problem(attempt, 409, "sos_rejected_awaiting_replies"))

    assert answers[1:] == answers[:1] * 2
    [event] = refused(await dossier(api, code), "sos")
    assert event["detail"]["code"] == "sos_rejected_awaiting_replies"
    assert "repeated" not in event["detail"]  # one attempt, whatever the retries

    # Another key is another attempt, and is counted as such (R9): on the same event, the
    # attempt being identical (issue 8).
    await act(api, code, "sos", stop)
    [event] = refused(await dossier(api, code), "sos")
    assert event["detail"]["repeated"] == 2


async def test_one_key_on_different_actions_is_different_actions(api: Api) -> None:
    code = (await receive(api))["code"]

    stopped = await api.post(
        f"/api/v1/dossiers/{code}/sos", {"action": "stop", "reason": "x"}, **key("k")
    )
    resumed = await api.post(f"/api/v1/dossiers/{code}/resume", {"reason": "y"}, **key("k"))

    assert (stopped.status_code, resumed.status_code) == (200, 200)
    assert resumed.json()["status"] == "processing"


async def test_a_key_sent_again_with_another_receipt_is_refused(api: Api) -> None:
    first = await api.post("/api/v1/dossiers", RECEIPT, **key("receipt-once"))
    other_applicant = {**RECEIPT, "applicant": {**APPLICANT, "name": "Trần Thị Bích"}}
    reused = await api.post("/api/v1/dossiers", other_applicant, **key("receipt-once"))
    # The same request spelt otherwise (key order, spaces) is the same request.
    respelt = await api.http.post(
        "/api/v1/dossiers",
        content=(
            '{"applicant": {"id_number": "075123456789", "phone": "0912 345 678",'
            '  "name": "Lê Văn Cường"}, "procedure_code": "DN-XD-001"}'
        ).encode(),
        headers=api.headers(
            "sxd.officer", **key("receipt-once"), **{"Content-Type": "application/json"}
        ),
    )

    assert_problem(reused, 422, "idempotency_key_reused")
    assert created(api, first, respelt) == {first.json()["code"]}
    assert await listed(api) == [first.json()["code"]]


async def test_a_key_sent_again_with_another_action_body_is_refused(api: Api) -> None:
    code = (await receive(api))["code"]
    stop = {"action": "stop", "reason": "Chờ thẩm định"}

    stopped = await api.post(f"/api/v1/dossiers/{code}/sos", stop, **key("sos-once"))
    returned = await api.post(
        f"/api/v1/dossiers/{code}/sos", {**stop, "action": "return"}, **key("sos-once")
    )
    again = await api.post(f"/api/v1/dossiers/{code}/sos", stop, **key("sos-once"))

    assert stopped.status_code == 200, stopped.text
    assert_problem(returned, 422, "idempotency_key_reused")
    assert again.json() == stopped.json()
    document = await dossier(api, code)
    assert document["status"] == "stopped"
    assert [e["kind"] for e in document["events"]].count("sos_stop") == 1
