"""Signing in and out, and the home address that sends each person to his work.

Development (the API checks HS256 tokens with the development secret): a page lists the users of
dev/users.toml; choosing one signs a token for him with that secret and verifies it like any API
token. Production (JWKS): OpenID Connect, authorization code with PKCE (`web.pages.oidc`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import Authenticator
from api.problems import Problem
from dev.tokens import DevUser, load_users
from domain.commands import Actor, Role
from web.pages import oidc
from web.render import render
from web.session import CsrfChecked, local_path, sign_in, sign_out, signed_in

router = APIRouter(include_in_schema=False)


def home_of(actor: Actor) -> str:
    """Where a person's work is: officers and heads their unit's dossiers, oversight its
    reports."""
    if actor.has(Role.OFFICER) or actor.has(Role.HEAD):
        return "/inbox"
    if actor.has(Role.HOME_AFFAIRS) or actor.has(Role.INSPECTOR):
        return "/reports"
    return "/lookup"


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.services.authenticator
    return authenticator


def development_users(request: Request) -> list[DevUser]:
    """dev/users.toml's users, only while the API trusts the development secret."""
    if _authenticator(request).mode != "secret":
        return []
    return load_users()


@router.get("/")
async def home(request: Request) -> Response:
    actor = signed_in(request)
    if actor is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(home_of(actor), status_code=303)


@router.get("/signin")
async def signin_page(
    request: Request, after: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    return render(
        request,
        "signin.html",
        {
            "users": development_users(request),
            "oidc": oidc.configured(request),
            "next": local_path(after, ""),
        },
    )


@router.post("/signin/dev", dependencies=[CsrfChecked])
async def signin_development(
    request: Request,
    user: Annotated[str, Form(max_length=200)],
    after: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Sign in as a development user: his token, signed with the development secret, verified
    like any other."""
    chosen = next((u for u in development_users(request) if u.id == user), None)
    if chosen is None:
        raise Problem("forbidden", "no such development user", status=403)
    settings = request.app.state.services.settings
    issued = datetime.now(UTC)
    authenticator = _authenticator(request)
    token = authenticator.sign_for_development(
        {
            "sub": chosen.id,
            "name": chosen.name,
            "agency": chosen.agency,
            "roles": [role.value for role in chosen.roles],
            "iat": issued,
            "exp": issued + timedelta(hours=settings.session_hours),
        }
    )
    assert token is not None  # development_users is empty outside the secret mode
    actor = await authenticator.authenticate(f"Bearer {token}")
    sign_in(request, actor, hours=settings.session_hours)
    return RedirectResponse(local_path(after, home_of(actor)), status_code=303)


@router.post("/signout", dependencies=[CsrfChecked])
async def signout(request: Request) -> Response:
    """Ends our session, then the provider's when it was an OpenID Connect sign-in and the
    provider can end it (RP-initiated logout), else back to the sign-in page."""
    id_token = request.session.get(oidc.ID_TOKEN_KEY)
    sign_out(request)
    provider = await oidc.end_session_address(request, id_token)
    return RedirectResponse(provider or "/signin", status_code=303)
