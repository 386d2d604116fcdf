"""The served OpenAPI document, with every problem response each route can give (RFC 9457,
`application/problem+json`, the `Problem` schema), generated from what the route is made of
rather than written route by route:

- the caller's token (`current_actor`): 401, 403;
- the database or the workflow service (`session`, `services`): 503;
- a body: 400 (not JSON), 413 (beyond the body cap), 422 (its shape, its limits, its rules);
- any parameter: 422 (its shape, a forbidden character); a path parameter: 404; a `cursor`: 400;
- an action on a dossier (the workflow's update): 409 and 429 (too many updates in flight);
- a creation (201): 409 (it exists); the citizens' look-up: 429 (its rate limit).

A status the route declares itself keeps its description, and its content unless that is not
a problem document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.auth import current_actor
from api.deps import services, session
from api.problems import API_CODES, MEDIA_TYPE
from api.routes.dossiers import action_of
from api.routes.public import look_up, look_up_progress
from domain.limits import BODY_MAX_BYTES, LIMIT_CODES, PARAMETER_PATTERN
from domain.refusals import Code, refuse

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document; `code` is the stable machine code.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "detail_vi": {"type": "string", "description": "the message in Vietnamese"},
        "field": {"type": "string", "description": "the field or parameter beyond a limit"},
        "errors": {"type": "array", "description": "what was wrong, one entry per error"},
    },
    "additionalProperties": True,
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


def _codes_by_status() -> dict[int, list[str]]:
    """Every stable code by the HTTP status it answers with: the API's and the rules'."""
    statuses = {code: status for code, (status, _) in API_CODES.items()}
    statuses.update({code.value: refuse(code).http_status for code in Code})
    by_status: dict[int, list[str]] = {}
    for code, status in statuses.items():
        by_status.setdefault(status, []).append(code)
    return by_status


def _description(status: int, codes: dict[int, list[str]]) -> str:
    listed = ", ".join(f"`{code}`" for code in sorted(codes.get(status, [])))
    if status == 413:
        return f"`payload_too_large`: the body is over {BODY_MAX_BYTES} bytes"
    if status == 422:
        limits = ", ".join(f"`{code}`" for code in sorted(LIMIT_CODES))
        return f"A problem: one of {listed}; {limits} name the `field` beyond its limit"
    if status == 429:
        return f"Too many requests for now ({listed}): try again after `Retry-After` seconds"
    return f"A problem: one of {listed}"


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def problem_statuses(route: RouteContext) -> set[int]:
    """The problem statuses `route` can answer with, from what it is made of."""
    calls = {d.call for d in _dependencies(route.dependant)}
    params = [
        p
        for d in [route.dependant, *_dependencies(route.dependant)]
        for p in (*d.path_params, *d.query_params, *d.header_params)
    ]
    statuses: set[int] = set()
    if current_actor in calls:
        statuses |= {401, 403}
    if calls & {session, services}:
        statuses.add(503)
    if route.dependant.body_params:
        statuses |= {400, 413, 422}
    if params:
        statuses.add(422)
    if route.dependant.path_params:
        statuses.add(404)
    if any(p.alias == "cursor" for p in params):
        statuses.add(400)
    if action_of(route) is not None:
        statuses |= {409, 429}
    if route.status_code == 201:
        statuses.add(409)
    if route.endpoint in (look_up, look_up_progress):  # the citizens' look-up's limits
        statuses.add(429)
    return statuses


def install(app: FastAPI) -> None:
    """Serve `app`'s OpenAPI document with its problem responses (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_problems(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_problems(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    codes = _codes_by_status()
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query"):
                    _without_forbidden_characters(parameter["schema"])
            responses = operation.setdefault("responses", {})
            own = {int(status) for status in route.responses if str(status).isdigit()}
            for status in sorted(problem_statuses(route) | {s for s in own if s >= 400}):
                response = responses.setdefault(str(status), {})
                if status in own:
                    if set(response.get("content", {})) - {MEDIA_TYPE}:
                        continue  # the route's own answer, not a problem document (`/readyz`)
                else:
                    response["description"] = _description(status, codes)
                response["content"] = problem
                if status == 429:
                    response["headers"] = _RETRY_AFTER
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _without_forbidden_characters(schema: dict[str, Any]) -> None:
    """Say in a parameter's schema what `refuse_forbidden_characters` refuses, unless its own
    pattern already says more."""
    for variant in schema.get("anyOf", [schema]):
        if variant.get("type") == "string" and "pattern" not in variant and "enum" not in variant:
            if variant.get("format") not in ("date", "date-time"):
                variant["pattern"] = PARAMETER_PATTERN
