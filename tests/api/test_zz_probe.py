from __future__ import annotations

from tests.fixtures.api import Api


async def test_probe(api: Api, unique: str) -> None:
    d = await api.receive()
    code = d["code"]
    r = await api.post(f"/api/v1/dossiers/{code}/consultations", {"agencies": ["CAT"], "content": "x", "deadline": "9999-12-31T23:59:59-14:00"})
    print("DL", r.status_code, r.text[:150])
