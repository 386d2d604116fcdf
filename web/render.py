"""Pages from Jinja2 templates: the environment (autoescaped, gettext), what every page knows
(the caller, the CSRF field, the menu for the caller's roles) and the error page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from domain.commands import Actor, Role
from web import i18n
from web.i18n import N_
from web.pages import oidc
from web.session import CSRF_FIELD, csrf_token, signed_in

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class MenuItem:
    href: str
    label: str  # a message id
    roles: frozenset[Role]


# The menu: each role's pages (a page re-checks who may see it; the menu only hides).
MENU = (
    MenuItem("/inbox", N_("Hồ sơ của đơn vị"), frozenset({Role.OFFICER, Role.HEAD})),
    MenuItem("/receive", N_("Tiếp nhận hồ sơ"), frozenset({Role.OFFICER, Role.HEAD})),
    MenuItem("/consultations", N_("Xin ý kiến gửi đến"), frozenset({Role.OFFICER, Role.HEAD})),
    MenuItem("/withdrawals", N_("Rút hồ sơ chờ xác nhận"), frozenset({Role.HEAD})),
    MenuItem(
        "/reports",
        N_("Báo cáo"),
        frozenset({Role.HOME_AFFAIRS, Role.INSPECTOR}),
    ),
    MenuItem("/lookup", N_("Tra cứu hồ sơ"), frozenset(Role)),
)


def menu_for(actor: Actor | None) -> list[MenuItem]:
    if actor is None:
        return [item for item in MENU if item.href == "/lookup"]
    return [item for item in MENU if item.roles & set(actor.roles)]


def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day"] = i18n.day
    env.filters["moment"] = i18n.moment
    env.globals["language"] = language
    return env


_ENVIRONMENTS = {language: _environment(language) for language in i18n.LANGUAGES}


def language_of(request: Request) -> str:
    services = getattr(request.app.state, "services", None)
    return services.settings.pages_language if services else i18n.SOURCE_LANGUAGE


def gettext(request: Request) -> Any:
    """`_` for page code: the request's language's gettext."""
    return i18n.translations(language_of(request)).gettext


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `template` with `context`, plus what every page knows."""
    actor = signed_in(request)
    token = csrf_token(request)
    env = _ENVIRONMENTS[language_of(request)]
    page = env.get_template(template).render(
        request=request,
        actor=actor,
        menu=menu_for(actor),
        current_path=request.url.path,
        csrf_field=Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'),
        csrf_token=token,
        flash=request.session.pop("flash", None),
        **(context or {}),
    )
    response = HTMLResponse(page, status_code=status_code, headers=dict(headers or {}))
    # Pages show a person's dossiers: never kept by a shared cache, never framed elsewhere.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    provider = oidc.provider_origin(request)  # sign-out's form ends at the provider's
    form_action = f"'self' {provider}" if provider else "'self'"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors 'none'; form-action {form_action}; base-uri 'none'",
    )
    return response


def flash(request: Request, kind: str, message: str, **facts: Any) -> None:
    """A message for the next page shown (after a form's redirect): `kind` ok | error."""
    request.session["flash"] = {"kind": kind, "message": message, **facts}
