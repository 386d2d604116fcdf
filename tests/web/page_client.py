"""A signed-in person on the pages over plain HTTP (no JavaScript, like a form post without a
browser): a cookie jar, the page's CSRF token and a fresh idempotency key on each post."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any

import httpx

from tests.fixtures.api import Api


class Browser:
    """A signed-in person's cookie jar on the pages (no JavaScript, like a plain form post)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def page(self, path: str) -> str:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text[:2000]
        return unescape(response.text)

    async def post(self, path: str, fields: dict[str, Any], token_from: str) -> httpx.Response:
        """Post `fields` as the form of the page at `token_from` would (its CSRF token, a
        fresh idempotency key unless given)."""
        page = await self.page(token_from)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        data: dict[str, Any] = {
            "csrf_token": csrf.group(1),
            "idempotency_key": str(uuid.uuid4()),
            **fields,
        }
        return await self.http.post(path, data=data)


async def signed_in(api: Api, user: str) -> Browser:
    http = httpx.AsyncClient(base_url=api.base_url, timeout=30)
    page = (await http.get("/signin")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    response = await http.post("/signin/dev", data={"csrf_token": csrf.group(1), "user": user})
    assert response.status_code == 303
    return Browser(http)
