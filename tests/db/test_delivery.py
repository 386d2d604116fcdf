"""Notices that reach people, and the national-portal sync (`activities.delivery`), on SQLite and
PostgreSQL, against real servers only: an SMTP server (aiosmtpd) in this test process, an HTTP
receiver that checks every signature as a receiver following the README would, and the local
mail catcher of `make run` run as `python -m dev.mailcatcher`. The activities are called as
Temporal calls them (`ActivityEnvironment`); a test plays Temporal's retries by calling again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import ChangeDispatch, DeliveryActivities, DispatchReceipt
from activities.notices import NoticeActivities
from db.catalogue import seed_catalogue
from db.deliveries import DeliveryReceipt, PortalReceipt
from db.models import DossierRecord, NoticeDeliveryRecord, NoticeRecord, PortalUpdateRecord
from domain.catalogue import Agency, AgencyKind, Catalogue
from domain.national_status import PortalUpdate, portal_update
from domain.notices import APPLICANT, Notice, NoticeKind
from settings import REPO_ROOT, Settings

Sessions = async_sessionmaker[AsyncSession]

SECRET = "thử-nghiệm-khóa-ký-webhook-đủ-32-byte"  # UTF-8, well over 32 bytes
MAIL_FROM = "Một cửa Đồng Nai <motcua@dongnai.test>"
SENT_AT = datetime(2026, 11, 27, 2, 30, 15, tzinfo=UTC)  # 09:30:15 in Vietnam
CAT_MAIL = "vanthu@congan.dongnai.gov.vn"
SNV_MAIL = "vanthu@snv.dongnai.gov.vn"
APPLICANT_MAIL = "anh.tuyet@example.vn"


# --- an SMTP server in this process ------------------------------------------------------------


def text(message: EmailMessage) -> str:
    """The body as a mail client shows it (SMTP carries lines ended by CRLF)."""
    content: str = message.get_content()
    return content.replace("\r\n", "\n")


@dataclass
class Received:
    """One message the SMTP server was handed (accepted or answered with a failure)."""

    envelope_to: list[str]
    message: EmailMessage
    raw: bytes
    accepted: bool
    peer: Any = None  # the client's end of the connection that carried it

    def addresses(self, header: str) -> list[str]:
        return [address for _name, address in getaddresses(self.message.get_all(header, []))]


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it is given. `refuse_data` answers the next so many
    DATA commands with a temporary failure; `refuse_rcpt` refuses an address that many times."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse_data: int = 0
    refuse_rcpt: dict[str, int] = field(default_factory=dict)
    connections: list[SMTP] = field(default_factory=list)  # each one that carried a message

    def hang_up(self) -> None:
        """Close every connection from the server's side, as a relay does with idle ones."""
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt.get(address, 0) > 0:
            self.refuse_rcpt[address] -= 1
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        accepted = self.refuse_data == 0
        self.received.append(
            Received(list(envelope.rcpt_tos), message, raw, accepted, session.peer)
        )
        if server not in self.connections:
            self.connections.append(server)
        if not accepted:
            self.refuse_data -= 1
            return "451 4.3.0 Busy, try again later"
        return "250 OK"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.accepted]


@pytest_asyncio.fixture(loop_scope="session")
async def inbox() -> AsyncIterator[Inbox]:
    handler = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="inbox.test", loop=loop), "127.0.0.1", 0
    )
    handler.port = server.sockets[0].getsockname()[1]
    async with server:
        yield handler


# --- an HTTP receiver that checks signatures ---------------------------------------------------


@dataclass
class Request:
    delivery_id: str
    body: dict[str, Any]
    signed: bool  # signature and timestamp as the README tells receivers to check them
    status: int  # what the receiver answered


class Receiver:
    """An HTTP server on a free port, as a receiving agency or the portal would run one: it checks
    `X-Motcua-Signature` over `<timestamp>.<body>` with the shared secret and refuses stale
    timestamps (401), then answers the next status of `answers` (200 when none is left)."""

    TOLERANCE_S = 300

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.requests: list[Request] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers["X-Motcua-Timestamp"]
                expected = (
                    "sha256="
                    + hmac.new(
                        SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256
                    ).hexdigest()
                )
                signed = (
                    hmac.compare_digest(expected, self.headers["X-Motcua-Signature"])
                    and abs(time.time() - int(timestamp)) <= Receiver.TOLERANCE_S
                )
                status = (receiver.answers.pop(0) if receiver.answers else 200) if signed else 401
                receiver.requests.append(
                    Request(self.headers["X-Motcua-Delivery-Id"], json.loads(raw), signed, status)
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/motcua/thong-bao"

    @property
    def delivered_ids(self) -> list[str]:
        """The delivery ids answered with a 2xx, once each: what the receiver acted on."""
        return list(dict.fromkeys(r.delivery_id for r in self.requests if r.status < 300))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


# --- the catalogue, a dossier, notices ---------------------------------------------------------


def agencies(webhook: str | None = None) -> list[Agency]:
    """CAT and Home Affairs by e-mail, SXD by webhook when `webhook` is given, STP by nothing."""

    def agency(code: str, name: str, unit: int, **extra: Any) -> Agency:
        kind = AgencyKind.HOME_AFFAIRS if code == "SNV" else AgencyKind.DEPARTMENT
        return Agency(code=code, name=name, kind=kind, unit_id=f"000.00.{unit:02}.H19", **extra)

    return [
        agency("SNV", "Sở Nội vụ thành phố Đồng Nai", 2, email=SNV_MAIL),
        agency("CAT", "Công an thành phố Đồng Nai", 13, email=CAT_MAIL),
        agency("SXD", "Sở Xây dựng thành phố Đồng Nai", 7, webhook_url=webhook),
        agency("STP", "Sở Tư pháp thành phố Đồng Nai", 3),
    ]


async def prepare(sessions: Sessions, webhook: str | None = None, **applicant: Any) -> None:
    """The catalogue's agencies, and dossier HS-001 in the read model."""
    async with sessions() as session:
        await seed_catalogue(session, Catalogue(agencies=agencies(webhook), procedures=[]))
    async with sessions() as session, session.begin():
        session.add(
            DossierRecord(
                code="HS-001",
                procedure_code="DN-XD-001",
                procedure_name="Cấp giấy phép xây dựng",
                lead_agency="SXD",
                applicant={"name": "Nguyễn Thị Ánh Tuyết", "phone": "0912345678", **applicant},
                status="consulting",
                national_status=4,
                received_at=SENT_AT,
                version=3,
                updated_at=SENT_AT,
            )
        )


def notice(
    to: str, cc: list[str] | None = None, kind: NoticeKind = NoticeKind.REMINDER_2
) -> Notice:
    return Notice(
        key=f"HS-001/{kind.value}/{to}/1",
        kind=kind,
        dossier="HS-001",
        to=to,
        cc=cc or [],
        sent_at=SENT_AT,
        subject="Nhắc lần 2: quá hạn cho ý kiến về hồ sơ HS-001",
        body=(
            "Đề nghị cho ý kiến về hồ sơ HS-001 (Cấp giấy phép xây dựng) của Nguyễn Thị Ánh "
            "Tuyết đã quá thời hạn trả lời (09:00 ngày 25/11/2026).\n"
            "Văn bản nhắc lần 2 được đồng gửi Sở Nội vụ để theo dõi, đánh giá công vụ."
        ),
    )


async def record(sessions: Sessions, n: Notice) -> Notice:
    """Write `n` to the outbox as the workflow's settlement does."""
    await ActivityEnvironment().run(NoticeActivities(sessions).record_notice, n)
    return n


def settings(inbox_port: int = 1, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox_port,
        "mail_from": MAIL_FROM,
        "webhook_secret": SECRET,
        "portal_url": None,
    }
    return Settings(**(values | changes))


async def deliver(activities: DeliveryActivities, key: str) -> DeliveryReceipt:
    result: DeliveryReceipt = await ActivityEnvironment().run(activities.deliver_notice, key)
    return result


async def notice_row(sessions: Sessions, key: str) -> NoticeRecord:
    async with sessions() as session:
        return (await session.exec(select(NoticeRecord).where(NoticeRecord.key == key))).one()


async def delivery_rows(sessions: Sessions, key: str) -> dict[str, NoticeDeliveryRecord]:
    async with sessions() as session:
        query = select(NoticeDeliveryRecord).where(NoticeDeliveryRecord.notice_key == key)
        return {row.recipient: row for row in (await session.exec(query)).all()}


# --- e-mail ------------------------------------------------------------------------------------


async def test_r3_reminder_2_is_one_utf8_mail_to_the_agency_copied_to_home_affairs(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions)
    sent = await record(sessions, notice("CAT", cc=["SNV"]))

    receipt = await deliver(DeliveryActivities(sessions, settings(inbox.port)), sent.key)

    assert (receipt.status, receipt.channel, receipt.attempts) == ("delivered", "email", 1)
    assert receipt.sent == [sent.key]
    [mail] = inbox.received
    assert sorted(mail.envelope_to) == sorted([CAT_MAIL, SNV_MAIL])
    assert mail.addresses("To") == [CAT_MAIL] and mail.addresses("Cc") == [SNV_MAIL]
    assert str(mail.message["To"]) == f"Công an thành phố Đồng Nai <{CAT_MAIL}>"
    assert str(mail.message["From"]) == MAIL_FROM
    assert mail.message["Subject"] == sent.subject
    assert sent.body in text(mail.message)
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.raw.isascii()  # RFC 2047 headers, encoded body: any relay carries it
    assert mail.message["X-Motcua-Delivery-Id"] == sent.key
    assert mail.message["Message-ID"].startswith("<motcua.")
    assert mail.message["Message-ID"].endswith("@dongnai.test>")
    assert mail.message["Date"].datetime == SENT_AT  # the notice's time, not the attempt's
    assert mail.message["Auto-Submitted"] == "auto-generated"

    row = await notice_row(sessions, sent.key)
    assert (row.delivery_status, row.delivery_channel, row.delivery_attempts) == (
        "delivered",
        "email",
        1,
    )
    assert row.delivered_at is not None and row.delivered_at == receipt.delivered_at
    assert row.delivery_error is None
    rows = await delivery_rows(sessions, sent.key)
    assert {r: (x.role, x.status, x.delivery_id, x.address) for r, x in rows.items()} == {
        "CAT": ("to", "delivered", sent.key, CAT_MAIL),
        "SNV": ("cc", "delivered", sent.key, SNV_MAIL),
    }


async def test_mail_refused_then_accepted_keeps_its_message_id_and_is_not_sent_a_third_time(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions)
    sent = await record(sessions, notice("CAT", cc=["SNV"]))
    activities = DeliveryActivities(sessions, settings(inbox.port))
    inbox.refuse_data = 1

    with pytest.raises(ApplicationError) as failed:
        await deliver(activities, sent.key)
    assert failed.value.type == "notice_delivery_failed" and not failed.value.non_retryable
    row = await notice_row(sessions, sent.key)
    assert (row.delivery_status, row.delivery_attempts) == ("failed_attempt", 1)
    assert row.delivery_error is not None and "451" in row.delivery_error
    assert row.delivered_at is None

    second = await deliver(activities, sent.key)
    third = await deliver(activities, sent.key)

    assert (second.status, second.attempts, second.sent) == ("delivered", 2, [sent.key])
    assert (third.status, third.attempts, third.sent) == ("delivered", 2, [])
    first_try, retry = inbox.received  # the third call sent nothing
    assert (first_try.accepted, retry.accepted) == (False, True)
    assert first_try.message["Message-ID"] == retry.message["Message-ID"]
    assert first_try.raw == retry.raw  # the same message, byte for byte
    assert (await notice_row(sessions, sent.key)).delivery_error is None


async def test_refused_copy_is_retried_to_that_address_alone(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions)
    sent = await record(sessions, notice("CAT", cc=["SNV"]))
    activities = DeliveryActivities(sessions, settings(inbox.port))
    inbox.refuse_rcpt[SNV_MAIL] = 1

    with pytest.raises(ApplicationError, match="SNV: SMTP refused"):
        await deliver(activities, sent.key)
    rows = await delivery_rows(sessions, sent.key)
    assert (rows["CAT"].status, rows["SNV"].status) == ("delivered", "failed_attempt")

    receipt = await deliver(activities, sent.key)

    assert receipt.status == "delivered"
    first, retry = inbox.accepted
    assert (first.envelope_to, retry.envelope_to) == ([CAT_MAIL], [SNV_MAIL])
    # The retry is the same message: it still shows who it is for and who is copied.
    assert retry.addresses("To") == [CAT_MAIL] and retry.addresses("Cc") == [SNV_MAIL]
    assert retry.message["Message-ID"] == first.message["Message-ID"]
    rows = await delivery_rows(sessions, sent.key)
    assert (rows["CAT"].attempts, rows["SNV"].attempts) == (1, 2)


async def test_one_smtp_connection_carries_the_notices_one_after_another(
    sessions: Sessions, inbox: Inbox
) -> None:
    """The relay sees one connection (one handshake, one EHLO) for the notices a worker sends,
    not one each; the worker says goodbye on it when it stops."""
    await prepare(sessions)
    first = await record(sessions, notice("CAT", cc=["SNV"]))
    second = await record(sessions, notice("SNV", kind=NoticeKind.APOLOGY_DUE))
    activities = DeliveryActivities(sessions, settings(inbox.port))

    await deliver(activities, first.key)
    await deliver(activities, second.key)
    await activities.close()

    assert len(inbox.accepted) == 2
    assert inbox.accepted[0].peer == inbox.accepted[1].peer
    assert len(inbox.connections) == 1


async def test_a_connection_the_relay_closed_while_idle_is_replaced_and_nothing_is_lost(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions)
    first = await record(sessions, notice("CAT", cc=["SNV"]))
    second = await record(sessions, notice("SNV", kind=NoticeKind.APOLOGY_DUE))
    activities = DeliveryActivities(sessions, settings(inbox.port))
    await deliver(activities, first.key)

    inbox.hang_up()
    await asyncio.sleep(0.05)
    receipt = await deliver(activities, second.key)

    assert (receipt.status, receipt.attempts) == ("delivered", 1)
    assert [r.message["X-Motcua-Delivery-Id"] for r in inbox.accepted] == [first.key, second.key]
    assert inbox.accepted[0].peer != inbox.accepted[1].peer  # a new connection


async def test_unreachable_smtp_server_fails_the_attempt_for_a_retry(sessions: Sessions) -> None:
    await prepare(sessions)
    sent = await record(sessions, notice("CAT"))
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    with pytest.raises(ApplicationError, match=r"CAT: SMTP 127\.0\.0\.1"):
        await deliver(DeliveryActivities(sessions, settings(port)), sent.key)
    assert (await notice_row(sessions, sent.key)).delivery_status == "failed_attempt"


async def test_applicant_gets_the_notice_at_the_address_of_the_dossier(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions, email=APPLICANT_MAIL)
    sent = await record(sessions, notice(APPLICANT, kind=NoticeKind.RESULT_READY))

    receipt = await deliver(DeliveryActivities(sessions, settings(inbox.port)), sent.key)

    assert (receipt.status, receipt.channel) == ("delivered", "email")
    [mail] = inbox.received
    assert mail.envelope_to == [APPLICANT_MAIL]
    assert str(mail.message["To"]) == f"Nguyễn Thị Ánh Tuyết <{APPLICANT_MAIL}>"
    assert mail.message["X-Motcua-Notice-Kind"] == "result_ready"


@pytest.mark.parametrize(
    ("to", "applicant", "problem"),
    [
        ("STP", {}, "STP: no email or webhook_url in the catalogue"),
        ("SXX", {}, "SXX: not an agency of the catalogue"),
        (APPLICANT, {}, "applicant: the applicant gave no e-mail address"),
        (APPLICANT, {"email": "0912 345 678"}, "is not an address"),
    ],
    ids=["agency-without-channel", "unknown-agency", "applicant-without-email", "bad-email"],
)
async def test_notice_without_channel_is_recorded_and_not_retried(
    sessions: Sessions, inbox: Inbox, to: str, applicant: dict[str, str], problem: str
) -> None:
    await prepare(sessions, **applicant)
    sent = await record(sessions, notice(to))

    receipt = await deliver(DeliveryActivities(sessions, settings(inbox.port)), sent.key)

    assert (receipt.status, receipt.channel, receipt.attempts, receipt.sent) == (
        "no_channel",
        None,
        0,
        [],
    )
    assert inbox.received == []
    row = await notice_row(sessions, sent.key)
    assert row.delivery_status == "no_channel"
    assert row.delivery_error is not None and problem in row.delivery_error
    assert (await delivery_rows(sessions, sent.key))[to].status == "no_channel"


async def test_copy_reaches_home_affairs_even_when_the_addressee_has_no_channel(
    sessions: Sessions, inbox: Inbox
) -> None:
    await prepare(sessions)
    sent = await record(sessions, notice("STP", cc=["SNV"]))

    receipt = await deliver(DeliveryActivities(sessions, settings(inbox.port)), sent.key)

    assert receipt.status == "delivered" and receipt.sent == [f"{sent.key}#cc"]
    [mail] = inbox.received
    assert mail.addresses("To") == [] and mail.addresses("Cc") == [SNV_MAIL]
    assert mail.message["X-Motcua-Delivery-Id"] == f"{sent.key}#cc"
    rows = await delivery_rows(sessions, sent.key)
    assert (rows["STP"].status, rows["SNV"].status) == ("no_channel", "delivered")


async def test_unknown_notice_key_is_not_retried(sessions: Sessions) -> None:
    with pytest.raises(ApplicationError) as failed:
        await deliver(DeliveryActivities(sessions, settings()), "HS-404/apology/applicant/9")
    assert failed.value.type == "notice_not_found" and failed.value.non_retryable


# --- webhooks ----------------------------------------------------------------------------------


async def test_webhook_500_then_200_is_delivered_once_under_one_signed_delivery_id(
    sessions: Sessions, receiver: Receiver
) -> None:
    await prepare(sessions, webhook=receiver.url)
    sent = await record(sessions, notice("SXD", kind=NoticeKind.APOLOGY_DUE))
    activities = DeliveryActivities(sessions, settings())
    receiver.answers = [500]

    with pytest.raises(ApplicationError, match="HTTP 500") as failed:
        await deliver(activities, sent.key)
    assert failed.value.type == "notice_delivery_failed"
    failing = await notice_row(sessions, sent.key)
    assert (failing.delivery_status, failing.delivery_channel) == ("failed_attempt", "webhook")

    second = await deliver(activities, sent.key)
    third = await deliver(activities, sent.key)

    assert (second.status, second.attempts, second.sent) == ("delivered", 2, [sent.key])
    assert (third.status, third.sent) == ("delivered", [])
    assert [(r.delivery_id, r.signed, r.status) for r in receiver.requests] == [
        (sent.key, True, 500),
        (sent.key, True, 200),
    ]
    assert receiver.delivered_ids == [sent.key]
    body = receiver.requests[1].body
    assert body == receiver.requests[0].body  # the same body on every retry
    assert (body["delivery_id"], body["recipient"], body["role"]) == (sent.key, "SXD", "to")
    assert Notice.model_validate(body["notice"]) == sent  # Vietnamese text as itself
    row = await notice_row(sessions, sent.key)
    assert (row.delivery_status, row.delivery_attempts, row.delivery_error) == (
        "delivered",
        2,
        None,
    )


async def test_cc_agency_on_a_webhook_gets_a_copy_of_its_own(
    sessions: Sessions, inbox: Inbox, receiver: Receiver
) -> None:
    await prepare(sessions, webhook=receiver.url)
    sent = await record(sessions, notice("CAT", cc=["SXD", "SNV", "SXD"]))

    receipt = await deliver(DeliveryActivities(sessions, settings(inbox.port)), sent.key)

    assert (receipt.status, receipt.channel) == ("delivered", "email+webhook")
    assert receipt.sent == [sent.key, f"{sent.key}#cc:SXD"]
    [mail] = inbox.received
    assert mail.addresses("To") == [CAT_MAIL] and mail.addresses("Cc") == [SNV_MAIL]
    [copy] = receiver.requests
    assert (copy.delivery_id, copy.signed) == (f"{sent.key}#cc:SXD", True)
    assert (copy.body["recipient"], copy.body["role"]) == ("SXD", "cc")
    rows = await delivery_rows(sessions, sent.key)
    assert {r: (x.channel, x.delivery_id) for r, x in rows.items()} == {
        "CAT": ("email", sent.key),
        "SNV": ("email", sent.key),
        "SXD": ("webhook", f"{sent.key}#cc:SXD"),
    }


async def test_failing_webhook_copy_does_not_resend_the_delivered_mail(
    sessions: Sessions, inbox: Inbox, receiver: Receiver
) -> None:
    await prepare(sessions, webhook=receiver.url)
    sent = await record(sessions, notice("CAT", cc=["SXD"]))
    activities = DeliveryActivities(sessions, settings(inbox.port))
    receiver.answers = [503]

    with pytest.raises(ApplicationError, match=r"SXD: POST .*: HTTP 503"):
        await deliver(activities, sent.key)
    receipt = await deliver(activities, sent.key)

    assert receipt.status == "delivered" and receipt.sent == [f"{sent.key}#cc:SXD"]
    assert len(inbox.received) == 1
    assert receiver.delivered_ids == [f"{sent.key}#cc:SXD"]


async def test_webhooks_are_not_sent_unsigned(sessions: Sessions, receiver: Receiver) -> None:
    await prepare(sessions, webhook=receiver.url)
    sent = await record(sessions, notice("SXD"))

    with pytest.raises(ApplicationError, match="MOTCUA_WEBHOOK_SECRET is not set"):
        await deliver(DeliveryActivities(sessions, settings(webhook_secret=None)), sent.key)
    assert receiver.requests == []
    assert (await notice_row(sessions, sent.key)).delivery_status == "failed_attempt"
    with pytest.raises(ValueError, match="at least 32 bytes"):
        DeliveryActivities(sessions, settings(webhook_secret="ngắn"))


# --- the national portal -----------------------------------------------------------------------


def status_update(seq: int = 4, status: str = "awaiting_supplement") -> PortalUpdate:
    return portal_update("HS-001", seq, status, SENT_AT)


async def push(activities: DeliveryActivities, update: PortalUpdate) -> PortalReceipt:
    result: PortalReceipt = await ActivityEnvironment().run(activities.push_national_status, update)
    return result


async def portal_row(sessions: Sessions, update: PortalUpdate) -> PortalUpdateRecord:
    async with sessions() as session:
        row = await session.get(PortalUpdateRecord, (update.dossier, update.seq))
    assert row is not None
    return row


async def test_national_status_is_pushed_once_signed(
    sessions: Sessions, receiver: Receiver
) -> None:
    activities = DeliveryActivities(sessions, settings(portal_url=receiver.url))
    update = status_update()

    first = await push(activities, update)
    again = await push(activities, update)

    assert (first.status, first.attempts, first.delivery_id) == ("pushed", 1, "HS-001/status/4")
    assert first.pushed_at is not None and again == first
    [request] = receiver.requests
    assert (request.delivery_id, request.signed) == ("HS-001/status/4", True)
    assert request.body == {
        "delivery_id": "HS-001/status/4",
        "dossier": "HS-001",
        "seq": 4,
        "code": 5,
        "label": "Yêu cầu bổ sung giấy tờ",
        "at": "2026-11-27T02:30:15Z",
    }
    row = await portal_row(sessions, update)
    assert (row.code, row.label, row.at, row.status) == (
        5,
        "Yêu cầu bổ sung giấy tờ",
        SENT_AT,
        "pushed",
    )


async def test_national_status_push_is_retried_after_a_failure(
    sessions: Sessions, receiver: Receiver
) -> None:
    activities = DeliveryActivities(sessions, settings(portal_url=receiver.url))
    update = status_update()
    receiver.answers = [502]

    with pytest.raises(ApplicationError, match="HTTP 502") as failed:
        await push(activities, update)
    assert failed.value.type == "portal_push_failed" and not failed.value.non_retryable
    failing = await portal_row(sessions, update)
    assert (failing.status, failing.attempts, failing.pushed_at) == ("failed_attempt", 1, None)

    receipt = await push(activities, update)
    await push(activities, update)

    assert (receipt.status, receipt.attempts) == ("pushed", 2)
    assert [r.status for r in receiver.requests] == [502, 200]
    assert receiver.delivered_ids == ["HS-001/status/4"]
    assert (await portal_row(sessions, update)).error is None


async def test_national_status_without_a_portal_is_recorded_only(sessions: Sessions) -> None:
    activities = DeliveryActivities(sessions, settings())
    updates = [status_update(2, "consulting"), status_update(7, "result_ready")]

    receipts = [await push(activities, u) for u in updates]

    assert [(r.seq, r.status, r.attempts) for r in receipts] == [
        (2, "not_configured", 0),
        (7, "not_configured", 0),
    ]
    assert [(await portal_row(sessions, u)).code for u in updates] == [4, 9]


async def test_update_recorded_without_a_portal_is_pushed_once_one_is_set(
    sessions: Sessions, receiver: Receiver
) -> None:
    update = status_update()
    await push(DeliveryActivities(sessions, settings()), update)

    receipt = await push(DeliveryActivities(sessions, settings(portal_url=receiver.url)), update)

    assert receipt.status == "pushed" and receiver.delivered_ids == ["HS-001/status/4"]


async def test_another_portal_target_plugs_in(sessions: Sessions) -> None:
    class Queue:
        """A target of another kind, down at first (any exception is a failed attempt)."""

        def __init__(self) -> None:
            self.got: list[PortalUpdate] = []
            self.down = True

        async def push(self, update: PortalUpdate) -> bool:
            if self.down:
                self.down = False
                raise ConnectionResetError("hàng đợi chưa sẵn sàng")
            self.got.append(update)
            return True

    queue = Queue()
    activities = DeliveryActivities(sessions, settings(), portal=queue)
    update = status_update()

    with pytest.raises(ApplicationError, match="ConnectionResetError"):
        await push(activities, update)
    receipt = await push(activities, update)

    assert (receipt.status, receipt.attempts) == ("pushed", 2) and queue.got == [update]


def test_portal_url_needs_the_webhook_secret_and_tls() -> None:
    with pytest.raises(ValueError, match="MOTCUA_WEBHOOK_SECRET is not"):
        DeliveryActivities(
            async_sessionmaker(class_=AsyncSession),
            settings(portal_url="https://portal.test/", webhook_secret=""),
        )
    with pytest.raises(ValueError, match="must be an https:// URL"):
        DeliveryActivities(
            async_sessionmaker(class_=AsyncSession), settings(portal_url="http://portal.test/")
        )


# --- one change's sends together (v7) ----------------------------------------------------------


async def dispatch_change(activities: DeliveryActivities, sends: ChangeDispatch) -> DispatchReceipt:
    result: DispatchReceipt = await ActivityEnvironment().run(activities.dispatch_change, sends)
    return result


async def test_one_change_sends_its_notices_and_its_portal_update_by_one_activity(
    sessions: Sessions, inbox: Inbox, receiver: Receiver
) -> None:
    """v7: a change's notices (by e-mail and by webhook) and its status update, in one call; a
    second call (Temporal's retry of a completed attempt) sends nothing again."""
    await prepare(sessions, webhook=receiver.url)
    to_cat = await record(sessions, notice("CAT", cc=["SNV"]))
    to_sxd = await record(sessions, notice("SXD", kind=NoticeKind.APOLOGY_DUE))
    activities = DeliveryActivities(sessions, settings(inbox.port, portal_url=receiver.url))
    sends = ChangeDispatch(notices=[to_cat.key, to_sxd.key], portal=status_update())

    receipt = await dispatch_change(activities, sends)
    again = await dispatch_change(activities, sends)

    assert [(d.key, d.status) for d in receipt.deliveries] == [
        (to_cat.key, "delivered"),
        (to_sxd.key, "delivered"),
    ]
    assert receipt.portal is not None and receipt.portal.status == "pushed"
    assert [d.sent for d in again.deliveries] == [[], []] and again.portal == receipt.portal
    assert [r.envelope_to for r in inbox.accepted] == [[CAT_MAIL, SNV_MAIL]]
    assert sorted(receiver.delivered_ids) == sorted([to_sxd.key, "HS-001/status/4"])


async def test_one_send_failing_fails_the_change_for_a_retry_that_sends_only_it(
    sessions: Sessions, inbox: Inbox, receiver: Receiver
) -> None:
    """The portal away: the notice is delivered and recorded all the same, the activity fails
    (retried with backoff by Temporal), and the retry pushes the update alone."""
    await prepare(sessions)
    to_cat = await record(sessions, notice("CAT", cc=["SNV"]))
    activities = DeliveryActivities(sessions, settings(inbox.port, portal_url=receiver.url))
    sends = ChangeDispatch(notices=[to_cat.key], portal=status_update())
    receiver.answers = [503]

    with pytest.raises(ApplicationError, match="HTTP 503") as failed:
        await dispatch_change(activities, sends)
    assert failed.value.type == "change_dispatch_failed" and not failed.value.non_retryable
    assert (await notice_row(sessions, to_cat.key)).delivery_status == "delivered"

    receipt = await dispatch_change(activities, sends)

    assert receipt.portal is not None and (receipt.portal.status, receipt.portal.attempts) == (
        "pushed",
        2,
    )
    assert len(inbox.accepted) == 1  # the notice was not sent a second time
    assert [r.status for r in receiver.requests] == [503, 200]


async def test_a_change_records_each_notice_as_it_went_and_its_retry_sends_only_what_failed(
    sessions: Sessions, inbox: Inbox
) -> None:
    """The outcomes of a change are written together after its sends, each notice's as its own
    sends went: the applicant's notice delivered, the copy to SNV refused and retried alone under
    the same Message-ID, the status update recorded once."""
    await prepare(sessions, email=APPLICANT_MAIL)
    to_cat = await record(sessions, notice("CAT", cc=["SNV"]))
    to_applicant = await record(sessions, notice(APPLICANT, kind=NoticeKind.SUPPLEMENT_REQUEST))
    activities = DeliveryActivities(sessions, settings(inbox.port))
    sends = ChangeDispatch(notices=[to_cat.key, to_applicant.key], portal=status_update())
    inbox.refuse_rcpt[SNV_MAIL] = 1

    with pytest.raises(ApplicationError, match="SNV: SMTP refused") as failed:
        await dispatch_change(activities, sends)
    assert failed.value.type == "change_dispatch_failed" and not failed.value.non_retryable
    cat_rows = await delivery_rows(sessions, to_cat.key)
    assert (cat_rows["CAT"].status, cat_rows["SNV"].status) == ("delivered", "failed_attempt")
    assert (await notice_row(sessions, to_cat.key)).delivery_status == "failed_attempt"
    assert (await notice_row(sessions, to_applicant.key)).delivery_status == "delivered"

    receipt = await dispatch_change(activities, sends)

    assert [(d.key, d.status, d.attempts, d.sent) for d in receipt.deliveries] == [
        (to_cat.key, "delivered", 2, [to_cat.key]),
        (to_applicant.key, "delivered", 1, []),
    ]
    assert receipt.portal is not None and receipt.portal.status == "not_configured"
    *first, retry = inbox.accepted  # the first two were sent at once, in either order
    [first_cat] = [mail for mail in first if mail.envelope_to == [CAT_MAIL]]
    assert retry.envelope_to == [SNV_MAIL]
    assert retry.message["Message-ID"] == first_cat.message["Message-ID"]
    cat_rows = await delivery_rows(sessions, to_cat.key)
    assert (cat_rows["CAT"].attempts, cat_rows["SNV"].attempts) == (1, 2)
    assert (await delivery_rows(sessions, to_applicant.key))[APPLICANT].attempts == 1


async def test_a_change_naming_no_notice_of_the_outbox_is_not_retried(
    sessions: Sessions,
) -> None:
    activities = DeliveryActivities(sessions, settings())
    with pytest.raises(ApplicationError) as failed:
        await dispatch_change(activities, ChangeDispatch(notices=["HS-001/none/CAT/1"]))
    assert failed.value.type == "change_dispatch_failed" and failed.value.non_retryable


@dataclass
class Statements:
    """The SQL statements the sessions' engine runs, counted as `make bench-reads` counts a
    request's (`before_cursor_execute`)."""

    sessions: Sessions
    recording: bool = False
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        event.listen(self.sessions.kw["bind"].sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.recording:
            self.seen.append(" ".join(statement.split())[:90])

    async def of(self, call: Awaitable[object]) -> list[str]:
        """The statements run while `call` runs (nothing else runs meanwhile)."""
        self.seen, self.recording = [], True
        try:
            await call
        finally:
            self.recording = False
        return self.seen


async def test_a_change_is_dispatched_in_as_many_statements_whatever_its_notices_and_recipients(
    sessions: Sessions, inbox: Inbox, receiver: Receiver
) -> None:
    """Issue 12: a change's dispatch reads its notices, their recipients and their deliveries
    in one query each, however many there are, and writes each kind of row in one statement. A
    typical change (a reminder to CAT by e-mail copied to SNV, a notice to the applicant, a
    status update) costs as many statements as one with twice the notices and more recipients:
    10 on both databases (19 before, and 7 more per notice)."""
    await prepare(sessions, email=APPLICANT_MAIL)
    activities = DeliveryActivities(sessions, settings(inbox.port, portal_url=receiver.url))
    statements = Statements(sessions)

    async def dispatched(notices: list[Notice], seq: int) -> list[str]:
        keys = [(await record(sessions, n)).key for n in notices]
        sends = ChangeDispatch(notices=keys, portal=status_update(seq))
        return await statements.of(dispatch_change(activities, sends))

    typical = await dispatched(
        [notice("CAT", cc=["SNV"]), notice(APPLICANT, kind=NoticeKind.SUPPLEMENT_REQUEST)], 4
    )
    larger = await dispatched(
        [
            notice("SNV", cc=["CAT", "STP"], kind=NoticeKind.CONSULTATION_REQUEST),
            notice(APPLICANT, cc=["SNV"], kind=NoticeKind.STOP_NOTICE),
            notice("STP", kind=NoticeKind.CONSULTATION_CANCELLED),
            notice("CAT", kind=NoticeKind.APOLOGY_DUE),
        ],
        5,
    )

    assert len(typical) == len(larger) == 10, "\n".join([*typical, "---", *larger])
    assert len(inbox.accepted) == 5


# --- the mail catcher of `make run` ------------------------------------------------------------


async def test_mail_catcher_keeps_each_mail_as_eml_and_says_so(
    sessions: Sessions, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "MOTCUA_DATA_DIR": str(tmp_path),
        "MOTCUA_SMTP_HOST": "127.0.0.1",
        "MOTCUA_SMTP_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("MOTCUA_MAIL_DIR", None)
    catcher = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dev.mailcatcher",
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert catcher.stdout is not None
    try:
        started = await asyncio.wait_for(catcher.stdout.readline(), 20)
        assert started.decode().startswith(f"catching mail on 127.0.0.1:{port}"), started
        await prepare(sessions)
        sent = await record(sessions, notice("CAT", cc=["SNV"]))

        receipt = await deliver(DeliveryActivities(sessions, settings(port)), sent.key)

        line = (await asyncio.wait_for(catcher.stdout.readline(), 20)).decode().strip()
    finally:
        with contextlib.suppress(ProcessLookupError):
            catcher.terminate()
        status = await asyncio.wait_for(catcher.wait(), 20)
    assert receipt.status == "delivered"
    assert line == f"000001.eml: to {CAT_MAIL}; cc {SNV_MAIL} | {sent.subject}"
    [kept] = sorted((tmp_path / "mail").iterdir())
    assert kept.name == "000001.eml"
    message = BytesParser(policy=default).parsebytes(kept.read_bytes())
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == sent.subject and sent.body in text(message)
    assert message["X-Motcua-Delivery-Id"] == sent.key
    assert status == 0  # SIGTERM stops it cleanly, as make run's Ctrl-C does
