"""The withdrawals waiting for a head (issue 9, "Head of unit", R6): the dossiers of the caller's
agency whose applicant asked to withdraw them, oldest request first, each with the request (when,
through whom, why, the application's reference) and the confirmation form, which takes the
signed document's reference.

The list is `service.inbox.withdrawals_awaiting`, the function of `GET /api/v1/withdrawals`
(heads only: anyone else gets its 403 as a page); the form posts to the dossier page's contract
(`web.pages.dossier_actions`), which confirms as the API does."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, decode_cursor
from api.routes.inbox import WITHDRAWALS_CURSOR, cursor_of
from domain import limits, rules
from domain.refusals import Refusal
from service import inbox as service
from web.pages.dossier import refill_of
from web.render import render
from web.session import PageActor

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30


@router.get("/withdrawals")
async def withdrawals_page(
    request: Request,
    actor: PageActor,
    db: SessionDep,
    lead_agency: Annotated[str, Query(max_length=limits.CODE_MAX)] = "",
    cursor: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    filters = service.WithdrawalFilters(
        lead_agency=lead_agency or None,
        limit=PAGE_SIZE,
        after=decode_cursor(cursor or None, WITHDRAWALS_CURSOR),
    )
    found = await service.withdrawals_awaiting(db, actor, filters)
    # Past the service, the caller may read the list; his own agency's gets the forms (R6).
    scope = rules.withdrawals_scope(actor, filters.lead_agency)
    confirms = not isinstance(scope, Refusal) and scope.agency == actor.agency
    base = {"lead_agency": lead_agency} if lead_agency else {}
    next_cursor = cursor_of(found.next_after)
    return render(
        request,
        "withdrawals.html",
        {
            "found": found,
            "confirms": confirms,
            "refills": {item.code: refill_of(request, item.code) for item in found.items},
            "keys": {item.code: str(uuid.uuid4()) for item in found.items},
            "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "first_page": "/withdrawals?" + urlencode(base) if cursor else None,
            "next_page": "/withdrawals?" + urlencode({**base, "cursor": next_cursor})
            if next_cursor
            else None,
        },
    )
