"""The local mail catcher of `make run`: an SMTP server on `MOTCUA_SMTP_PORT` (aiosmtpd) that keeps
every message it is given as `<mail folder>/<n>.eml` and prints one line per message (its
addressees and subject), so a newcomer watches the consultation requests and reminders arrive.
Nothing is sent on: no mail leaves the machine.

    python -m dev.mailcatcher      # (make run starts it) Ctrl-C stops it

The folder is `MOTCUA_MAIL_DIR`, default `$MOTCUA_DATA_DIR/mail`; numbers go on from the highest
file there, so a second run adds to the first. Open a `.eml` with any mail client to see it as
the recipient would.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from pathlib import Path
from typing import TextIO

from aiosmtpd.smtp import SMTP, Envelope, Session

from settings import Settings

SERVER_NAME = "motcua-mailcatcher"  # given, or aiosmtpd asks DNS for this machine's name
_NUMBERED = re.compile(r"(\d+)\.eml")


class MailFolder:
    """An aiosmtpd handler that writes each message to the next `<n>.eml` of `folder` (created
    if need be) and prints a line about it to `out`."""

    def __init__(self, folder: Path, out: TextIO = sys.stdout) -> None:
        self.folder = folder
        self.out = out
        self._last: int | None = None  # the number last written; the folder is read once

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)  # decode_data=False: the message as it came
        path = self.keep(content)
        message = BytesParser(policy=default).parsebytes(content)
        assert isinstance(message, EmailMessage)
        print(f"{path.name}: {describe(message, envelope.rcpt_tos)}", file=self.out, flush=True)
        return "250 Message accepted for delivery"

    def keep(self, content: bytes) -> Path:
        """Write `content` as the next number, never over an existing file. The folder is
        listed once, for the numbers already there; listing it for every message made a run
        of N messages cost N² (the idle bench's catcher spent seconds a minute at 5,000)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._last is None:
            numbers = (
                int(m[1]) for p in self.folder.iterdir() if (m := _NUMBERED.fullmatch(p.name))
            )
            self._last = max(numbers, default=0)
        while True:
            self._last += 1
            path = self.folder / f"{self._last:06d}.eml"
            try:
                with path.open("xb") as file:
                    file.write(content)
                return path
            except FileExistsError:  # another catcher on this folder took the number
                continue


def describe(message: EmailMessage, envelope_recipients: list[str]) -> str:
    """`to A, B; cc C | Subject` in the message's own (decoded, Vietnamese) words; the envelope's
    recipients when the message names none."""

    def addresses(header: str) -> str:
        return ", ".join(address for _name, address in getaddresses(message.get_all(header, [])))

    to = addresses("To") or ", ".join(envelope_recipients)
    cc = addresses("Cc")
    return f"to {to}" + (f"; cc {cc}" if cc else "") + f" | {message['Subject']}"


async def serve(host: str, port: int, folder: Path, stop: asyncio.Event) -> None:
    """Catch mail on `host:port` into `folder` until `stop` is set."""
    handler = MailFolder(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=SERVER_NAME, enable_SMTPUTF8=True, loop=loop), host, port
    )
    print(f"catching mail on {host}:{port} into {folder}", flush=True)
    async with server:
        await stop.wait()


async def main() -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings.smtp_host, settings.smtp_port, settings.mail_folder.resolve(), stop)


if __name__ == "__main__":
    asyncio.run(main())
