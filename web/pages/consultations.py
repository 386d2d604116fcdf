"""The consulted agency's inbox (issue 9, "Consulted agency"): the consultations addressed to the
caller's agency, overdue first, each with what was asked, by whom (the lead agency and its
officer), the deadline and the reminders sent (R3), and a reply form; a tab for those answered.

The list is `service.inbox.consultations_for`, the function of `GET /api/v1/consultations`. The
reply form posts to the dossier page's contract (`web.pages.dossier_actions`), which decides and
records the reply as the API does. Its "cause of lateness" (R7) is shown and required when the
page is drawn after the deadline (the service's `overdue`); drawn before, it is there but
disabled and hidden, and web/static/reply.js brings it out at the deadline if the page stays
open. Without the script, a reply sent late without a cause is refused with R7's message and the
page, drawn again, asks for the cause."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, decode_cursor
from api.problems import Problem
from api.routes.inbox import CONSULTATIONS_CURSOR, cursor_of
from db import catalogue as catalogue_db
from domain import limits, rules
from domain.dossier import ConsultationStatus
from domain.refusals import Refusal
from service import inbox as service
from web.i18n import N_
from web.pages.dossier import CONSULTATION_STATUS_BADGES, refill_of
from web.render import render
from web.session import PageActor

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
STATES = get_args(service.ConsultationState)
TABS = (
    ("awaited", N_("Chờ trả lời")),
    ("answered", N_("Đã trả lời")),
    ("all", N_("Tất cả")),
)
AWAITED = (ConsultationStatus.AWAITING, ConsultationStatus.OVERDUE)


@router.get("/consultations")
async def consultations_page(
    request: Request,
    actor: PageActor,
    db: SessionDep,
    state: Annotated[str, Query(max_length=20)] = "awaited",
    agency: Annotated[str, Query(max_length=limits.CODE_MAX)] = "",
    cursor: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    if state not in STATES:
        raise Problem("validation_error", f"state: one of {', '.join(STATES)}, not {state!r}")
    filters = service.ConsultationFilters(
        agency=agency or None,
        state=state,
        limit=PAGE_SIZE,
        after=decode_cursor(cursor or None, CONSULTATIONS_CURSOR),
    )
    found = await service.consultations_for(db, actor, filters, now=datetime.now(UTC))
    # Past the service, the caller may read the list; its own agency's list gets reply forms.
    scope = rules.consultations_scope(actor, filters.agency)
    answers = not isinstance(scope, Refusal) and scope.agency == actor.agency
    copied = {cc for item in found.items for reminder in item.reminders for cc in reminder.cc}
    names = await catalogue_db.agency_names(db, copied)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    base = {"state": state, **({"agency": agency} if agency else {})}
    next_cursor = cursor_of(found.next_after)
    return render(
        request,
        "consultations.html",
        {
            "found": found,
            "state": state,
            "tabs": [
                (key, label, _address({**base, "state": key}), key == state) for key, label in TABS
            ],
            # what was typed in a refused reply, for its dossier's form (once)
            "refills": {
                item.dossier: refill_of(request, item.dossier)
                for item in found.items
                if item.status in AWAITED
            },
            "keys": {(i.dossier, i.number): str(uuid.uuid4()) for i in found.items},
            "badges": CONSULTATION_STATUS_BADGES,
            "agency_names": names,
            "return_to": here,
            "answers": answers,
            "reply_agency": actor.agency,
            "first_page": _address(base) if cursor else None,
            "next_page": _address({**base, "cursor": next_cursor}) if next_cursor else None,
        },
    )


def _address(query: dict[str, str]) -> str:
    return "/consultations?" + urlencode(query)
