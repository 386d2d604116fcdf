"""Schemathesis over the served OpenAPI document (issue 8): whatever a client sends that the
document allows, or does not, the API answers without a 5xx, with a status the document lists
for that route, in the content type and the schema it states. Bounded: a fixed seed and a few
examples per operation, as an officer, an admin and an inspector, on real dossiers (their codes,
the catalogue's procedures and agencies are given to the generator), over real HTTP on both
databases.

`positive_data_acceptance` is left out: the rules refuse schema-valid requests with 422 by
design (API.md: `content_required`, `deadline_in_past`...).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from db.migrate import sync_calendar
from domain.localtime import local_date
from tests.api.http_helpers import consult, receive
from tests.fixtures.api import APPLICANT, Api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
    "missing_required_header,unsupported_method"
)
EXAMPLES = 8  # per operation and phase: about 2,000 requests in all
SEED = 448

# Values the generator mixes into what it makes up, so that requests reach real dossiers.
CONFIG = """
[dictionaries.dossiers]
values = {dossiers}
[dictionaries.procedures]
values = ["DN-XD-001", "DN-MT-001", "DN-LLTP-001"]
[dictionaries.agencies]
values = ["CAT", "SNNMT", "SXD", "STP", "SNV"]
[dictionaries.forms]
values = ["01", "02", "03", "04", "05", "06", "07"]
[dictionaries.phones]
values = ["{phone}"]

[parameters]
"path.code" = {{ dictionary = "dossiers", probability = 0.8 }}
"path.agency" = {{ dictionary = "agencies", probability = 0.8 }}
"path.form" = {{ dictionary = "forms", probability = 0.8 }}
"query.phone" = {{ dictionary = "phones", probability = 0.8 }}
"body.procedure_code" = {{ dictionary = "procedures", probability = 0.8 }}
"body.agencies[*]" = {{ dictionary = "agencies", probability = 0.8 }}
"""


async def schemathesis(api: Api, config: Path, user: str, *options: str) -> tuple[int, str]:
    """Run the schemathesis CLI against the served document as `user`; its exit code and
    output. A process of its own: the API under test runs on this test's event loop."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{api.base_url}/openapi.json",
        "--header",
        f"Authorization: {api.headers(user)['Authorization']}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=config.parent,  # its cache too
    )
    output, _ = await process.communicate()
    return await process.wait(), output.decode(errors="replace")


@pytest.mark.timeout(240)
async def test_schemathesis_finds_no_5xx_and_no_departure_from_the_openapi(
    api: Api, tmp_path: Path
) -> None:
    dossiers = [(await receive(api))["code"] for _ in range(6)]
    for code in dossiers[:3]:
        await consult(api, code, "CAT")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(dossiers=json.dumps(dossiers), phone=APPLICANT["phone"]))

    today = local_date(datetime.now(UTC))  # the reports' calendar, as db.migrate writes it
    await sync_calendar(api.settings.database, first=today - timedelta(days=60), last=today)

    runs = {
        "an officer of the lead agency, on every route": ("sxd.officer",),
        "an admin, on the catalogue": ("admin", "--include-tag", "catalogue"),
        "an inspector, on reports and notices": (
            "vpubnd.inspector",
            "--include-tag",
            "reports",
            "--include-tag",
            "notices",
        ),
    }
    for who, (user, *options) in runs.items():
        code, output = await schemathesis(api, config, user, *options)
        await _terminated_at_teardown(api)
        assert code == 0, f"schemathesis as {who}:\n{output}"
        tested = re.search(r"(\d+) generated, (\d+) passed", output)
        assert tested and int(tested[2]) == int(tested[1]) > 100, output


async def _terminated_at_teardown(api: Api) -> None:
    """The dossiers schemathesis received are terminated with the test's own (`api`)."""
    listed = await api.get("/api/v1/dossiers", "snv.home_affairs", limit=500)
    api.created.extend(d["code"] for d in listed.json()["items"] if d["code"] not in api.created)
