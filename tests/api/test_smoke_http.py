"""The service answers over real HTTP on both databases: receipt, a consultation, and the R4
refusal of API.md with its `awaiting` facts, recorded in the dossier's timeline."""

from __future__ import annotations

from tests.fixtures.api import Api


async def test_r4_sos_stop_refused_over_http_and_recorded(api: Api) -> None:
    dossier = await api.receive()
    code = dossier["code"]
    assert dossier["status"] == "processing" and dossier["due_at"]
    consulted = await api.consult(code, "CAT", "SNNMT")
    assert consulted.status_code == 201, consulted.text
    refused = await api.post(f"/api/v1/dossiers/{code}/sos", {"action": "stop", "reason": "Chờ"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "sos_rejected_awaiting_replies"
    assert [a["agency"] for a in problem["awaiting"]] == ["CAT", "SNNMT"]
    got = await api.get(f"/api/v1/dossiers/{code}")
    assert got.status_code == 200
    events = got.json()["events"]
    assert events[-1]["kind"] == "refused"
    assert events[-1]["detail"]["action"] == "sos"
    assert events[-1]["detail"]["code"] == "sos_rejected_awaiting_replies"
