"""The work lists of issue 9 (`service.inbox`), as JSON: the officers' inbox by urgency, the
consultations addressed to an agency, the withdrawals waiting for a head (R6). Thin: who may
read them and what they hold is the service's; these translate the query string and the cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, StrictInt, StrictStr

from api.deps import (
    ActorDep,
    Cursor,
    Limit,
    ServicesDep,
    SessionDep,
    decode_cursor,
    encode_cursor,
)
from domain import limits
from domain.dossier import DossierStatus
from domain.urgency import Urgency
from service import inbox as service

router = APIRouter(prefix="/api/v1", tags=["work lists"])

# What each list's `next_cursor` holds (`decode_cursor` checks a cursor against it); the pages'
# next-page links carry the same cursors.
INBOX_CURSOR = tuple[AwareDatetime | None, StrictStr]
CONSULTATIONS_CURSOR = tuple[Literal["awaited", "settled"], AwareDatetime, StrictStr, StrictInt]
WITHDRAWALS_CURSOR = tuple[AwareDatetime, StrictStr]

AgencyCode = Annotated[
    str | None,
    Query(max_length=limits.CODE_MAX, description="evaluators and inspectors: whose list"),
]


class InboxPage(BaseModel):
    counts: service.UrgencyCounts
    items: list[service.InboxItem]
    next_cursor: str | None


@router.get("/inbox")
async def officer_inbox(
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    q: Annotated[
        str | None,
        Query(
            max_length=limits.NAME_MAX,
            description="a part of the dossier code, or of the applicant's name (case and "
            "diacritics ignored: `le van` finds Lê Văn)",
        ),
    ] = None,
    status: DossierStatus | None = None,
    procedure_code: Annotated[str | None, Query(max_length=limits.CODE_MAX)] = None,
    urgency: Urgency | None = None,
    lead_agency: AgencyCode = None,
    received_here: Annotated[
        bool,
        Query(
            description="instead of the dossiers the agency leads, those its one-stop desk "
            "received for other lead agencies (Decree 118/2025: receipt at any desk)"
        ),
    ] = False,
    limit: Limit = service.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> InboxPage:
    """The open dossiers the caller's agency leads (officers, heads), due first, each with its
    urgency (`late`, `due_today`, `due_soon`: within the next two working days, `in_time`) and
    working days left; `counts` has each urgency's number for the same filters."""
    filters = service.InboxFilters(
        lead_agency=lead_agency,
        q=q,
        status=status,
        procedure_code=procedure_code,
        urgency=urgency,
        received_here=received_here,
        limit=limit,
        after=decode_cursor(cursor, INBOX_CURSOR),
    )
    inbox = await service.officer_inbox(
        db, actor, filters, now=datetime.now(UTC), calendar=services.calendar.calendar()
    )
    return InboxPage(
        counts=inbox.counts, items=inbox.items, next_cursor=cursor_of(inbox.next_after)
    )


class ConsultationPage(BaseModel):
    items: list[service.ConsultationItem]
    next_cursor: str | None


@router.get("/consultations")
async def consultations(
    actor: ActorDep,
    db: SessionDep,
    state: service.ConsultationState = "awaited",
    agency: AgencyCode = None,
    limit: Limit = service.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ConsultationPage:
    """The consultations addressed to the caller's agency (officers, heads): those awaiting its
    answer, overdue first (deadline ascending); with `state=answered` the answered ones, with
    `state=all` the awaited then every other one, newest request first."""
    after = decode_cursor(cursor, CONSULTATIONS_CURSOR)
    filters = service.ConsultationFilters(agency=agency, state=state, limit=limit, after=after)
    found = await service.consultations_for(db, actor, filters, now=datetime.now(UTC))
    return ConsultationPage(items=found.items, next_cursor=cursor_of(found.next_after))


class WithdrawalPage(BaseModel):
    items: list[service.WithdrawalItem]
    next_cursor: str | None


@router.get("/withdrawals")
async def withdrawals(
    actor: ActorDep,
    db: SessionDep,
    lead_agency: AgencyCode = None,
    limit: Limit = service.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> WithdrawalPage:
    """The dossiers of the caller's agency whose withdrawal waits for the head's signed
    confirmation (R6: heads), oldest request first, with who asked, when and why."""
    filters = service.WithdrawalFilters(
        lead_agency=lead_agency,
        limit=limit,
        after=decode_cursor(cursor, WITHDRAWALS_CURSOR),
    )
    found = await service.withdrawals_awaiting(db, actor, filters)
    return WithdrawalPage(items=found.items, next_cursor=cursor_of(found.next_after))


def cursor_of(position: tuple[object, ...] | None) -> str | None:
    """The `next_cursor` of a list's `next_after` position (None: the last page)."""
    if position is None:
        return None
    return encode_cursor([v.isoformat() if isinstance(v, datetime) else v for v in position])
