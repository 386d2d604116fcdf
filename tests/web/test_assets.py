"""The vendored front-end files (web.assets): only the listed files of node_modules, versioned URLs
cached for a year, and a start-up that fails loudly, naming `make install`, without them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.auth import Authenticator
from settings import Settings
from web.assets import (
    CACHE_FOREVER,
    CACHE_REVALIDATE,
    NODE_MODULES,
    VENDOR_FILES,
    MissingVendorFiles,
    install_vendor_assets,
    vendor_url,
)


def served_app() -> FastAPI:
    app = FastAPI()
    install_vendor_assets(app)
    return app


async def get(app: FastAPI, url: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.get(url, headers=headers)


@pytest.mark.parametrize("name", sorted(VENDOR_FILES))
async def test_each_vendored_file_is_served_from_node_modules(name: str) -> None:
    app = served_app()
    file = VENDOR_FILES[name]
    response = await get(app, vendor_url(app, name))
    assert response.status_code == 200
    assert response.content == (NODE_MODULES / file.package / file.path).read_bytes()
    assert response.headers["cache-control"] == CACHE_FOREVER


async def test_an_unversioned_or_stale_url_is_revalidated() -> None:
    app = served_app()
    plain = await get(app, "/static/vendor/htmx.min.js")
    stale = await get(app, "/static/vendor/htmx.min.js?v=1.0.0")
    assert plain.status_code == stale.status_code == 200
    assert plain.headers["cache-control"] == stale.headers["cache-control"] == CACHE_REVALIDATE
    again = await get(app, "/static/vendor/htmx.min.js", **{"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/swagger-ui/index.html",  # in swagger-ui-dist, but not listed
        "/static/vendor/htmx.org/package.json",
        "/static/vendor/axe-core/axe.min.js",  # the tests' own, never served
        "/static/vendor/../../settings.py",
    ],
)
async def test_nothing_else_of_node_modules_is_served(path: str) -> None:
    assert (await get(served_app(), path)).status_code == 404


def test_without_node_modules_the_app_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(MissingVendorFiles, match="make install") as missing:
        install_vendor_assets(FastAPI(), tmp_path / "node_modules")
    assert "htmx.min.js" in str(missing.value)


async def test_through_the_api_a_wrong_method_is_a_problem_naming_get_and_head() -> None:
    app = create_app(Settings(), Authenticator.with_secret("a-secret-of-at-least-thirty-two-bytes"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.post(vendor_url(app, "htmx.min.js"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["code"] == "method_not_allowed"
