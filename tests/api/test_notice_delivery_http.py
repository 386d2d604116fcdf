"""`GET /api/v1/notices` carries each notice's delivery (issue 11): its status, channels, attempts
and last error, in sum and per recipient, as `activities.delivery` recorded them while really
sending: e-mail to the session's mail catcher (tests/fixtures/mail.py), a webhook the worker
refuses to send unsigned, an applicant with no address. An admin sees every notice."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.api.http_helpers import act, consult, eventually, notices, receive
from tests.fixtures.api import Api

# Accepted by the catalogue (http:// to localhost); the test service has no MOTCUA_WEBHOOK_SECRET,
# so every post to it fails before leaving the worker: a failure that is retried for ever.
UNSIGNED_WEBHOOK = "http://127.0.0.1:9/motcua"
SNNMT_MAIL = "vanthu@snnmt.dongnai.gov.vn"


async def give_cat_a_webhook(api: Api) -> None:
    """As an admin would: CAT's notices now go to its webhook instead of its e-mail."""
    listed = await api.get("/api/v1/agencies", "admin", limit=500)
    cat = next(a for a in listed.json()["items"] if a["code"] == "CAT")
    changed = await api.http.put(
        "/api/v1/agencies/CAT",
        json={**cat, "webhook_url": UNSIGNED_WEBHOOK},
        headers=api.headers("admin"),
    )
    assert changed.status_code == 200, changed.text


def mails_in(folder: Path) -> list[EmailMessage]:
    """What the mail catcher caught, one message per .eml."""
    return [
        message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def by_kind_and_to(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(n["kind"], n["to"]): n for n in items}


async def test_notices_carry_their_delivery_per_recipient_as_really_attempted(
    api: Api, mail_server: Path
) -> None:
    await give_cat_a_webhook(api)
    consulting = (await receive(api))["code"]
    await consult(api, consulting, "SNNMT", "CAT")
    stopped = (await receive(api))["code"]  # its applicant gave no e-mail address
    stop = {"action": "stop", "reason": "Chờ xác minh nguồn gốc đất"}
    assert (await act(api, stopped, "sos", stop)).status_code == 200

    def settled(items: list[dict[str, Any]]) -> bool:
        return len(items) == 3 and all(n["delivery"]["status"] != "pending" for n in items)

    async def of_both() -> list[dict[str, Any]]:
        return await notices(api, "admin", dossier=consulting) + await notices(
            api, "admin", dossier=stopped
        )

    seen = by_kind_and_to(
        await eventually(of_both, settled, within=30, what="three notices attempted")
    )

    by_mail = seen["consultation_request", "SNNMT"]["delivery"]
    assert by_mail["status"] == "delivered" and by_mail["channel"] == "email"
    assert (by_mail["attempts"], by_mail["last_error"]) == (1, None)
    assert by_mail["delivered_at"] is not None
    assert [
        {k: r[k] for k in ("recipient", "role", "channel", "status", "attempts", "last_error")}
        for r in by_mail["recipients"]
    ] == [
        {
            "recipient": "SNNMT",
            "role": "to",
            "channel": "email",
            "status": "delivered",
            "attempts": 1,
            "last_error": None,
        }
    ]
    caught = await asyncio.to_thread(mails_in, mail_server)
    assert any(SNNMT_MAIL in m["To"] and consulting in m["Subject"] for m in caught), caught

    by_webhook = seen["consultation_request", "CAT"]["delivery"]
    assert (by_webhook["status"], by_webhook["channel"]) == ("failed_attempt", "webhook")
    assert by_webhook["attempts"] >= 1 and by_webhook["delivered_at"] is None
    assert "MOTCUA_WEBHOOK_SECRET" in by_webhook["last_error"]
    [cat] = by_webhook["recipients"]
    assert (cat["recipient"], cat["channel"], cat["status"]) == ("CAT", "webhook", "failed_attempt")
    assert "MOTCUA_WEBHOOK_SECRET" in cat["last_error"]

    nobody = seen["stop_notice", "applicant"]["delivery"]
    assert (nobody["status"], nobody["channel"], nobody["attempts"]) == ("no_channel", None, 0)
    assert "no e-mail address" in nobody["last_error"]
    [applicant] = nobody["recipients"]
    assert (applicant["recipient"], applicant["channel"], applicant["status"]) == (
        "applicant",
        None,
        "no_channel",
    )


async def test_an_admin_sees_every_notice_and_an_agency_its_own(api: Api) -> None:
    code = (await receive(api))["code"]
    await consult(api, code, "SNNMT", "CAT")

    as_admin = await notices(api, "admin", dossier=code)
    # The admin's token names the one-stop centre (dev/users.toml), to which none is addressed.
    assert sorted(n["to"] for n in as_admin) == ["CAT", "SNNMT"]
    assert sorted(n["to"] for n in await notices(api, "snv.home_affairs", dossier=code)) == [
        "CAT",
        "SNNMT",
    ]
    as_cat = await notices(api, "cat.officer", dossier=code)
    assert [n["to"] for n in as_cat] == ["CAT"] and "delivery" in as_cat[0]
    assert await notices(api, "tthcc.officer", dossier=code) == []
