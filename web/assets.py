"""The front-end files that come from the npm registry (htmx, Swagger UI), served read-only from
the repository's node_modules, which `make install` fills from package-lock.json (`npm ci`).
Nothing is ever fetched from a CDN, by the server or by a browser.

    /static/vendor/htmx.min.js
    /static/vendor/swagger-ui/swagger-ui-bundle.js, swagger-ui.css, favicon-32x32.png

Only those files are served, not the whole of node_modules. Pages link them with `vendor_url`,
which adds the package's version (`?v=2.0.11`): such a URL never changes content, so browsers keep
it a year; an upgrade changes the URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from settings import REPO_ROOT

NODE_MODULES = REPO_ROOT / "node_modules"
VENDOR_PREFIX = "/static/vendor"
CACHE_FOREVER = "public, max-age=31536000, immutable"  # a URL with the installed version
CACHE_REVALIDATE = "no-cache"  # no version, or another one: ask each time (ETag answers 304)


@dataclass(frozen=True)
class VendorFile:
    """One served file: its npm package and where it is inside that package."""

    package: str
    path: str


# URL path under VENDOR_PREFIX -> the file in node_modules.
VENDOR_FILES: dict[str, VendorFile] = {
    "htmx.min.js": VendorFile("htmx.org", "dist/htmx.min.js"),
    "swagger-ui/swagger-ui-bundle.js": VendorFile("swagger-ui-dist", "swagger-ui-bundle.js"),
    "swagger-ui/swagger-ui.css": VendorFile("swagger-ui-dist", "swagger-ui.css"),
    "swagger-ui/favicon-32x32.png": VendorFile("swagger-ui-dist", "favicon-32x32.png"),
}


class MissingVendorFiles(RuntimeError):
    """node_modules lacks a file we serve; the message says to run `make install`."""


def package_versions(node_modules: Path = NODE_MODULES) -> dict[str, str]:
    """The installed version of each package we serve from; MissingVendorFiles if a package or
    one of its files is not there."""
    missing = [
        str(node_modules / file.package / file.path)
        for file in VENDOR_FILES.values()
        if not (node_modules / file.package / file.path).is_file()
    ]
    if missing:
        raise MissingVendorFiles(
            "The front-end files of the pages and of /docs are not installed (missing: "
            f"{', '.join(missing)}). Run `make install`: it runs `npm ci` from package-lock.json."
        )
    versions: dict[str, str] = {}
    for package in sorted({file.package for file in VENDOR_FILES.values()}):
        manifest = json.loads((node_modules / package / "package.json").read_text("utf-8"))
        versions[package] = str(manifest["version"])
    return versions


class VendorFiles(StaticFiles):
    """StaticFiles over node_modules that serves only VENDOR_FILES, with the cache header their
    URL deserves."""

    def __init__(self, node_modules: Path, versions: dict[str, str]) -> None:
        super().__init__(directory=node_modules, follow_symlink=False)
        self.versions = versions

    async def get_response(self, path: str, scope: Scope) -> Response:
        file = VENDOR_FILES.get(path)
        if file is None:
            raise HTTPException(status_code=404)
        response = await super().get_response(f"{file.package}/{file.path}", scope)
        if response.status_code in (200, 304):
            current = _query_version(scope) == self.versions[file.package]
            response.headers["Cache-Control"] = CACHE_FOREVER if current else CACHE_REVALIDATE
        return response


def _query_version(scope: Scope) -> str | None:
    """The `v` of the URL's query string, if any."""
    versions = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
    return versions[0] if versions else None


def install_vendor_assets(app: FastAPI, node_modules: Path = NODE_MODULES) -> None:
    """Serve VENDOR_FILES under /static/vendor; MissingVendorFiles (start-up fails) when
    node_modules lacks one. Call it before anything mounted at /static, which would hide it."""
    versions = package_versions(node_modules)
    app.state.vendor_versions = versions
    app.mount(VENDOR_PREFIX, VendorFiles(node_modules, versions), name="vendor")


def vendor_url(app: FastAPI, name: str) -> str:
    """The URL of vendored file `name` (a key of VENDOR_FILES) with its package's version."""
    versions: dict[str, str] = app.state.vendor_versions
    return f"{VENDOR_PREFIX}/{name}?v={versions[VENDOR_FILES[name].package]}"
