"""Signed webhooks: how motcua POSTs a notice or a national-status update to another system, and
how that system tells it came from us, unaltered and recently (README "Notices that reach
people").

Every request carries three headers:

- `X-Motcua-Delivery-Id`: the same on every retry of one delivery; the receiver de-duplicates on
  it, which makes the delivery exactly-once from its point of view (we send at least once).
- `X-Motcua-Timestamp`: unix seconds when this attempt was sent.
- `X-Motcua-Signature`: `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` keyed with
  `MOTCUA_WEBHOOK_SECRET`. The timestamp is inside the signed text, so a captured request cannot
  be replayed later under a fresh timestamp; receivers refuse one older than a few minutes.

A 2xx answer is a delivery. Anything else (another status, a redirect, a timeout, a refused
connection) raises `WebhookFailed`, and the calling activity fails so that Temporal retries it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

DELIVERY_ID_HEADER = "X-Motcua-Delivery-Id"
TIMESTAMP_HEADER = "X-Motcua-Timestamp"
SIGNATURE_HEADER = "X-Motcua-Signature"
# As for MOTCUA_JWT_SECRET: an HMAC key shorter than its hash is easier to guess than to forge.
MIN_SECRET_BYTES = 32
TIMEOUT_S = 10.0
_ERROR_BODY_CHARS = 200  # of a refusing receiver's answer, kept in the delivery's error


class WebhookFailed(Exception):
    """The receiver did not take the request (its status, or why it could not be reached)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Motcua-Signature` value of `body` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def json_body(payload: dict[str, Any]) -> bytes:
    """`payload` as compact UTF-8 JSON with sorted keys: the same bytes on every retry, and
    Vietnamese text as itself rather than `\\u` escapes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def check_secret(secret: str | None) -> str | None:
    """`secret` if usable, None when unset (empty counts as unset); ValueError when too short,
    so that a worker configured with a weak key refuses to start rather than sign with it."""
    if not secret:
        return None
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"MOTCUA_WEBHOOK_SECRET must be at least {MIN_SECRET_BYTES} bytes; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


class WebhookSender:
    """POSTs signed JSON bodies. Without a secret it sends nothing: every `post` raises
    `WebhookFailed` saying so (an unsigned notice could be forged by anyone who can reach the
    receiver, so none is sent)."""

    def __init__(self, secret: str | None, timeout: float = TIMEOUT_S) -> None:
        self._secret = check_secret(secret)
        self._timeout = timeout

    @property
    def configured(self) -> bool:
        return self._secret is not None

    async def post(self, url: str, delivery_id: str, body: bytes) -> int:
        """Send `body` to `url` as delivery `delivery_id`; the 2xx status it got. Raises
        `WebhookFailed` for any other answer or when the receiver cannot be reached."""
        if self._secret is None:
            raise WebhookFailed("MOTCUA_WEBHOOK_SECRET is not set: webhooks are not sent unsigned")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            DELIVERY_ID_HEADER: delivery_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        try:
            # One client per request: notices are a few per dossier, and nothing is left open
            # for the worker to close. Redirects are not followed: a receiver that moved must
            # be configured anew, not trusted to forward signed personal data.
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise WebhookFailed(f"POST {url}: {type(error).__name__}: {error}") from error
        if not response.is_success:
            answer = response.text[:_ERROR_BODY_CHARS].strip()
            raise WebhookFailed(
                f"POST {url}: HTTP {response.status_code}" + (f": {answer}" if answer else "")
            )
        return response.status_code
