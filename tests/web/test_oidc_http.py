"""OpenID Connect sign-in over real HTTP against a real provider run by the test: the
authorization code flow with PKCE (S256), the access token verified by the API's own
Authenticator (JWKS mode), a forged or replayed state refused, sign-out ending the provider's
session too."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from tests.api.http_helpers import serving
from tests.fixtures.api import USERS, free_port
from tests.web.oidc_provider import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Provider, provider, query

__all__ = ["provider"]  # the fixture, used by the tests below

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # sign-in only


@asynccontextmanager
async def pages_on(provider: Provider, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in production's mode: tokens checked against the provider's keys, sign-in by
    OpenID Connect as CLIENT_ID."""
    settings = Settings(
        database_url=database_url,
        temporal_address="127.0.0.1:1",  # no dossier is touched
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        session_secret=secrets.token_urlsafe(32),
    )
    authenticator = Authenticator.with_jwks(
        f"{provider.issuer}/jwks", issuer=provider.issuer, audience=AUDIENCE
    )
    async with serving(create_app(settings, authenticator)) as client:
        yield client


async def to_provider(client: httpx.AsyncClient, path: str = "/signin/oidc") -> str:
    """Our sign-in's redirect: the provider's authorization request."""
    started = await client.get(path)
    assert started.status_code == 302, started.text
    location = started.headers["location"]
    return location


async def authorize(authorize_url: str, user: str) -> str:
    """The person chooses `user` on the provider's page: the provider's redirect back to us."""
    async with httpx.AsyncClient(timeout=10) as browser_at_provider:
        shown = await browser_at_provider.get(authorize_url)
        assert shown.status_code == 200 and "Authorize" in shown.text, shown.text
        chosen = await browser_at_provider.post(authorize_url, data={"sub": user})
    assert chosen.status_code == 302, chosen.text
    return chosen.headers["location"]


def back_path(location: str) -> str:
    """The callback's path and query, to call it on our client (which holds the session)."""
    found = re.match(r"^https?://[^/]+(/.*)$", location)
    assert found, location
    return found.group(1)


@SQLITE
async def test_oidc_sign_in_with_pkce_leads_an_officer_to_his_inbox(
    provider: Provider, database_url: str
) -> None:
    async with pages_on(provider, database_url) as client:
        signin = await client.get("/signin")
        assert 'href="/signin/oidc"' in signin.text  # the button, since the client is configured
        assert "signin-sxd.officer" not in signin.text  # no development users in JWKS mode
        # Sign-out's form ends at the provider's end of session: the CSP lets it.
        assert f"form-action 'self' {provider.issuer};" in signin.headers["content-security-policy"]

        authorize_url = await to_provider(client)

        asked = query(authorize_url)
        assert authorize_url.startswith(f"{provider.issuer}/oauth2/authorize?")
        assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
        ours = str(client.base_url).rstrip("/")
        assert asked["redirect_uri"] == f"{ours}/signin/oidc/callback"
        assert set(asked["scope"].split()) >= {"openid"}
        assert asked["code_challenge_method"] == "S256"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", asked["code_challenge"])  # SHA-256, base64url
        assert asked["state"] and asked["nonce"]
        callback = await authorize(authorize_url, "sxd.officer")
        assert provider.last_authorize_request()["code_challenge_method"] == "S256"
        assert query(callback)["state"] == asked["state"]

        signed_in = await client.get(back_path(callback))

        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/"
        home = await client.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/inbox")
        page = await client.get("/lookup")
        assert f'class="who-name">{USERS["sxd.officer"].name}<' in page.text, page.text
        assert re.search(r'class="who-agency">SXD<', page.text), page.text
        replayed = await client.get(back_path(callback))  # the same answer again: state used
        assert replayed.status_code == 400 and "oidc_failed" in replayed.text


@SQLITE
async def test_oidc_callback_with_a_forged_state_is_refused(
    provider: Provider, database_url: str
) -> None:
    async with pages_on(provider, database_url) as client:
        authorize_url = await to_provider(client, "/signin/oidc?next=/lookup")
        callback = await authorize(authorize_url, "sxd.officer")
        forged = re.sub(r"state=[^&]+", "state=forged-by-someone-else", back_path(callback))

        refused = await client.get(forged)

        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/html")
        assert "<code>oidc_failed</code>" in refused.text
        assert "phản hồi của hệ thống xác thực không hợp lệ" in refused.text
        after = await client.get("/")
        assert after.headers["location"] == "/signin"  # nobody signed in


@SQLITE
async def test_oidc_sign_in_goes_where_it_was_asked_and_sign_out_ends_the_provider_session(
    provider: Provider, database_url: str
) -> None:
    async with pages_on(provider, database_url) as client:
        authorize_url = await to_provider(client, "/signin/oidc?next=/lookup?code=X-1")
        signed_in = await client.get(back_path(await authorize(authorize_url, "snv.home_affairs")))
        assert signed_in.headers["location"] == "/lookup?code=X-1"
        page = await client.get("/lookup")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text

        signed_out = await client.post("/signout", data={"csrf_token": token.group(1)})

        assert signed_out.status_code == 303
        ending = signed_out.headers["location"]
        assert ending.startswith(f"{provider.issuer}/oauth2/end_session?")
        said = query(ending)
        assert said["post_logout_redirect_uri"].endswith("/signin")
        assert said["id_token_hint"].count(".") == 2 and said["client_id"] == CLIENT_ID
        assert (await client.get("/")).headers["location"] == "/signin"  # ours ended too


@SQLITE
async def test_a_token_without_an_agency_is_refused_as_the_api_refuses_it(
    provider: Provider, database_url: str
) -> None:
    """The provider signs in someone its access token gives no agency: the API's Authenticator
    refuses him, so the pages do too."""
    async with httpx.AsyncClient(base_url=provider.issuer) as admin:
        made = await admin.put("/users/no.agency", json={"name": "Không Cơ Quan", "roles": []})
        assert made.status_code == 204
    async with pages_on(provider, database_url) as client:
        callback = await authorize(await to_provider(client), "no.agency")

        refused = await client.get(back_path(callback))

        assert refused.status_code == 401
        assert "<code>unauthenticated</code>" in refused.text
        assert "Mã truy cập thiếu thông tin `agency`." in refused.text
        assert (await client.get("/")).headers["location"] == "/signin"


@SQLITE
async def test_a_provider_out_of_reach_is_a_503_page(database_url: str) -> None:
    gone = Provider(issuer=f"http://127.0.0.1:{free_port()}")
    async with pages_on(gone, database_url) as client:
        answer = await client.get("/signin/oidc")

        assert answer.status_code == 503
        assert "<code>auth_unavailable</code>" in answer.text
