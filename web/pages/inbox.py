"""The officers' inbox (issue 9, "Lead department officer"): the open dossiers of the caller's
agency, grouped by urgency the way one-stop officers work (Quá hạn, Đến hạn hôm nay, Sắp đến
hạn, Trong hạn) with each group's count, searched by code or applicant and filtered by status
and procedure, due first, a page at a time. A one-stop desk switches to the dossiers it
received for other lead agencies ("Hồ sơ tiếp nhận tại đây", Decree 118/2025), each naming its
lead agency.

Who reads it, what it holds and in which order is `service.inbox.officer_inbox`, the very
function of `GET /api/v1/inbox`; the page reads its query string (a GET form, so it works
without JavaScript, and htmx only refreshes the list as one types) and carries the API's
cursor in its next-page link."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import ServicesDep, SessionDep, decode_cursor
from api.problems import Problem, problem_of_errors
from api.routes.inbox import INBOX_CURSOR, cursor_of
from db import catalogue as catalogue_db
from domain import limits, rules
from domain.catalogue import is_one_stop_desk
from domain.dossier import FINAL_STATUSES, STATUS_LABELS_VI, DossierStatus
from domain.refusals import Refusal
from domain.urgency import Urgency
from service import inbox as service
from web.assets import vendor_url
from web.i18n import N_
from web.pages.dossier import URGENCY_WORDS
from web.render import render
from web.session import PageActor

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
PROCEDURES_LISTED = 500  # the catalogue's procedures (Đồng Nai's one-stop lists a few hundred)
OPEN_STATUSES = [s for s in DossierStatus if s not in FINAL_STATUSES]

E = TypeVar("E", bound=StrEnum)
Text = Annotated[str, Query(max_length=limits.NAME_MAX)]
CursorText = Annotated[str, Query(max_length=600)]


def chosen(kind: type[E], value: str, field: str) -> E | None:
    """A select's value: empty is "any"; anything else not of `kind` is the API's 422."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise Problem("validation_error", f"{field}: no such value {value!r}") from None


@router.get("/inbox")
async def inbox_page(
    request: Request,
    actor: PageActor,
    services: ServicesDep,
    db: SessionDep,
    q: Text = "",
    status: Text = "",
    procedure_code: Text = "",
    urgency: Text = "",
    lead_agency: Text = "",
    received_here: bool = False,
    cursor: CursorText = "",
) -> Response:
    asked = {
        "q": q.strip(),
        "status": status,
        "procedure_code": procedure_code,
        "lead_agency": lead_agency,
    }
    try:
        filters = service.InboxFilters(
            lead_agency=lead_agency or None,
            q=asked["q"] or None,
            status=chosen(DossierStatus, status, "status"),
            procedure_code=procedure_code or None,
            urgency=chosen(Urgency, urgency, "urgency"),
            received_here=received_here,
            limit=PAGE_SIZE,
            after=decode_cursor(cursor or None, INBOX_CURSOR),
        )
    except ValidationError as invalid:
        located = [{**e, "loc": ("query", *e["loc"])} for e in invalid.errors()]
        raise problem_of_errors(located)[0] from None
    now, calendar = datetime.now(UTC), services.calendar.calendar()
    inbox = await service.officer_inbox(db, actor, filters, now=now, calendar=calendar)
    # Past the service, the caller may read the list: its scope names the agency (None: all).
    scope = rules.inbox_scope(actor, filters.lead_agency)
    agency = None if isinstance(scope, Refusal) else scope.agency
    # A one-stop desk also follows what it received for other lead agencies (Decree 118/2025):
    # the other list's count, for the same search, beside the switch to it.
    record = await catalogue_db.get_agency(db, agency) if agency else None
    desk = record is not None and is_one_stop_desk(record)
    other = None
    if desk or received_here:
        other_filters = filters.model_copy(update={"received_here": not received_here})
        other = await service.inbox_counts(db, actor, other_filters, now=now, calendar=calendar)
    procedures = await catalogue_db.list_procedures(db, limit=PROCEDURES_LISTED)
    own_only = agency is not None and not received_here
    choices = [(p.code, p.name) for p in procedures if not own_only or p.lead_agency == agency]
    if procedure_code and procedure_code not in {code for code, _ in choices}:
        choices.append((procedure_code, procedure_code))  # a code typed in the address: kept
    kept = {name: value for name, value in asked.items() if value}
    here = {"received_here": "true"} if received_here else {}

    def address(**changed: str) -> str:
        query = {**kept, **here, **({"urgency": urgency} if urgency else {}), **changed}
        return "/inbox?" + urlencode({k: v for k, v in query.items() if v})

    counts = inbox.counts.model_dump()
    total = sum(counts.values())
    tabs: list[dict[str, Any]] = [
        {
            "key": "",
            "label": N_("Tất cả"),
            "count": total,
            "href": address(urgency="") + "#inbox-results",
            "current": not urgency,
        }
    ]
    tabs += [
        {
            "key": group.value,
            "label": URGENCY_WORDS[group.value],
            "count": counts[group.value],
            "href": address(urgency=group.value) + "#inbox-results",
            "current": urgency == group.value,
        }
        for group in Urgency
    ]
    views: list[dict[str, Any]] = []
    if other is not None:
        other_total = sum(other.model_dump().values())
        own, received = (other_total, total) if received_here else (total, other_total)
        views = [
            {
                "label": N_("Hồ sơ đơn vị chủ trì"),
                "count": own,
                "href": address(received_here="", urgency="", cursor=""),
                "current": not received_here,
            },
            {
                "label": N_("Hồ sơ tiếp nhận tại đây"),
                "count": received,
                "href": address(received_here="true", urgency="", cursor=""),
                "current": received_here,
            },
        ]
    shown = {c for item in inbox.items for c in (item.lead_agency, item.receiving_desk) if c}
    next_cursor = cursor_of(inbox.next_after)
    return render(
        request,
        "inbox.html",
        {
            "inbox": inbox,
            "asked": asked,
            "tabs": tabs,
            "urgency": urgency,
            "received_here": received_here,
            "views": views,
            "agency": agency,
            "agency_names": await catalogue_db.agency_names(db, shown),
            "urgency_words": URGENCY_WORDS,
            "status_labels": STATUS_LABELS_VI,
            "statuses": [(s.value, STATUS_LABELS_VI[s]) for s in OPEN_STATUSES],
            "procedures": choices,
            "first_page": address() if cursor else None,
            "next_page": address(cursor=next_cursor) if next_cursor else None,
            "htmx": vendor_url(request.app, "htmx.min.js"),
        },
    )
