"""Every form's POST carries the session's CSRF token and, when a browser says where it comes
from, comes from this site; the session cookie is HttpOnly and SameSite=Lax, and Secure with
MOTCUA_SECURE_COOKIES. Over real HTTP, in development mode (the sign-in form is the form)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from tests.api.http_helpers import serving
from tests.fixtures.api import SECRET

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no dossier read


@asynccontextmanager
async def pages(database_url: str, *, secure: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url, temporal_address="127.0.0.1:1", secure_cookies=secure
    )
    async with serving(create_app(settings, Authenticator.with_secret(SECRET))) as client:
        yield client


async def form_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/signin")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def assert_csrf_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "<code>csrf_failed</code>" in answer.text
    assert "Biểu mẫu đã hết hạn hoặc không gửi từ trang của hệ thống" in answer.text


@SQLITE
async def test_a_form_without_the_session_s_token_or_from_another_site_is_refused(
    database_url: str,
) -> None:
    async with pages(database_url) as client:
        token = await form_token(client)
        sign_in = {"user": "sxd.officer", "next": "/lookup"}

        assert_csrf_refused(await client.post("/signin/dev", data=sign_in))
        assert_csrf_refused(await client.post("/signin/dev", data={**sign_in, "csrf_token": "x"}))
        with_token = {**sign_in, "csrf_token": token}
        elsewhere = {"Origin": "https://evil.example"}
        assert_csrf_refused(await client.post("/signin/dev", data=with_token, headers=elsewhere))
        assert (await client.get("/")).headers["location"] == "/signin"  # still nobody

        own = {"Origin": str(client.base_url).rstrip("/")}
        signed_in = await client.post("/signin/dev", data=with_token, headers=own)
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/lookup")
        # The session is new at sign-in: the token of before is no longer the session's.
        assert_csrf_refused(await client.post("/signout", data={"csrf_token": token}))


@SQLITE
@pytest.mark.parametrize("secure", [False, True])
async def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_asked(
    database_url: str, secure: bool
) -> None:
    async with pages(database_url, secure=secure) as client:
        page = await client.get("/signin")

        [cookie] = page.headers.get_list("set-cookie")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith("motcua_session=")
        assert "httponly" in attributes
        assert re.search(r";\s*samesite=lax", cookie, re.I), cookie
        assert ("secure" in attributes) is secure


@SQLITE
async def test_no_oidc_sign_in_while_the_development_secret_is_in_use(database_url: str) -> None:
    async with pages(database_url) as client:
        signin = await client.get("/signin")
        assert "/signin/oidc" not in signin.text and "signin-sxd.officer" in signin.text

        answer = await client.get("/signin/oidc")

        assert answer.status_code == 404 and "<code>not_found</code>" in answer.text
