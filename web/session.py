"""Who is on the pages: the signed-in person kept in the session cookie, and the CSRF token every
form carries.

The cookie is Starlette's signed session (itsdangerous, HMAC-SHA1 over the JSON), HttpOnly,
SameSite=Lax and, with `MOTCUA_SECURE_COOKIES`, Secure; it holds the caller's verified claims
(an `Actor`) and when they expire, never a token. The claims were verified by the API's own
`Authenticator` at sign-in, so the pages and the API trust one issuer. The JSON API never reads
this cookie: it takes bearer tokens only, so no cross-site form can act through it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from pydantic import ValidationError

from api.auth import AuthConfigError, Authenticator
from api.problems import Problem
from domain.commands import Actor
from settings import Settings

COOKIE = "motcua_session"
CSRF_FIELD = "csrf_token"
# Where a session secret is derived from the development JWT secret (never the same key twice).
_DERIVATION = b"motcua pages session v1"


def session_secret(settings: Settings, authenticator: Authenticator) -> str:
    """The cookie's signing key: `MOTCUA_SESSION_SECRET`, or in development one derived from the
    development JWT secret; production (JWKS) must set its own."""
    if settings.session_secret:
        if len(settings.session_secret.encode()) < 32:
            raise AuthConfigError("MOTCUA_SESSION_SECRET must be at least 32 bytes long")
        return settings.session_secret
    signed = authenticator.sign_for_development({"purpose": "session-key"})
    if signed is None:
        raise AuthConfigError(
            "MOTCUA_SESSION_SECRET is required with MOTCUA_JWT_JWKS_URL: the pages' session "
            "cookie is signed with it (make one: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    return hmac.new(_DERIVATION, signed.encode(), hashlib.sha256).hexdigest()


class SignInRequired(Exception):
    """No one (or an expired someone) is signed in: the page answers with the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


def sign_in(
    request: Request, actor: Actor, *, hours: float, expires_at: float | None = None
) -> None:
    """Start a session for `actor`: a fresh session (no fixation) with a new CSRF token."""
    request.session.clear()
    until = time.time() + hours * 3600
    request.session.update(
        {
            "actor": actor.model_dump(mode="json"),
            "until": min(until, expires_at) if expires_at else until,
            "csrf": secrets.token_urlsafe(32),
        }
    )


def sign_out(request: Request) -> None:
    request.session.clear()


def signed_in(request: Request) -> Actor | None:
    """The signed-in actor, or None (none, expired, or unreadable)."""
    data: Any = request.session.get("actor")
    until: Any = request.session.get("until")
    if not isinstance(data, dict) or not isinstance(until, int | float) or until < time.time():
        return None
    try:
        return Actor.model_validate(data)
    except ValidationError:
        return None


def local_path(candidate: str | None, default: str = "/") -> str:
    """`candidate` if it is a path of this site, else `default`: no open redirect after sign-in."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or "\\" in candidate:
        return default
    return candidate


def sign_in_address(next_path: str) -> str:
    return "/signin?" + urlencode({"next": local_path(next_path)})


async def page_actor(request: Request) -> Actor:
    """Dependency of every signed-in page: the caller, or the sign-in page (SignInRequired)."""
    actor = signed_in(request)
    if actor is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInRequired(request.url.path + query)
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (forms shown before sign-in have one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Dependency of every form's POST: the form's token must be the session's (synchroniser
    token), and a browser's Origin, when it says one, must be this site."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise _csrf_failed("the form was sent from another site")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise _csrf_failed("the form carries no valid CSRF token")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise _csrf_failed("the form's CSRF token is not this session's")


CsrfChecked = Depends(check_csrf)


def _csrf_failed(detail: str) -> Problem:
    """The pages' own refusal (the JSON API takes no cookie, so never answers it)."""
    return Problem("csrf_failed", detail, status=403, title="The form did not come from this site")
