"""The reminder ladder of R3 as clients see it over HTTP, in seconds (the `api` fixture sets
`MOTCUA_REMINDER_GRACE=PT2S`): reminder 1 to the late agency at its deadline, reminder 2 after the
grace with the Department of Home Affairs (SNV) in copy, exactly one of each, none once the answer
has come; each agency sees its own notices, oversight sees all, others none."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.api.http_helpers import (
    consult,
    dossier,
    eventually,
    notices,
    receive,
    reply,
    sleep_until,
    when,
)
from tests.fixtures.api import Api

GRACE = timedelta(seconds=2)
WITHIN = 20  # seconds: "shows up within seconds" (API.md), with room for a slow machine


def kinds(sent: list[dict[str, Any]]) -> list[str]:
    return [n["kind"] for n in sent]


async def test_r3_reminder_1_then_reminder_2_copied_to_home_affairs(api: Api) -> None:
    code = (await receive(api))["code"]
    [asked] = await consult(api, code, "CAT", in_seconds=2)
    deadline = when(asked["deadline"])

    sent = await eventually(
        lambda: notices(api, dossier=code),
        # ... and delivered, so that every later read shows the same notices (their `delivery`).
        lambda sent: (
            "reminder_2" in kinds(sent)
            and all(n["delivery"]["status"] == "delivered" for n in sent)
        ),
        within=WITHIN,
        what="reminder_2",
    )

    assert kinds(sent) == ["consultation_request", "reminder_1", "reminder_2"]
    _, first, second = sent
    assert (first["to"], first["cc"]) == ("CAT", [])
    assert (second["to"], second["cc"]) == ("CAT", ["SNV"])
    assert when(first["sent_at"]) >= deadline
    assert when(second["sent_at"]) >= deadline + GRACE
    assert all(n["dossier"] == code and n["subject"] and n["body"] for n in sent)
    assert await notices(api, "vpubnd.inspector", dossier=code) == sent
    [copied] = await notices(api, dossier=code, kind="reminder_2")
    assert copied == second

    # The consulted agency sees both in its own notices, whatever agency it asks about.
    assert await notices(api, "cat.officer", dossier=code) == sent
    assert await notices(api, "cat.officer", dossier=code, agency="SNNMT") == sent
    # Home Affairs sees reminder 2 as a copy even through the agency filter.
    assert kinds(await notices(api, agency="SNV", dossier=code)) == ["reminder_2"]
    # An agency with no part in it sees none of them, whatever it asks for.
    for outsider in ("stp.officer", "snnmt.officer"):
        assert await notices(api, outsider, dossier=code) == [], outsider
    assert await notices(api, "stp.officer", agency="CAT") == []

    shown = await dossier(api, code)
    [consultation] = shown["consultations"]
    assert consultation["status"] == "overdue"
    assert [(r["level"], r["cc"]) for r in consultation["reminders"]] == [(1, []), (2, ["SNV"])]
    assert [when(r["sent_at"]) for r in consultation["reminders"]] == [
        when(first["sent_at"]),
        when(second["sent_at"]),
    ]
    timers = [(e["kind"], e["actor"]) for e in shown["events"] if e["kind"].startswith("reminder")]
    assert timers == [("reminder_1", "system"), ("reminder_2", "system")]

    answered = await reply(api, code, "CAT", "cat.officer", late_reason="Thiếu cán bộ")
    assert answered["consultations"][0]["status"] == "answered_late"
    await asyncio.sleep(GRACE.total_seconds() + 0.5)  # a third notice would have come by now
    assert await notices(api, dossier=code) == sent


async def test_r3_no_reminder_2_once_the_answer_has_come(api: Api) -> None:
    code = (await receive(api))["code"]
    [asked] = await consult(api, code, "CAT", in_seconds=2)

    await eventually(
        lambda: notices(api, dossier=code, kind="reminder_1"),
        lambda sent: len(sent) == 1,
        within=WITHIN,
        what="reminder_1",
    )
    answered = await reply(api, code, "CAT", "cat.officer", late_reason="Chờ ý kiến lãnh đạo")
    # The answer must have beaten reminder 2 (deadline + 2 s) for this test to mean anything.
    assert [r["level"] for r in answered["consultations"][0]["reminders"]] == [1]

    await sleep_until(when(asked["deadline"]) + GRACE, margin=1.5)

    assert kinds(await notices(api, dossier=code)) == ["consultation_request", "reminder_1"]
    [consultation] = (await dossier(api, code))["consultations"]
    assert consultation["status"] == "answered_late"
    assert [r["level"] for r in consultation["reminders"]] == [1]
