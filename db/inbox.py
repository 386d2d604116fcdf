"""The work lists of the people who do the work (issue 9), on the read model: an agency's open
dossiers by urgency (the officers' inbox), the consultations addressed to an agency, and the
withdrawals waiting for a head (R6). Each list is a keyset page over one partial index of
migration 0008, so it stays fast over a read model of closed dossiers.

Who may read which list is decided by `domain.rules` and the service (`service.inbox`); these
functions take the scope they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AgencyRecord, ConsultationRecord, DossierRecord, EventRecord
from db.read_model import search_key
from db.types import UTCDateTime
from domain.dossier import ConsultationStatus
from domain.urgency import Urgency, UrgencyBounds

D = DossierRecord
C = ConsultationRecord
E = EventRecord

AWAITED = (ConsultationStatus.AWAITING.value, ConsultationStatus.OVERDUE.value)
ANSWERED = (ConsultationStatus.ANSWERED.value, ConsultationStatus.ANSWERED_LATE.value)
PENDING_CONFIRMATION = "pending_confirmation"


def _inline(*values: str) -> list[Any]:
    """`values` written into the SQL rather than bound: a partial index's condition (migration
    0008) serves a query only if the query states it in the same words, which SQLite cannot
    see through a parameter (nor PostgreSQL through a generic plan)."""
    return [literal(value, literal_execute=True) for value in values]


# --- the officers' inbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's filters, combined with AND. `lead_agency` None: every agency's dossiers."""

    lead_agency: str | None
    q: str | None = None  # a part of the dossier code, or of the applicant's name
    status: str | None = None
    procedure_code: str | None = None
    # Those a one-stop desk received for another lead agency (Decree 118/2025): at desk
    # `receiving_desk`, or at any desk when None.
    received_at_desk: bool = False
    receiving_desk: str | None = None


def _open() -> ColumnElement[bool]:
    # Written as migration 0008's partial indexes say it, so both databases use them.
    return col(D.closed_at).is_(None)


def _late(bounds: UrgencyBounds) -> ColumnElement[bool]:
    """`UrgencyBounds.urgency_of` is LATE: marked late, or past its due time."""
    return or_(col(D.late).is_(True), col(D.due_at) < bounds.now)


def urgency_condition(urgency: Urgency, bounds: UrgencyBounds) -> ColumnElement[bool]:
    """SQL: the dossier is in group `urgency` at `bounds.now`, as `UrgencyBounds.urgency_of`
    decides it (a NULL due date is in time unless marked late)."""
    due, not_late = col(D.due_at), col(D.late).is_(False)
    if urgency is Urgency.LATE:
        return _late(bounds)
    if urgency is Urgency.DUE_TODAY:
        return and_(not_late, due >= bounds.now, due < bounds.today_ends)
    if urgency is Urgency.DUE_SOON:
        return and_(not_late, due >= bounds.today_ends, due < bounds.soon_ends)
    return and_(not_late, or_(due.is_(None), due >= bounds.soon_ends))


def _position(values: tuple[Any, ...]) -> Any:
    """A keyset position as SQL values: its times as `UTCDateTime` binds, stored alike."""
    return tuple_(
        *(literal(v, UTCDateTime()) if isinstance(v, datetime) else literal(v) for v in values)
    )


def _select_as(row: type, columns: dict[str, Any]) -> Select[Any]:
    """SELECT `columns`, each labelled with its field of the dataclass `row`, in its order."""
    assert list(columns) == [f.name for f in fields(row)], f"columns of {row.__name__}"
    return select(*(column.label(name) for name, column in columns.items()))


async def _rows(session: AsyncSession, query: Select[Any]) -> Sequence[Row[Any]]:
    """Run a Core query in the session's transaction: rows of values, not objects."""
    return (await (await session.connection()).execute(query)).all()


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select[Any], filters: InboxQuery) -> Select[Any]:
    query = query.where(_open())
    if filters.lead_agency is not None:
        query = query.where(col(D.lead_agency) == filters.lead_agency)
    if filters.received_at_desk:
        query = query.where(col(D.receiving_desk) != col(D.lead_agency))
        if filters.receiving_desk is not None:
            query = query.where(col(D.receiving_desk) == filters.receiving_desk)
    if filters.status is not None:
        query = query.where(col(D.status) == filters.status)
    if filters.procedure_code is not None:
        query = query.where(col(D.procedure_code) == filters.procedure_code)
    if filters.q:
        # Codes are ASCII (db.dossier_codes), so lower() folds them on both databases; names
        # are compared folded (`search_key`). A part of the code, not only its start: every
        # code of a unit starts alike, officers type the date and number.
        code_part = f"%{_like_escaped(filters.q.strip().lower())}%"
        name_part = f"%{_like_escaped(search_key(filters.q))}%"
        query = query.where(
            or_(
                func.lower(col(D.code)).like(code_part, escape="\\"),
                col(D.applicant_search).like(name_part, escape="\\"),
            )
        )
    return query


async def urgency_counts(
    session: AsyncSession, filters: InboxQuery, bounds: UrgencyBounds
) -> dict[Urgency, int]:
    """How many open dossiers of each group match `filters`, in one pass over them."""
    group = case(
        (_late(bounds), literal(Urgency.LATE.value)),
        (col(D.due_at) < bounds.today_ends, literal(Urgency.DUE_TODAY.value)),
        (col(D.due_at) < bounds.soon_ends, literal(Urgency.DUE_SOON.value)),
        else_=literal(Urgency.IN_TIME.value),
    )
    sums = [
        func.coalesce(func.sum(case((group == urgency.value, 1), else_=0)), 0).label(urgency)
        for urgency in Urgency
    ]
    row = (await _rows(session, _filtered(select(*sums), filters)))[0]
    return {urgency: int(row[i]) for i, urgency in enumerate(Urgency)}


@dataclass(frozen=True)
class InboxRow:
    code: str
    procedure_code: str
    procedure_name: str
    applicant: dict[str, Any]
    received_at: datetime
    due_at: datetime | None
    status: str
    late: bool
    lead_agency: str
    receiving_desk: str | None  # the lead agency when it received the dossier itself


_INBOX_COLUMNS = {
    "code": col(D.code),
    "procedure_code": col(D.procedure_code),
    "procedure_name": col(D.procedure_name),
    "applicant": col(D.applicant),
    "received_at": col(D.received_at),
    "due_at": col(D.due_at),
    "status": col(D.status),
    "late": col(D.late),
    "lead_agency": col(D.lead_agency),
    "receiving_desk": col(D.receiving_desk),
}


async def inbox_page(
    session: AsyncSession,
    filters: InboxQuery,
    bounds: UrgencyBounds,
    *,
    urgency: Urgency | None = None,
    limit: int,
    after: tuple[datetime | None, str] | None = None,
) -> list[InboxRow]:
    """Open dossiers matching `filters` (and in group `urgency`), due first: by `due_at`, then
    `code`; those without a due date last, by code. At most `limit`, after the (due_at, code)
    of the previous page's last row: a keyset on the partial index of the open dossiers."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    base = _filtered(_select_as(InboxRow, _INBOX_COLUMNS), filters)
    if urgency is not None:
        base = base.where(urgency_condition(urgency, bounds))
    due, code = col(D.due_at), col(D.code)
    rows: list[Row[Any]] = []
    # Two ranges rather than NULLS LAST, which SQLite's index order (NULLs first) cannot serve.
    if after is None or after[0] is not None:
        dated = base.where(due.is_not(None))
        if after is not None:
            dated = dated.where(tuple_(due, code) > _position(after))
        rows += await _rows(session, dated.order_by(due, code).limit(limit))
    if len(rows) < limit:
        undated = base.where(due.is_(None))
        if after is not None and after[0] is None:
            undated = undated.where(code > after[1])
        rows += await _rows(session, undated.order_by(code).limit(limit - len(rows)))
    return [InboxRow(**row._asdict()) for row in rows]


# --- the consultations addressed to an agency ------------------------------------------------


@dataclass(frozen=True)
class ConsultationRow:
    dossier: str
    number: int
    procedure_code: str
    procedure_name: str
    lead_agency: str
    lead_agency_name: str | None
    content: str
    deadline: datetime
    requested_at: datetime
    requested_by: str | None  # the user id of the `consultation_requested` event
    people: dict[str, str]  # the dossier's names by user id
    status: str
    replied_at: datetime | None
    reminders: list[dict[str, Any]]


def _consultation_query(agency: str | None) -> Select[Any]:
    requested_by = (
        select(col(E.actor))
        .where(
            col(E.dossier) == col(C.dossier),
            col(E.kind) == "consultation_requested",
            col(E.at) == col(C.requested_at),  # the event and the consultation share the time
        )
        .limit(1)
        .scalar_subquery()
    )
    query = (
        _select_as(
            ConsultationRow,
            {
                "dossier": col(C.dossier),
                "number": col(C.number),
                "procedure_code": col(D.procedure_code),
                "procedure_name": col(D.procedure_name),
                "lead_agency": col(D.lead_agency),
                "lead_agency_name": col(AgencyRecord.name),
                "content": col(C.content),
                "deadline": col(C.deadline),
                "requested_at": col(C.requested_at),
                "requested_by": requested_by,
                "people": col(D.people),
                "status": col(C.status),
                "replied_at": col(C.replied_at),
                "reminders": col(C.reminders),
            },
        )
        .join(D, col(D.code) == col(C.dossier))
        .outerjoin(AgencyRecord, col(AgencyRecord.code) == col(D.lead_agency))
    )
    if agency is not None:
        query = query.where(col(C.agency) == agency)
    return query


async def awaited_consultations(
    session: AsyncSession,
    agency: str | None,
    *,
    limit: int,
    after: tuple[datetime, str, int] | None = None,
) -> list[ConsultationRow]:
    """The consultations addressed to `agency` (None: every agency) that await its answer, on
    open dossiers, by deadline (so the overdue ones first), then dossier and number; at most
    `limit` after the (deadline, dossier, number) of the previous page's last one."""
    query = _consultation_query(agency).where(col(C.status).in_(_inline(*AWAITED)), _open())
    if after is not None:
        query = query.where(
            tuple_(col(C.deadline), col(C.dossier), col(C.number)) > _position(after)
        )
    order = (col(C.deadline), col(C.dossier), col(C.number))
    rows = await _rows(session, query.order_by(*order).limit(limit))
    return [ConsultationRow(**row._asdict()) for row in rows]


async def closed_consultations(
    session: AsyncSession,
    agency: str | None,
    *,
    answered_only: bool,
    limit: int,
    after: tuple[datetime, str, int] | None = None,
) -> list[ConsultationRow]:
    """The consultations addressed to `agency` that are closed, awaiting nothing: answered (on
    time or late) and, unless `answered_only`, cancelled or left awaiting on a dossier closed
    from outside (R5); newest request first, then dossier and number descending; at most
    `limit` after the (requested_at, dossier, number) of the previous page's last one."""
    query = _consultation_query(agency)
    if answered_only:
        query = query.where(col(C.status).in_(ANSWERED))
    else:
        query = query.where(or_(col(C.status).not_in(AWAITED), col(D.closed_at).is_not(None)))
    if after is not None:
        query = query.where(
            tuple_(col(C.requested_at), col(C.dossier), col(C.number)) < _position(after)
        )
    order = (col(C.requested_at).desc(), col(C.dossier).desc(), col(C.number).desc())
    rows = await _rows(session, query.order_by(*order).limit(limit))
    return [ConsultationRow(**row._asdict()) for row in rows]


# --- the withdrawals waiting for a head (R6) -------------------------------------------------


@dataclass(frozen=True)
class WithdrawalRow:
    code: str
    procedure_code: str
    procedure_name: str
    lead_agency: str
    applicant: dict[str, Any]
    people: dict[str, str]
    requested_at: datetime
    requested_by: str
    detail: dict[str, Any]  # the `withdrawal` event's: reason, application_ref


async def pending_withdrawals(
    session: AsyncSession,
    lead_agency: str | None,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[WithdrawalRow]:
    """The dossiers of `lead_agency` (None: every agency) whose withdrawal waits for the head's
    confirmation, with their latest `withdrawal` event; oldest request first, then by code; at
    most `limit` after the (requested_at, code) of the previous page's last one."""
    earlier = aliased(EventRecord)
    latest = (
        select(func.max(col(earlier.seq)))
        .where(col(earlier.dossier) == col(D.code), col(earlier.kind) == "withdrawal")
        .correlate(D)
        .scalar_subquery()
    )
    query = (
        _select_as(
            WithdrawalRow,
            {
                "code": col(D.code),
                "procedure_code": col(D.procedure_code),
                "procedure_name": col(D.procedure_name),
                "lead_agency": col(D.lead_agency),
                "applicant": col(D.applicant),
                "people": col(D.people),
                "requested_at": col(E.at),
                "requested_by": col(E.actor),
                "detail": col(E.detail),
            },
        )
        .join(E, and_(col(E.dossier) == col(D.code), col(E.seq) == latest))
        .where(col(D.withdrawal) == _inline(PENDING_CONFIRMATION)[0])
    )
    if lead_agency is not None:
        query = query.where(col(D.lead_agency) == lead_agency)
    if after is not None:
        query = query.where(tuple_(col(E.at), col(D.code)) > _position(after))
    rows = await _rows(session, query.order_by(col(E.at), col(D.code)).limit(limit))
    return [WithdrawalRow(**row._asdict()) for row in rows]
