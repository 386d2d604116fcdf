"""The pages on the API's app: one service, one set of rules (issue 9). `install` adds the
session cookie, the static files, the error pages and every page's routes."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.auth import Authenticator
from settings import Settings
from web import errors, pages
from web.session import COOKIE, session_secret

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings, authenticator: Authenticator) -> None:
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings, authenticator),
        session_cookie=COOKIE,
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in page_modules():
        app.include_router(module.router)
    errors.install(app)


def page_modules() -> list[ModuleType]:
    """Every module of `web.pages` with a `router`: a page's module is all it takes to add it."""
    found = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"web.pages.{info.name}")
        if hasattr(module, "router"):
            found.append(module)
    return found
