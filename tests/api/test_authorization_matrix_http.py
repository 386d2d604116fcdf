"""Authorization before the workflow (issue 8), as a matrix generated from API.md's dossier
table: every role × relation to the dossier (its lead agency, a consulted agency, a stranger) ×
route × dossier state (open, closed), over real HTTP, on both databases.

A stranger (not the lead agency, not consulted; `home_affairs` and `inspector` only for
reading) gets 403 `forbidden` whatever the state, and nothing of his reaches the dossier's
events. A party's attempt gets what the rules say, and a refused one is recorded (R9, R12).
Requests are chosen so that every refusal leaves the dossier as it was: two dossiers serve the
whole matrix.

The `who` cells come from tests/api/data/api_md_who.toml, a verbatim copy of API.md's rows,
checked against docs/API.md.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dev.tokens import DevUser, mint_token
from domain.commands import Role
from domain.refusals import Code, http_status_of
from settings import REPO_ROOT
from tests.api.http_helpers import act, assert_problem, consult, new_code, receive, refused, reply
from tests.fixtures.api import SECRET, Api

ROWS: list[dict[str, str]] = tomllib.loads(
    (Path(__file__).parent / "data" / "api_md_who.toml").read_text(encoding="utf-8")
)["row"]
API_MD = REPO_ROOT / "docs" / "API.md"

LEAD, CONSULTED, STRANGER = "SXD", "CAT", "STP"
RELATIONS = {"lead": LEAD, "consulted": CONSULTED, "stranger": STRANGER}
READERS = "lead agency staff, consulted agencies, `home_affairs`, `inspector`"
# Each action's `who` cell of API.md: the roles it names, the agency they must be of, and the
# code the rules refuse anyone else of a party with. A `head` of the lead agency may do what its
# `officer` may (README, "What this API adds").
ACTORS: dict[str, tuple[frozenset[Role], str, Code, Code]] = {
    "`officer` of the lead agency": (
        frozenset({Role.OFFICER, Role.HEAD}),
        "lead",
        Code.NOT_LEAD_AGENCY,  # a consulted agency's staff
        Code.FORBIDDEN,  # the lead agency's, in another role
    ),
    "`officer` or `head` of that agency": (
        frozenset({Role.OFFICER, Role.HEAD}),
        "consulted",
        Code.NOT_YOUR_CONSULTATION,
        Code.FORBIDDEN,
    ),
    "`head` of the lead agency": (
        frozenset({Role.HEAD}),
        "lead",
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
    ),
}
# What each action is sent on the open dossier (consulting CAT, nothing else done), and what a
# caller the `who` cell allows gets: a refusal that changes nothing but the events.
REFUSED_ON_OPEN: dict[str, tuple[dict[str, Any], Code]] = {
    "POST consultations": ({"agencies": []}, Code.AGENCIES_REQUIRED),
    "POST consultations/{agency}/reply": ({"opinion": " "}, Code.OPINION_REQUIRED),
    "POST sos": ({"action": "stop", "reason": ""}, Code.SOS_REJECTED_AWAITING_REPLIES),
    "POST supplement": ({"documents": []}, Code.NOT_AWAITING_SUPPLEMENT),
    "POST resume": ({"reason": ""}, Code.NOT_STOPPED),
    "POST apology": ({"reason": ""}, Code.REASON_REQUIRED),
    "POST withdrawal": ({"reason": "", "application_ref": ""}, Code.REASON_REQUIRED),
    "POST withdrawal/confirm": ({"signature_ref": ""}, Code.NO_PENDING_WITHDRAWAL),
    "POST result": ({"outcome": "approved", "document_no": ""}, Code.CONSULTATIONS_AWAITING),
    "POST handover": ({}, Code.NO_RESULT),
}


@dataclass(frozen=True)
class Caller:
    relation: str
    role: Role

    @property
    def user(self) -> DevUser:
        agency = RELATIONS[self.relation]
        return DevUser(
            id=f"m.{agency}.{self.role.value}", name="", agency=agency, roles=[self.role]
        )


CALLERS = [Caller(relation, role) for relation in RELATIONS for role in Role]


def expected(row: dict[str, str], caller: Caller, state: str) -> str:
    """The `code` API.md's `who` cell and the rules give `caller` on a dossier in `state` (the
    route's own refusal for those it allows; "ok" for a reading allowed)."""
    role, relation = caller.role, caller.relation
    if row["route"] == "GET":
        assert row["who"] == READERS, row
        readers = relation != "stranger" or role in (Role.HOME_AFFAIRS, Role.INSPECTOR)
        return "ok" if readers else "forbidden"
    if relation == "stranger":
        return "forbidden"
    if state == "closed":
        return Code.DOSSIER_CLOSED.value
    roles, agency, other_party, other_role = ACTORS[row["who"]]
    if relation != agency:
        return other_party.value
    if role not in roles:
        return other_role.value
    return REFUSED_ON_OPEN[row["route"]][1].value


def path_of(row: dict[str, str], code: str) -> str:
    route = row["route"].removeprefix("GET").removeprefix("POST ").format(agency=CONSULTED)
    return f"/api/v1/dossiers/{code}/{route}".rstrip("/")


async def send(api: Api, row: dict[str, str], code: str, caller: Caller) -> httpx.Response:
    headers = {"Authorization": f"Bearer {mint_token(caller.user, SECRET, hours=1)}"}
    if row["route"] == "GET":
        return await api.http.get(path_of(row, code), headers=headers)
    body = REFUSED_ON_OPEN[row["route"]][0]
    return await api.http.post(path_of(row, code), json=body, headers=headers)


def test_the_matrix_rows_are_api_md_s() -> None:
    """The copied rows are API.md's own (docs/API.md)."""
    assert {row["route"] for row in ROWS} == {"GET", *REFUSED_ON_OPEN}
    contract = API_MD.read_text(encoding="utf-8")
    for row in ROWS:
        assert f"| {row['call']} | {row['who']} |" in contract, row


async def test_only_a_dossier_s_parties_reach_it_and_only_theirs_are_recorded(api: Api) -> None:
    opened = (await receive(api))["code"]
    await consult(api, opened, CONSULTED)
    closed = (await receive(api))["code"]
    await consult(api, closed, CONSULTED)
    await reply(api, closed, CONSULTED, "cat.officer")
    returned = await act(api, closed, "sos", {"action": "return", "reason": "Không đủ điều kiện"})
    assert returned.json()["status"] == "returned", returned.text
    before = {code: len(refused(await _document(api, code))) for code in (opened, closed)}

    wrong = []
    recorded: dict[str, Counter[str]] = {opened: Counter(), closed: Counter()}
    for state, code in (("open", opened), ("closed", closed)):
        for row in ROWS:
            for caller in CALLERS:
                response = await send(api, row, code, caller)
                got = "ok" if response.is_success else response.json().get("code")
                want = expected(row, caller, state)
                status = 200 if want == "ok" else http_status_of(Code(want))
                if (got, response.status_code) != (want, status):
                    wrong.append((state, row["route"], caller, want, got, response.status_code))
                if row["route"] != "GET" and caller.relation != "stranger":
                    recorded[code][caller.user.id] += 1
    assert wrong == []

    for code in (opened, closed):
        events = refused(await _document(api, code))[before[code] :]
        assert Counter(e["actor"] for e in events) == recorded[code]  # strangers: never


async def test_an_unknown_dossier_is_404_for_anyone(api: Api) -> None:
    unknown = new_code()
    for row in ROWS:
        for caller in (Caller("stranger", Role.OFFICER), Caller("lead", Role.OFFICER)):
            assert_problem(await send(api, row, unknown, caller), 404, "dossier_not_found")


async def _document(api: Api, code: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/dossiers/{code}", "vpubnd.inspector")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document
