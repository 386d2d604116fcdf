"""The work lists of issue 9, for the API (`api.routes.inbox`) and the pages alike: the officers'
inbox of open dossiers by urgency, the consultations addressed to an agency, and the withdrawals
waiting for a head (R6).

Who may read which list is decided by `domain.rules` (`inbox_scope`, ...) here, once: a caller
outside it gets the rule's refusal as a `Problem` (403 `forbidden`), as `service.dossiers` does,
whether the API or a page asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from api.problems import Problem
from db import inbox as queries
from db.pages import Page, beyond
from domain import limits, rules
from domain.commands import Actor
from domain.dossier import ConsultationStatus, DossierStatus, Reminder
from domain.refusals import Refusal
from domain.urgency import Calendar, Urgency, UrgencyBounds, working_days_left_of

DEFAULT_LIMIT = 50
MAX_LIMIT = 500  # API.md: every list's `limit` is at most 500


def _scope(decision: rules.ListScope | Refusal) -> str | None:
    if isinstance(decision, Refusal):
        raise Problem.of_refusal(decision)
    return decision.agency


PageSize = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


# --- the officers' inbox ---------------------------------------------------------------------

# Where a page of the inbox ends: the last dossier's (due_at, code).
InboxPosition = tuple[datetime | None, str]


class InboxFilters(BaseModel):
    """What the officer asks for. `lead_agency` is for evaluators and inspectors, who read any
    agency's inbox; an agency's staff read their own (`rules.inbox_scope`)."""

    lead_agency: str | None = None
    q: limits.Name | None = None  # a part of the dossier code or of the applicant's name
    status: DossierStatus | None = None
    procedure_code: limits.Code | None = None
    urgency: Urgency | None = None
    # "Received here": instead of the dossiers the agency leads, those its one-stop desk
    # received for other lead agencies (Decree 118/2025), which it follows but does not act on.
    received_here: bool = False
    limit: int = PageSize
    after: InboxPosition | None = None


class InboxItem(BaseModel):
    code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    received_at: datetime
    due_at: datetime | None
    status: DossierStatus
    late: bool
    urgency: Urgency
    lead_agency: str
    # The one-stop desk that received it for its lead agency (Decree 118/2025); None when the
    # lead agency received it itself, as on the dossier.
    receiving_desk: str | None
    # Working days before the due date (positive) or past it (negative), 0 on the due day
    # (`domain.urgency.working_days_left`); None without a due date (awaiting a supplement).
    working_days_left: int | None


class UrgencyCounts(BaseModel):
    """The open dossiers of each group, for the same filters (whatever the `urgency` asked)."""

    late: int
    due_today: int
    due_soon: int
    in_time: int


class Inbox(BaseModel):
    counts: UrgencyCounts
    items: list[InboxItem]
    next_after: InboxPosition | None  # the position to ask the next page from; None: the last


async def officer_inbox(
    db: AsyncSession, actor: Actor, filters: InboxFilters, *, now: datetime, calendar: Calendar
) -> Inbox:
    """The open dossiers of the caller's agency, due first, with the count of each urgency; or,
    `received_here`, those its desk received for other lead agencies."""
    query = _inbox_query(actor, filters)
    bounds = UrgencyBounds.at(now, calendar)
    counts = await queries.urgency_counts(db, query, bounds)
    rows = await queries.inbox_page(
        db,
        query,
        bounds,
        urgency=filters.urgency,
        limit=beyond(filters.limit),
        after=filters.after,
    )
    page = Page.of(rows, filters.limit)
    dated = [row.due_at for row in page.rows if row.due_at is not None]
    left = iter(working_days_left_of(dated, now, calendar))
    return Inbox(
        counts=UrgencyCounts(**{u.value: n for u, n in counts.items()}),
        items=[
            InboxItem(
                code=row.code,
                procedure_code=row.procedure_code,
                procedure_name=row.procedure_name,
                applicant_name=str(row.applicant.get("name", "")),
                received_at=row.received_at,
                due_at=row.due_at,
                status=DossierStatus(row.status),
                late=row.late,
                urgency=bounds.urgency_of(row.due_at, row.late),
                lead_agency=row.lead_agency,
                receiving_desk=None
                if row.receiving_desk in (None, row.lead_agency)
                else row.receiving_desk,
                working_days_left=None if row.due_at is None else next(left),
            )
            for row in page.rows
        ],
        next_after=(last.due_at, last.code) if (last := page.last) else None,
    )


async def inbox_counts(
    db: AsyncSession, actor: Actor, filters: InboxFilters, *, now: datetime, calendar: Calendar
) -> UrgencyCounts:
    """The counts of `officer_inbox` alone, for the same filters: what the other list (the
    agency's own, or received here) holds, without reading a page of it."""
    counts = await queries.urgency_counts(
        db, _inbox_query(actor, filters), UrgencyBounds.at(now, calendar)
    )
    return UrgencyCounts(**{u.value: n for u, n in counts.items()})


def _inbox_query(actor: Actor, filters: InboxFilters) -> queries.InboxQuery:
    agency = _scope(rules.inbox_scope(actor, filters.lead_agency))
    return queries.InboxQuery(
        lead_agency=None if filters.received_here else agency,
        q=(filters.q or "").strip() or None,
        status=filters.status.value if filters.status else None,
        procedure_code=filters.procedure_code,
        received_at_desk=filters.received_here,
        receiving_desk=agency if filters.received_here else None,
    )


# --- the consultations addressed to an agency ------------------------------------------------

ConsultationState = Literal["awaited", "answered", "all"]
# Where a page ends: the list's part ("awaited" first, then the closed ones, which the cursors
# call "settled"), the last consultation's time in that part's order (deadline; requested_at),
# its dossier and number.
ConsultationPosition = tuple[Literal["awaited", "settled"], datetime, str, int]


class ConsultationFilters(BaseModel):
    """`state`: awaited (the default), answered, or all (the awaited, then every other one).
    `agency` is for evaluators and inspectors (`rules.consultations_scope`)."""

    agency: str | None = None
    state: ConsultationState = "awaited"
    limit: int = PageSize
    after: ConsultationPosition | None = None


class Person(BaseModel):
    user_id: str
    name: str | None  # as the token gave it when the person acted; None if the dossier lacks it


class ConsultationItem(BaseModel):
    dossier: str
    number: int
    procedure_code: str
    procedure_name: str
    lead_agency: str
    lead_agency_name: str | None
    content: str
    deadline: datetime
    requested_at: datetime
    requested_by: Person | None  # the lead agency's officer who asked
    status: ConsultationStatus  # awaiting or overdue as of now
    replied_at: datetime | None
    reminders: list[Reminder]  # R3: reminder 1, then 2 with Home Affairs in copy


class ConsultationInbox(BaseModel):
    items: list[ConsultationItem]
    next_after: ConsultationPosition | None


async def consultations_for(
    db: AsyncSession, actor: Actor, filters: ConsultationFilters, *, now: datetime
) -> ConsultationInbox:
    """The consultations addressed to the caller's agency: those awaiting its answer first,
    overdue ones first (by deadline); then, asked for, the answered (and cancelled) ones,
    newest request first."""
    agency = _scope(rules.consultations_scope(actor, filters.agency))
    wanted = beyond(filters.limit)
    after = filters.after
    rows: list[tuple[Literal["awaited", "settled"], queries.ConsultationRow]] = []
    if filters.state != "answered" and (after is None or after[0] == "awaited"):
        awaited = await queries.awaited_consultations(
            db, agency, limit=wanted, after=after[1:] if after else None
        )
        rows += [("awaited", row) for row in awaited]
        after = None
    if filters.state != "awaited" and len(rows) < wanted:
        closed = await queries.closed_consultations(
            db,
            agency,
            answered_only=filters.state == "answered",
            limit=wanted - len(rows),
            after=after[1:] if after else None,
        )
        rows += [("settled", row) for row in closed]
    page = Page.of(rows, filters.limit)
    return ConsultationInbox(
        items=[_consultation_item(row, now) for _, row in page.rows],
        next_after=_consultation_position(*last) if (last := page.last) else None,
    )


def _consultation_position(
    part: Literal["awaited", "settled"], row: queries.ConsultationRow
) -> ConsultationPosition:
    moment = row.deadline if part == "awaited" else row.requested_at
    return (part, moment, row.dossier, row.number)


def _consultation_item(row: queries.ConsultationRow, now: datetime) -> ConsultationItem:
    status = ConsultationStatus(row.status)
    if status in (ConsultationStatus.AWAITING, ConsultationStatus.OVERDUE):
        # The read model says overdue only once a projection after the deadline was written.
        overdue = row.deadline < now
        status = ConsultationStatus.OVERDUE if overdue else ConsultationStatus.AWAITING
    return ConsultationItem(
        dossier=row.dossier,
        number=row.number,
        procedure_code=row.procedure_code,
        procedure_name=row.procedure_name,
        lead_agency=row.lead_agency,
        lead_agency_name=row.lead_agency_name,
        content=row.content,
        deadline=row.deadline,
        requested_at=row.requested_at,
        requested_by=_person(row.requested_by, row.people),
        status=status,
        replied_at=row.replied_at,
        reminders=[Reminder.model_validate(r) for r in row.reminders],
    )


def _person(user_id: str | None, people: dict[str, str]) -> Person | None:
    return None if user_id is None else Person(user_id=user_id, name=people.get(user_id))


# --- the withdrawals waiting for a head (R6) -------------------------------------------------

# Where a page ends: the last withdrawal's request time and dossier code.
WithdrawalPosition = tuple[datetime, str]


class WithdrawalFilters(BaseModel):
    """`lead_agency` is for evaluators and inspectors (`rules.withdrawals_scope`)."""

    lead_agency: str | None = None
    limit: int = PageSize
    after: WithdrawalPosition | None = None


class WithdrawalItem(BaseModel):
    code: str
    procedure_code: str
    procedure_name: str
    lead_agency: str
    applicant_name: str
    requested_at: datetime
    requested_by: Person
    reason: str
    application_ref: str


class WithdrawalList(BaseModel):
    items: list[WithdrawalItem]
    next_after: WithdrawalPosition | None


async def withdrawals_awaiting(
    db: AsyncSession, actor: Actor, filters: WithdrawalFilters
) -> WithdrawalList:
    """The dossiers of the caller's agency whose withdrawal waits for the head's signed
    confirmation (R6), oldest request first."""
    lead_agency = _scope(rules.withdrawals_scope(actor, filters.lead_agency))
    rows = await queries.pending_withdrawals(
        db, lead_agency, limit=beyond(filters.limit), after=filters.after
    )
    page = Page.of(rows, filters.limit)
    return WithdrawalList(
        items=[
            WithdrawalItem(
                code=row.code,
                procedure_code=row.procedure_code,
                procedure_name=row.procedure_name,
                lead_agency=row.lead_agency,
                applicant_name=str(row.applicant.get("name", "")),
                requested_at=row.requested_at,
                requested_by=Person(
                    user_id=row.requested_by, name=row.people.get(row.requested_by)
                ),
                reason=str(row.detail.get("reason", "")),
                application_ref=str(row.detail.get("application_ref", "")),
            )
            for row in page.rows
        ],
        next_after=(last.requested_at, last.code) if (last := page.last) else None,
    )
