"""Error mapping (issue 8): input the databases cannot hold or search for is the client's
mistake, 422, never 503 `database_unavailable` (5xx only for a real fault of a dependency), on
both databases over real HTTP. The command models refuse most such input at the boundary; this
is the answer for whatever still reaches a query."""

from __future__ import annotations

from api.deps import encode_cursor
from tests.api.http_helpers import PROBLEM
from tests.fixtures.api import Api

TOO_BIG = 2**70  # beyond the 64-bit integers both databases hold


async def test_issue8_input_the_database_cannot_take_is_422_not_503(api: Api) -> None:
    answers = {
        "NUL in a list filter": await api.get("/api/v1/dossiers", lead_agency="S\x00XD"),
        "NUL in a notices filter": await api.get("/api/v1/notices", dossier="a\x00b"),
        "NUL in the public look-up": await api.http.get(
            "/public/v1/dossiers/X-1", params={"phone": "09\x0012"}
        ),
        "cursor beyond 64 bits": await api.get("/api/v1/notices", cursor=encode_cursor(TOO_BIG)),
        "integer beyond 64 bits": await api.post(
            "/api/v1/procedures",
            {
                "code": "DN-TEST-BIG",
                "name": "Thủ tục thử",
                "lead_agency": "SXD",
                "processing_days": TOO_BIG,
                "max_consultation_days": 5,
                "required_documents": [],
            },
            "admin",
        ),
    }
    for case, answer in answers.items():
        # A cursor the API never gave is its own mistake (400); the rest are refused at the
        # boundary (a NUL: `forbidden_character`, a number: `number_out_of_range`), on both
        # databases, before any query.
        expected = 400 if case.startswith("cursor") else 422
        assert answer.status_code == expected, (case, answer.text)
        assert answer.headers["content-type"] == PROBLEM, case
