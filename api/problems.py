"""Errors as RFC 9457 problem documents (`application/problem+json`), each with a stable `code`.

Refusals of the rules come from `domain.refusals` (through the workflow or directly); the codes
here are the API's own: bad requests, unknown routes, and parts of the system out of reach. No
error answers with a stack trace, and bad input never answers 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.limits import LIMIT_CODES
from domain.refusals import Refusal
from telemetry.metrics import PROBLEMS

log = structlog.get_logger()

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://motcua.dongnai.gov.vn/problems/"  # documentation anchor per code

# The API's own codes: (HTTP status, title).
API_CODES: dict[str, tuple[int, str]] = {
    "malformed_json": (400, "The request body is not valid JSON"),
    "validation_error": (422, "The request does not have the expected shape"),
    "unauthenticated": (401, "A valid bearer token is required"),
    "forbidden": (403, "You may not do this"),
    "not_found": (404, "No such resource"),
    "method_not_allowed": (405, "Method not allowed on this resource"),
    "dossier_not_found": (404, "No such dossier"),
    "dossier_exists": (409, "A dossier with this code already exists"),
    "agency_exists": (409, "An agency with this code already exists"),
    "procedure_exists": (409, "A procedure with this code already exists"),
    "agency_not_found": (404, "No such agency"),
    "procedure_not_found": (404, "No such procedure"),
    "invalid_catalogue_entry": (422, "The catalogue entry breaks a catalogue rule"),
    "invalid_cursor": (400, "The pagination cursor is not one this API gave"),
    "payload_too_large": (413, "The request body is larger than the API accepts"),
    "text_too_long": (422, "A text is longer than its field allows"),
    "forbidden_character": (422, "A text holds a character it may not hold"),
    "too_many_items": (422, "A list has more items than its field allows"),
    "number_out_of_range": (422, "A number is outside the range its field allows"),
    "idempotency_key_reused": (422, "The Idempotency-Key was first used with another request"),
    "invalid_period": (422, "The report's period is not a range of dates it can cover"),
    "calendar_not_synced": (503, "The reports' working-day calendar is not in the database"),
    "rate_limited": (429, "Too many requests; retry after the time in Retry-After"),
    "workflow_busy": (429, "The dossier is busy with other actions; retry after Retry-After"),
    "unsupported_value": (422, "A value in the request cannot be stored or searched for"),
    "temporal_unavailable": (503, "The workflow service cannot be reached"),
    "workflow_unavailable": (503, "No worker took the action in time; nothing was changed"),
    "outcome_pending": (
        503,
        "The action was taken but its outcome is late; retry with the same Idempotency-Key",
    ),
    "database_unavailable": (503, "The database cannot be reached"),
    "auth_unavailable": (503, "The identity provider's keys cannot be fetched"),
    "internal_error": (500, "Internal error"),
}


# Starlette's own errors (unknown routes, wrong methods) by status.
_HTTP_CODES = {
    400: "malformed_json",  # FastAPI's only 400: a body it could not parse
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """Every method the routes of `path` answer."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


# The members a problem document has of its own: no fact may overwrite them.
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})


class Problem(Exception):
    """An error answer. `extensions` become top-level members of the document (RFC 9457 §3.2)."""

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        known_status, known_title = API_CODES.get(code, (500, code))
        self.code = code
        self.status = status or known_status
        self.title = title or known_title
        self.detail = detail or self.title
        self.headers = headers
        self.extensions = extensions
        super().__init__(f"{code}: {self.detail}")

    def count(self) -> None:
        """Count it as answered, in the API's metrics of refusals by code: once per answer,
        whether a document here or a page (web.errors)."""
        PROBLEMS.labels(self.code, str(self.status)).inc()

    @classmethod
    def of_refusal(cls, refusal: Refusal) -> Problem:
        """A refusal of the rules: its code, status and facts; the message in both languages.
        RFC 9457 keeps `status` for the HTTP status, so the dossier's status is
        `dossier_status`."""
        problem = cls(
            refusal.code.value,
            refusal.message_en,
            status=refusal.http_status,
            title=refusal.message_en,
            detail_vi=refusal.message_vi,
        )
        facts = refusal.model_dump(mode="json")["facts"]
        if "status" in facts:
            facts["dossier_status"] = facts.pop("status")
        problem.extensions.update({k: v for k, v in facts.items() if k not in _MEMBERS})
        return problem

    @classmethod
    def of_refusal_document(cls, refusal: dict[str, Any]) -> Problem:
        """The same, from a refusal carried as JSON (an update's failure detail)."""
        return cls.of_refusal(Refusal.model_validate(refusal))

    def response(self, request: Request) -> JSONResponse:
        self.count()
        body = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": request.url.path,
            "code": self.code,
            **self.extensions,
        }
        return JSONResponse(
            body, status_code=self.status, media_type=MEDIA_TYPE, headers=self.headers
        )


def problem_of_errors(raised: Sequence[Any]) -> tuple[Problem, list[str]]:
    """The problem of a request refused for `raised` (pydantic's errors, located from the
    request: `body`, then the field), and what was wrong, one line per error, as recorded."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in raised
    ]
    said = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors]
    beyond = next((e for e in errors if e["type"] in LIMIT_CODES), None)
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem("malformed_json", errors[0]["msg"], errors=errors), said
    if beyond is not None:
        # A limit of `domain.limits`: its own code, and the field it names, as `field`.
        field = ".".join(map(str, beyond["loc"][1:]))
        return Problem(
            beyond["type"], f"{field}: {beyond['msg']}", field=field, errors=errors
        ), said
    return Problem("validation_error", "; ".join(said), errors=errors), said


# Called with (request, problem code, what was wrong, the body as received) for each request
# refused before its handler ran for want of a readable body; returns the problem to answer
# instead when the caller may not use the route at all (403), else None.
InvalidRequestRecorder = Callable[[Request, str, list[str], Any], Awaitable["Problem | None"]]


def install(app: FastAPI, record_invalid: InvalidRequestRecorder | None = None) -> None:
    """Every error path of the app answers a problem document; an unreadable request is also
    handed to `record_invalid` (R9, R12: refused actions are recorded)."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status >= 500:
            log.warning("request_failed", path=request.url.path, code=exc.code, detail=exc.detail)
        return exc.response(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem, said = problem_of_errors(exc.errors())
        if record_invalid is not None:
            problem = await record_invalid(request, problem.code, said, exc.body) or problem
        return problem.response(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only.
            headers["Allow"] = ", ".join(_methods_of(request.app, request.url.path))
        return Problem(code, str(exc.detail), status=exc.status_code, headers=headers).response(
            request
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected_error", path=request.url.path)
        return Problem("internal_error").response(request)
