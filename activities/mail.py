"""Notices as e-mail: the message a notice becomes, and sending it over SMTP (aiosmtplib).

The message is the same on every retry of one delivery: its `Message-ID` is derived from the
delivery id (`message_id`), its `Date` is the notice's time, and `X-Motcua-Delivery-Id` carries
the delivery id itself, so a receiving system (or a person's mail client, which threads and
de-duplicates by Message-ID) sees one message however often it was sent. Subject and body are
the notice's Vietnamese text, in UTF-8 (RFC 2047 in the headers, quoted-printable or base64 in the
body: nothing needs an 8-bit-clean relay).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from activities.webhooks import DELIVERY_ID_HEADER
from domain.localtime import VN
from domain.notices import Notice

TIMEOUT_S = 30.0
FOOTER = (
    "Thư gửi tự động từ phần mềm một cửa Đồng Nai; vui lòng không trả lời thư này.\n"
    "(Automatic message from Đồng Nai's one-stop software; please do not reply.)"
)


class MailFailed(Exception):
    """The SMTP server could not be reached, or refused the message as a whole."""


@dataclass(frozen=True)
class Mailbox:
    """A recipient's name (shown in To/Cc, in Vietnamese) and e-mail address."""

    name: str
    address: str

    def header(self) -> str:
        """`Name <address>`, the name in RFC 2047 words when it is not ASCII."""
        return formataddr((self.name, self.address), charset="utf-8")


def message_id(delivery_id: str, mail_from: str) -> str:
    """A `Message-ID` that is the same for every send of `delivery_id`: a hash, since a notice
    key may hold characters a Message-ID may not; the domain is that of the From address."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "motcua.localhost"
    return f"<motcua.{hashlib.sha256(delivery_id.encode()).hexdigest()[:40]}@{domain}>"


def compose(
    notice: Notice, to: list[Mailbox], cc: list[Mailbox], delivery_id: str, mail_from: str
) -> Message:
    """The e-mail of `notice` to `to` with copies to `cc` (either may be empty, not both).

    Built with the `compat32` classes, each header encoded here: the subject in RFC 2047 words
    folded at 78 characters, each recipient's name as one encoded word before its address (a
    long name makes a word longer than RFC 2047's 75 characters, which mail clients read; the
    SMTP policy used before split it with the address inside the words, and a reader then saw
    two recipients as one). A thirtieth of the CPU too: that policy re-parsed and refolded every
    header when the message was written, 7 ms a notice, the worker's largest cost after SQL."""
    body = f"{notice.body}\n\n-- \nHồ sơ {notice.dossier} · mã thông báo {delivery_id}\n{FOOTER}\n"
    message = MIMEText(body, "plain", "utf-8")
    message["From"] = formataddr(parseaddr(mail_from), charset="utf-8")
    if to:
        message["To"] = ", ".join(m.header() for m in to)
    if cc:
        message["Cc"] = ", ".join(m.header() for m in cc)
    # compat32 writes a Header as it encoded it (typeshed only knows str)
    message["Subject"] = Header(notice.subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(notice.sent_at.astimezone(VN))
    message["Message-ID"] = message_id(delivery_id, mail_from)
    message[DELIVERY_ID_HEADER] = delivery_id
    message["X-Motcua-Dossier"] = notice.dossier
    message["X-Motcua-Notice-Kind"] = notice.kind.value
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to it
    return message


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail is handed over (Settings `smtp_*`)."""

    host: str
    port: int
    starttls: bool = False
    username: str | None = None
    password: str | None = None


class MailSender:
    """Hands messages to one SMTP server over connections kept open between sends: each new
    connection costs a TCP (and TLS) handshake, EHLO and perhaps a login, and relays limit how
    many a client opens. At most `keep` idle connections are kept; each carries one message at
    a time. A connection that failed in any way is dropped; a kept one the server closed while
    idle (it says so at the next command, before any message went) is replaced once."""

    def __init__(self, server: SmtpServer, keep: int = 4) -> None:
        self._server = server
        self._keep = keep
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, message: Message, sender: str, recipients: list[str]) -> dict[str, str]:
        """Hand `message` to the server for the envelope `recipients` (who gets it, whatever
        its To and Cc say: a retry goes only to those the last attempt did not reach). Returns
        the recipients the server refused, with its answer; raises `MailFailed` when it took
        none."""
        server = self._server
        try:
            while self._idle:
                kept = self._idle.pop()
                try:
                    return await self._send_on(kept, message, sender, recipients)
                except aiosmtplib.SMTPServerDisconnected:
                    continue  # closed by the server while idle: nothing was sent on it
            fresh = aiosmtplib.SMTP(
                hostname=server.host,
                port=server.port,
                start_tls=server.starttls,
                username=server.username,
                password=server.password,
                timeout=TIMEOUT_S,
            )
            await fresh.connect()
            return await self._send_on(fresh, message, sender, recipients)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailFailed(
                f"SMTP {server.host}:{server.port}: {type(error).__name__}: {error}"
            ) from error

    async def _send_on(
        self, client: aiosmtplib.SMTP, message: Message, sender: str, recipients: list[str]
    ) -> dict[str, str]:
        try:
            refused, _ = await client.send_message(
                message, sender=parseaddr(sender)[1] or sender, recipients=recipients
            )
        except BaseException:
            client.close()  # in an unknown state: never used again
            raise
        if len(self._idle) < self._keep and client.is_connected:
            self._idle.append(client)
        else:
            await _quit(client)
        return {address: f"{answer.code} {answer.message}" for address, answer in refused.items()}

    async def close(self) -> None:
        """Say goodbye on every kept connection (the worker stopping)."""
        idle, self._idle = self._idle, []
        for client in idle:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
