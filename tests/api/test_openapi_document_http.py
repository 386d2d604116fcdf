"""docs/openapi.json (written by `make openapi`) is the document the running API serves, so the
repository's copy of the source of truth never lags behind it."""

from __future__ import annotations

import json

import pytest

from api.openapi_export import OPENAPI_PATH
from tests.fixtures.api import Api


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the database plays no part
async def test_the_repository_s_openapi_json_is_the_served_one(api: Api) -> None:
    served = await api.http.get("/openapi.json")
    assert served.status_code == 200
    kept = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served.json() == kept, "docs/openapi.json is out of date: run `make openapi`"
