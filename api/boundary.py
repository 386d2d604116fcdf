"""Limits at the boundary that are the HTTP request's, not a body field's (those are the command
models', `domain.limits`): the size of the body, and the characters of path and query
parameters. Both once for the whole app."""

from __future__ import annotations

import structlog
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem
from domain.limits import BODY_MAX_BYTES, forbidden_character

log = structlog.get_logger()

# Read and dropped after a body over the cap, so that a client still sending it reads the 413
# rather than a reset connection; beyond this, the connection is closed as soon as answered.
DRAIN_MAX_BYTES = 16 * 1024 * 1024


class BodyCap:
    """ASGI middleware: a request whose body is larger than `max_bytes` is answered 413
    `payload_too_large` before anything parses it, whether it says its length
    (Content-Length) or streams it in chunks. The body is read here (at most `max_bytes`
    kept) and handed on as received."""

    def __init__(self, app: ASGIApp, max_bytes: int = BODY_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= DRAIN_MAX_BYTES:
                await _drain(receive, DRAIN_MAX_BYTES)
            await self._too_large(scope, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client is gone: the app learns it as it would have
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
            if size > self.max_bytes:
                await _drain(receive, DRAIN_MAX_BYTES - size)
                break
        if size > self.max_bytes:
            await self._too_large(scope, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        log.info("body_too_large", method=scope["method"], path=scope["path"])
        problem = Problem(
            "payload_too_large",
            f"the request body may hold at most {self.max_bytes} bytes",
            headers={"Connection": "close"},
            max_bytes=self.max_bytes,
        )
        response = problem.response(Request(scope))
        await response(scope, _no_receive, send)


async def _drain(receive: Receive, max_bytes: int) -> None:
    """Read and drop the rest of a body, `max_bytes` at most."""
    while max_bytes > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        max_bytes -= len(message.get("body", b""))


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def refuse_forbidden_characters(request: Request) -> None:
    """A dependency of every route: a path or query parameter holding a control character is
    refused, 422 `forbidden_character` naming it, before anything looks it up (PostgreSQL
    refuses NUL in a query as it does in a row). Tabs and line breaks are let through, as
    whitespace that a look-up ignores (a phone number typed `0912\t345678`)."""
    parameters = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in parameters:
        char = forbidden_character(value, multiline=True) if isinstance(value, str) else None
        if char is not None:
            raise Problem(
                "forbidden_character",
                f"{name}: the character U+{ord(char):04X} is not allowed here",
                field=name,
            )
