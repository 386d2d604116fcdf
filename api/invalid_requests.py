"""Actions on a dossier whose request the API could not read (malformed JSON, or a body not of
the action's shape): the caller gets its 400 or 422 problem document, and the attempt is kept
in the dossier's timeline as a `refused` event all the same (R9, R12; "every refused action is
still recorded"), by the workflow while it runs (`invalid_request_signal`), by the API on a
dossier whose workflow has ended.

Recorded only for a caller with a valid token (an anonymous request is refused before anything
is read) and for a dossier the service knows; anything else is logged, never lost silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import Request

from api.routes.dossiers import ACTION_OF_ENDPOINT
from api.workflow_calls import WorkflowGone, call
from db import read_model
from domain.commands import InvalidRequest
from domain.dossier import invalid_request_detail
from workflows.starter import workflow_id

log = structlog.get_logger(__name__)


def _text_of(body: Any) -> str:
    if isinstance(body, bytes):
        text = body.decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, ensure_ascii=False, default=str)
    return text[: InvalidRequest.BODY_KEPT]


async def record_invalid_request(request: Request, code: str, errors: list[str], body: Any) -> None:
    """Record the unreadable request `request` (refused with problem `code` for `errors`), if
    it is a dossier action; never raises: the caller's answer does not depend on it."""
    action = ACTION_OF_ENDPOINT.get(getattr(request.scope.get("route"), "endpoint", None))
    dossier = request.path_params.get("code")
    services = getattr(request.app.state, "services", None)
    if request.method != "POST" or action is None or dossier is None or services is None:
        return
    attempt = {"dossier": dossier, "action": action.value, "problem": code, "errors": errors}
    try:
        actor = await services.authenticator.authenticate(request.headers.get("Authorization"))
    except Exception:  # no valid token: nobody to hold to account
        log.info("invalid_request_not_recorded", reason="unauthenticated", **attempt)
        return
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
