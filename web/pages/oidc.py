"""Sign-in by OpenID Connect (production): the authorization code flow with PKCE (S256) against
the issuer the API trusts (`MOTCUA_JWT_ISSUER`, its `/.well-known/openid-configuration`), as the
client `MOTCUA_OIDC_CLIENT_ID` / `MOTCUA_OIDC_CLIENT_SECRET`.

Authlib's Starlette client keeps the state, the nonce and the PKCE verifier in the session
cookie between the two legs, checks the state and the ID token (signature, issuer, audience,
nonce). Who the person is then comes from the ACCESS token, verified by the API's own
`Authenticator` (issuer, audience, the provider's JWKS, the `agency` and `roles` claims): a page
session holds exactly what an API call with that token would be allowed, and ends when it does.

Signing out ends the provider's session too when it publishes an `end_session_endpoint`
(RP-initiated logout), else only ours."""

from __future__ import annotations

import warnings
from typing import Annotated, Any
from urllib.parse import urlsplit

# Authlib installs an "always show" filter for its deprecations when this is imported: first,
# so that the filter below goes before it.
import authlib.deprecate  # noqa: F401
import httpx
import jwt
import structlog

with warnings.catch_warnings():
    # Authlib's Starlette client imports its own httpx module, which says it is deprecated
    # (in favour of httpx2) at every start; nothing of ours uses that module.
    warnings.filterwarnings("ignore", "The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import Authenticator
from api.problems import Problem
from web.session import local_path, sign_in

log = structlog.get_logger()

router = APIRouter(include_in_schema=False)

PROVIDER = "motcua"
SCOPE = "openid profile"
# Session keys: where to go after the provider, and the ID token kept for the end of the session.
NEXT_KEY = "oidc_next"
ID_TOKEN_KEY = "oidc_id_token"


def configured(request: Request) -> bool:
    """A client id, and tokens checked against a provider's keys (JWKS mode)."""
    services = getattr(request.app.state, "services", None)  # None before the app started
    if services is None:
        return False
    authenticator: Authenticator = services.authenticator
    return bool(services.settings.oidc_client_id) and authenticator.mode == "jwks"


def provider_origin(request: Request) -> str | None:
    """The provider's origin when signing in by it: the pages' CSP lets forms lead there, since
    sign-out's form ends at its end_session_endpoint (a form's redirects are held to the CSP's
    form-action too)."""
    if not configured(request):
        return None
    issuer = urlsplit(request.app.state.services.authenticator.issuer or "")
    return f"{issuer.scheme}://{issuer.netloc}" if issuer.scheme and issuer.netloc else None


def _client(request: Request) -> StarletteOAuth2App:
    """The provider's client, registered once per app (Authlib caches the provider's metadata)."""
    client: StarletteOAuth2App | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        if not configured(request):
            raise Problem("not_found", "OpenID Connect sign-in is not configured")
        services = request.app.state.services
        issuer = (services.authenticator.issuer or "").rstrip("/")
        oauth = OAuth()
        client = oauth.register(
            PROVIDER,
            client_id=services.settings.oidc_client_id,
            client_secret=services.settings.oidc_client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
        )
        request.app.state.oidc_client = client
    return client


def _pages_base(request: Request) -> str:
    """Where the provider sends the browser back: the configured public address, else the
    address this request came in on (so the session cookie comes back with it)."""
    pages_url = request.app.state.services.settings.pages_url
    return str(pages_url or request.base_url).rstrip("/")


def _failed(detail: str, detail_vi: str) -> Problem:
    return Problem("oidc_failed", detail, status=400, title="Sign-in failed", detail_vi=detail_vi)


def _unreachable() -> Problem:
    return Problem(
        "auth_unavailable",
        "The identity provider cannot be reached.",
        status=503,
        detail_vi="Không kết nối được hệ thống xác thực; vui lòng thử lại sau.",
    )


@router.get("/signin/oidc")
async def signin_oidc(
    request: Request, after: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    """To the provider's sign-in page, with a fresh state, nonce and PKCE challenge."""
    client = _client(request)
    request.session[NEXT_KEY] = local_path(after, "/")
    try:
        response: Response = await client.authorize_redirect(
            request, f"{_pages_base(request)}/signin/oidc/callback"
        )
    except httpx.HTTPError as error:
        log.warning("oidc_provider_unreachable", error=str(error))
        raise _unreachable() from error
    return response


@router.get("/signin/oidc/callback")
async def signin_oidc_callback(request: Request) -> Response:
    """The provider's answer: the code exchanged (with the PKCE verifier), the access token
    verified as the API verifies it, the session started until the token expires."""
    client = _client(request)
    after = request.session.get(NEXT_KEY)
    try:
        token: dict[str, Any] = await client.authorize_access_token(request)
    except OAuthError as error:  # a state not ours (forged, replayed, expired), a refusal
        log.info("oidc_refused", error=error.error, description=error.description)
        raise _failed(
            f"The identity provider's answer was refused: {error.error}",
            "Không đăng nhập được: phản hồi của hệ thống xác thực không hợp lệ hoặc đã hết hạn. "
            "Vui lòng đăng nhập lại.",
        ) from error
    except httpx.HTTPError as error:
        log.warning("oidc_provider_unreachable", error=str(error))
        raise _unreachable() from error
    access = token.get("access_token")
    if not isinstance(access, str):
        raise _failed(
            "The identity provider gave no access token.",
            "Hệ thống xác thực không cấp mã truy cập.",
        )
    authenticator: Authenticator = request.app.state.services.authenticator
    actor = await authenticator.authenticate(f"Bearer {access}")  # 401 page when refused
    # Verified just above; read here only for when it ends.
    expires_at = jwt.decode(access, options={"verify_signature": False})["exp"]
    sign_in(
        request,
        actor,
        hours=request.app.state.services.settings.session_hours,
        expires_at=float(expires_at),
    )
    if isinstance(token.get("id_token"), str):
        request.session[ID_TOKEN_KEY] = token["id_token"]
    log.info("signed_in_oidc", user=actor.user_id, agency=actor.agency)
    return RedirectResponse(local_path(after if isinstance(after, str) else None), status_code=303)


async def end_session_address(request: Request, id_token: Any) -> str | None:
    """Where to send the browser so that the provider's session ends too (then back to the
    sign-in page); None when there is no provider session to end or no way to end it."""
    if not configured(request) or not isinstance(id_token, str):
        return None
    client = _client(request)
    try:
        metadata = await client.load_server_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        logout = await client.create_logout_url(
            post_logout_redirect_uri=f"{_pages_base(request)}/signin",
            id_token_hint=id_token,
            client_id=request.app.state.services.settings.oidc_client_id,
        )
    except httpx.HTTPError as error:
        log.warning("oidc_provider_unreachable_at_sign_out", error=str(error))
        return None
    url: str = logout["url"]
    return url
