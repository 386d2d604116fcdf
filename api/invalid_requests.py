"""Requests the API could not read (malformed JSON, or a body not of the route's shape): the
caller gets its 400 or 422 problem document, unless he may not use the route at all, and an
action on a dossier is kept in the dossier's timeline as a `refused` event all the same (R9,
R12; "every refused action is still recorded"), by the workflow while it runs
(`invalid_request_signal`), by the API on a dossier whose workflow has ended.

Who may use the route is asked first, as for a readable request: a caller with no part in the
dossier, or a non-admin on an admin's route, gets 403 `forbidden` whatever he sent, and nothing
of his reaches the dossier (a stranger's attempt goes to the security log). Recorded only for a
caller with a valid token (an anonymous request is refused before anything is read) and for a
dossier the service knows; anything else is logged, never lost silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Request

from api.auth import admin_only, require_roles
from api.problems import Problem
from api.routes.dossiers import action_of, admit_caller
from api.workflow_calls import WorkflowGone, call
from db import read_model
from domain.commands import Action, Actor, InvalidRequest, Role
from domain.dossier import invalid_request_detail
from workflows.starter import workflow_id

if TYPE_CHECKING:
    from api.app import Services

log = structlog.get_logger(__name__)


def _text_of(body: Any) -> str:
    if isinstance(body, bytes):
        text = body.decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, ensure_ascii=False, default=str)
    return text[: InvalidRequest.BODY_KEPT]


async def record_invalid_request(
    request: Request, code: str, errors: list[str], body: Any
) -> Problem | None:
    """Record the unreadable request `request` (refused with problem `code` for `errors`), if
    it is a party's action on a dossier; the 403 to answer instead if the caller may not use the
    route at all. Never raises: the caller's answer does not depend on the recording."""
    route = request.scope.get("route")
    services = getattr(request.app.state, "services", None)
    if services is None:
        return None
    try:
        actor = await services.authenticator.authenticate(request.headers.get("Authorization"))
    except Exception:  # no valid token: nobody to hold to account
        actor = None
    if actor is not None and admin_only in {
        d.dependency for d in getattr(route, "dependencies", [])
    }:
        try:
            require_roles(actor, Role.ADMIN)
        except Problem as forbidden:
            return forbidden
    action = action_of(route)
    dossier = request.path_params.get("code")
    if request.method != "POST" or action is None or dossier is None:
        return None
    attempt = {"dossier": dossier, "action": action.value, "problem": code, "errors": errors}
    if actor is None:
        log.info("invalid_request_not_recorded", reason="unauthenticated", **attempt)
        return None
    try:
        async with services.sessions() as db:
            await admit_caller(request, actor, db, dossier)
    except Problem as refused:
        if refused.code == "forbidden":
            return refused
        log.info("invalid_request_not_recorded", reason=refused.code, **attempt)
        return None
    except Exception:
        log.exception("invalid_request_not_recorded", actor=actor.user_id, **attempt)
        return None
    await record_invalid_attempt(services, actor, dossier, action, code, errors, body)
    return None


async def record_invalid_attempt(
    services: Services,
    actor: Actor,
    dossier: str,
    action: Action,
    code: str,
    errors: list[str],
    body: Any,
) -> None:
    """Keep party `actor`'s unreadable attempt at `action` on `dossier` (refused with problem
    `code` for `errors`) in the dossier's timeline: by its workflow while it runs, here once it
    has ended. The API's requests and the pages' forms alike. Never raises."""
    attempt = {"dossier": dossier, "action": action.value, "problem": code, "errors": errors}
    invalid = InvalidRequest(
        actor=actor, action=action, code=code, errors=errors, body=_text_of(body)
    )
    try:
        try:
            handle = services.client.get_workflow_handle(workflow_id(dossier))
            await call(handle.signal("invalid_request_signal", invalid))
        except WorkflowGone:
            async with services.sessions() as db:
                await read_model.record_refusal_after_close(
                    db, dossier, datetime.now(UTC), actor.user_id, invalid_request_detail(invalid)
                )
    except LookupError:
        log.info("invalid_request_not_recorded", reason="unknown_dossier", **attempt)
    except Exception:
        log.exception("invalid_request_not_recorded", actor=actor.user_id, **attempt)
