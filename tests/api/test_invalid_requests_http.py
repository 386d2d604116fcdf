"""Refused before any rule is asked, recorded all the same (R9, R12): an action on a dossier
whose body is not JSON, or not the action's shape, answers its 400 or 422 problem document and
leaves a `refused` event with who, when, what and why, whether the workflow still runs (it
records it) or has ended (the API records it). Real HTTP, both databases."""

from __future__ import annotations

from typing import Any

import httpx
from structlog.testing import capture_logs

from tests.api.http_helpers import (
    act,
    assert_problem,
    dossier,
    eventually,
    receive,
    refused,
)
from tests.fixtures.api import Api

RETURN = {"action": "return", "reason": "Không đủ điều kiện"}


async def post_raw(api: Api, path: str, body: bytes, user: str | None = "sxd.officer") -> Any:
    headers = api.headers(user, **{"Content-Type": "application/json"})
    return await api.http.post(path, content=body, headers=headers)


async def refusals_shown(api: Api, code: str, count: int) -> list[dict[str, Any]]:
    document = await eventually(
        lambda: dossier(api, code),
        lambda d: len(refused(d)) >= count,
        within=10,
        what=f"{count} refused event(s) on {code}",
    )
    return refused(document)


async def test_r9_malformed_and_misshapen_actions_on_a_running_dossier_are_recorded(
    api: Api,
) -> None:
    code = (await receive(api))["code"]

    malformed = await post_raw(api, f"/api/v1/dossiers/{code}/sos", b'{"action": "stop",')
    assert_problem(malformed, 400, "malformed_json")
    misshapen = await act(api, code, "sos", {"action": "explode", "reason": "Thử"})
    assert_problem(misshapen, 422, "validation_error")

    first, second = await refusals_shown(api, code, 2)
    assert first["actor"] == "sxd.officer"
    assert first["detail"]["action"] == "sos"
    assert first["detail"]["code"] == "malformed_json"
    assert first["detail"]["actor_agency"] == "SXD"
    assert first["detail"]["request"] == {"body": '{"action": "stop",'}
    assert second["detail"]["code"] == "validation_error"
    assert any("action" in error for error in second["detail"]["errors"])
    assert '"explode"' in second["detail"]["request"]["body"]
    assert (await dossier(api, code))["status"] == "processing"  # nothing else changed


async def test_r9_a_malformed_action_on_a_closed_dossier_is_recorded_by_the_api(
    api: Api,
) -> None:
    code = (await receive(api))["code"]
    returned = await act(api, code, "sos", RETURN)
    assert returned.status_code == 200, returned.text

    malformed = await post_raw(
        api, f"/api/v1/dossiers/{code}/consultations/CAT/reply", b"opinion=yes"
    )

    assert_problem(malformed, 400, "malformed_json")
    (event,) = await refusals_shown(api, code, 1)
    assert (event["detail"]["action"], event["detail"]["code"]) == ("reply", "malformed_json")
    assert event["detail"]["request"] == {"body": "opinion=yes"}


async def test_unreadable_requests_no_one_can_be_held_to_are_answered_and_not_recorded(
    api: Api,
) -> None:
    code = (await receive(api))["code"]

    anonymous = await post_raw(api, f"/api/v1/dossiers/{code}/sos", b"{", user=None)
    unknown = await post_raw(api, "/api/v1/dossiers/NO-SUCH-CODE/sos", b"{")

    assert anonymous.status_code in (400, 401), anonymous.text
    assert_problem(unknown, 400, "malformed_json")
    assert refused(await dossier(api, code)) == []


async def test_a_long_body_is_kept_in_part(api: Api) -> None:
    code = (await receive(api))["code"]
    body = b'{"reason": "' + b"x" * 5000

    response = await post_raw(api, f"/api/v1/dossiers/{code}/resume", body)

    assert isinstance(response, httpx.Response) and response.status_code == 400
    (event,) = await refusals_shown(api, code, 1)
    assert len(event["detail"]["request"]["body"]) == 1000


async def test_issue8_a_stranger_s_action_is_refused_403_whatever_he_sent_and_only_logged(
    api: Api,
) -> None:
    """Authorization before the body: an agency with no part in the dossier gets `forbidden`
    for an unreadable request as for a readable one, and its attempts go to the security log,
    not into the dossier's events."""
    code = (await receive(api))["code"]
    path = f"/api/v1/dossiers/{code}/sos"

    with capture_logs() as logs:
        malformed = await post_raw(api, path, b'{"reason": "x\\u0000', user="stp.officer")
        misshapen = await act(api, code, "sos", {"action": "explode"}, "stp.officer")
        readable = await act(api, code, "sos", {"action": "stop", "reason": "Thử"}, "stp.officer")

    for response in (malformed, misshapen, readable):
        assert_problem(response, 403, "forbidden")
    assert refused(await dossier(api, code)) == []
    assert [
        (e["user"], e["agency"], e["method"], e["route"], e["code"], e["dossier"])
        for e in logs
        if e["event"] == "security_refused"
    ] == [("stp.officer", "STP", "POST", "/api/v1/dossiers/{code}/sos", "forbidden", code)] * 3


async def test_issue8_a_non_admin_s_invalid_catalogue_entry_is_403_not_422(api: Api) -> None:
    for path in ("/api/v1/procedures", "/api/v1/agencies"):
        assert_problem(await post_raw(api, path, b"{"), 403, "forbidden")
        assert_problem(await api.post(path, {"code": 1}), 403, "forbidden")
        assert_problem(await post_raw(api, path, b"{", user="admin"), 400, "malformed_json")
        assert_problem(await api.post(path, {"code": 1}, "admin"), 422, "validation_error")
    changed = await api.http.put(
        "/api/v1/agencies/SXD", content=b"[", headers=api.headers("sxd.head")
    )
    assert_problem(changed, 403, "forbidden")
