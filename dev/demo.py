"""A dossier to look at, while `make run` is up: `make demo` (or `python -m dev.demo`).

Goes through the HTTP API of `make run` as a development user would: `sxd.officer` of
dev/users.toml, with a token minted by `dev.tokens` from the secret `make run` keeps in the data
folder. It receives a building-permit dossier (its code comes from the unit's daily sequence, like
any other), asks the environment department and the fire police for their opinions with a
deadline a minute ahead, and presses SOS "stop", which letter 448 forbids while opinions are
awaited (R4): the refusal is recorded in the dossier's timeline. It prints the dossier's page and
its Web UI link; the reminders follow by themselves (set MOTCUA_REMINDER_GRACE=PT30S before
`make run` to see reminder 2 within a minute as well).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.auth import AuthSettings
from dev.tokens import NoDevSecret, dev_secret, load_users, mint_token
from domain.localtime import VN
from workflows.starter import workflow_id

OFFICER = "sxd.officer"
PROCEDURE = "DN-XD-001"
APPLICANT = {"name": "Trần Thị Bình", "phone": "0912 345 678", "id_number": "075198012345"}
CONSULTED = ["SNNMT", "CAT"]


class DemoFailed(Exception):
    """The API did not answer as the scenario expects; the message says what it said."""


def vn(moment: str) -> str:
    """An ISO time of the API as people in Vietnam read it: dd/mm/yyyy HH:MM."""
    return f"{datetime.fromisoformat(moment).astimezone(VN):%d/%m/%Y %H:%M}"


def expect(response: httpx.Response, status: int, doing: str) -> Any:
    if response.status_code != status:
        raise DemoFailed(f"{doing}: HTTP {response.status_code} {response.text}")
    return response.json()


async def run(settings: AuthSettings) -> None:
    user = next(user for user in load_users() if user.id == OFFICER)
    token = mint_token(
        user,
        dev_secret(settings),
        hours=1,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    api = f"http://localhost:{settings.api_port}"  # as printed, for a browser
    headers = {"Authorization": f"Bearer {token}"}
    base_url = f"http://127.0.0.1:{settings.api_port}"  # where `make run`'s API listens
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        try:
            await http.get("/healthz")
        except httpx.ConnectError:
            raise DemoFailed(f"no API at {api}: start the stack with `make run` first") from None

        received = expect(
            await http.post(
                "/api/v1/dossiers", json={"procedure_code": PROCEDURE, "applicant": APPLICANT}
            ),
            201,
            "receiving the dossier",
        )
        code = received["code"]
        print(
            f"dossier {code} ({received['procedure_code']}) received by {user.name} on "
            f"{vn(received['received_at'])}, due {vn(received['due_at'])} (Vietnam time)"
        )

        deadline = datetime.now(UTC) + timedelta(minutes=1)
        expect(
            await http.post(
                f"/api/v1/dossiers/{code}/consultations",
                json={
                    "agencies": CONSULTED,
                    "content": "Đề nghị cho ý kiến về môi trường và phòng cháy chữa cháy",
                    "deadline": deadline.isoformat(),
                },
            ),
            201,
            "consulting",
        )
        print(f"asked {' and '.join(CONSULTED)} for their opinions by {vn(deadline.isoformat())}")

        stop = await http.post(
            f"/api/v1/dossiers/{code}/sos",
            json={"action": "stop", "reason": "Tạm dừng chờ ý kiến các sở"},
        )
        refusal = expect(stop, 409, "SOS stop while opinions are awaited")
        print(
            f"SOS stop refused as letter 448 requires ({refusal['code']}): "
            f"{refusal.get('detail_vi', refusal['detail'])}"
        )

    ui = f"http://localhost:{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}"
    print(f"its page:      {api}/dossiers/{code}  (sign in as {OFFICER} at {api}/signin)")
    print(f"in the Web UI: {ui}/workflows/{workflow_id(code)}")
    print(f"the citizen:   {api}/lookup?code={code}  (phone {APPLICANT['phone']})")


def main() -> int:
    try:
        asyncio.run(run(AuthSettings()))
    except (DemoFailed, NoDevSecret) as failed:
        print(f"make demo: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
