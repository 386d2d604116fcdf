"""Queries on the read model of dossiers, for the API: one dossier with its consultations and
timeline, filtered lists by keyset, the citizens' look-up, and the one write the API makes
itself (a refused attempt on a dossier whose workflow has ended, R9, R12) or the sweep of ended
runs makes (the abnormal close of a workflow terminated from outside, R5).

The rows are written by `db.projection` as the workflows project them; while a dossier's
workflow runs it remains the source of truth, and these rows follow it within the handler that
changed it (the workflow awaits the projection before answering).

Every read refreshes the objects it returns from the database (`populate_existing`), so a
session that read a dossier before a projection changed it never answers from its stale copy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, not_, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import ConsultationRecord, DossierRecord, EventRecord
from db.report_totals import count_changes
from domain.commands import SYSTEM
from domain.dossier import FINAL_STATUSES, abnormal_close_detail
from domain.rules import Parties

REFUSED = "refused"  # the `kind` of a refused attempt's event, as the workflow writes it

# Attempts at the next seq of a timeline before giving up: each lost race means another writer
# appended meanwhile, which on a closed dossier is rare.
_SEQ_ATTEMPTS = 10

_FRESH = {"populate_existing": True}


def compact_phone(phone: str | None) -> str | None:
    """A phone number as stored and compared for the citizens' look-up: without any whitespace
    (`0913 456 789` is `0913456789`); None when nothing is left."""
    compact = "".join((phone or "").split())
    return compact or None


def search_key(text: str) -> str:
    """`text` as the inbox's search compares it: lower case, without diacritics (đ is d), spaces
    collapsed. So `Lê Văn Cường`, `LÊ VĂN CƯỜNG` and `le van cuong` are all `le van cuong`:
    officers type names with and without accents."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


DossierTimeline = tuple[DossierRecord, list[ConsultationRecord], list[EventRecord]]


async def get_dossier(session: AsyncSession, code: str) -> DossierTimeline | None:
    """Dossier `code`, its consultations by number and its events by seq; None if unknown."""
    dossier = await session.get(DossierRecord, code, populate_existing=True)
    if dossier is None:
        return None
    return (await with_timelines(session, [dossier]))[0]


async def with_timelines(
    session: AsyncSession, dossiers: Sequence[DossierRecord]
) -> list[DossierTimeline]:
    """`dossiers` in their order, each with its consultations by number and its events by seq.

    Two statements whatever the number of dossiers (`WHERE dossier IN (…)`, on the primary keys
    of both tables), assembled here: a page of 200 dossiers is three statements with the page's
    own, not one per dossier and table.
    """
    codes = [dossier.code for dossier in dossiers]
    if not codes:
        return []
    consultations: dict[str, list[ConsultationRecord]] = {code: [] for code in codes}
    for consultation in await session.exec(
        select(ConsultationRecord)
        .where(col(ConsultationRecord.dossier).in_(codes))
        .order_by(col(ConsultationRecord.dossier), col(ConsultationRecord.number))
        .execution_options(**_FRESH)
    ):
        consultations[consultation.dossier].append(consultation)
    events: dict[str, list[EventRecord]] = {code: [] for code in codes}
    for event in await session.exec(
        select(EventRecord)
        .where(col(EventRecord.dossier).in_(codes))
        .order_by(col(EventRecord.dossier), col(EventRecord.seq))
        .execution_options(**_FRESH)
    ):
        events[event.dossier].append(event)
    return [(d, consultations[d.code], events[d.code]) for d in dossiers]


async def parties(session: AsyncSession, code: str) -> Parties | None:
    """The agencies with a part in dossier `code` (its lead agency, every agency it consulted,
    the desk that received it if another), in one statement over two index look-ups (it runs
    before every action), without loading the dossier; None if the read model has no such
    dossier."""
    connection = await session.connection()
    rows = (await connection.execute(_parties_statement(), {"code": code})).all()
    if not rows:
        return None
    lead_agency, desk, _ = rows[0]
    consulted = frozenset(agency for _, _, agency in rows if agency is not None)
    return Parties(lead_agency, consulted, None if desk == lead_agency else desk)


@cache
def _parties_statement() -> Select[Any]:
    """`parties`' statement, built once with the code left to a parameter, and run in Core:
    no ORM result for three plain columns, before every action."""
    dossiers = DossierRecord.__table__  # type: ignore[attr-defined]
    consultations = ConsultationRecord.__table__  # type: ignore[attr-defined]
    return (
        core_select(dossiers.c.lead_agency, dossiers.c.receiving_desk, consultations.c.agency)
        .select_from(dossiers.outerjoin(consultations, consultations.c.dossier == dossiers.c.code))
        .where(dossiers.c.code == bindparam("code"))
    )


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """SQL: the dossier is overdue at `now`: not closed (completed, returned, withdrawn) and
    marked late or past its due date. Never NULL: a dossier without a due date (its clock
    suspended for a supplement) is overdue only if already marked late."""
    return and_(
        col(DossierRecord.status).not_in([s.value for s in FINAL_STATUSES]),
        or_(
            col(DossierRecord.late).is_(True),
            and_(col(DossierRecord.due_at).is_not(None), col(DossierRecord.due_at) < now),
        ),
    )


async def list_dossiers(
    session: AsyncSession,
    *,
    status: str | None = None,
    lead_agency: str | None = None,
    overdue: bool | None = None,
    visible_to_agency: str | None = None,
    now: datetime,
    limit: int = 50,
    after: tuple[datetime, str] | None = None,
) -> list[DossierRecord]:
    """Dossiers newest received first (then by code, descending), at most `limit`.

    Filters combine with AND. `overdue=True` keeps those overdue at `now` (`overdue_condition`),
    `False` the others. `visible_to_agency` keeps the dossiers that agency leads or was consulted
    on (API.md: callers see what concerns their agency). `after` is the (received_at, code) of
    the previous page's last dossier: a keyset, so a page never repeats or skips a dossier
    because others were received meanwhile, as OFFSET would.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    query = (
        select(DossierRecord)
        .order_by(col(DossierRecord.received_at).desc(), col(DossierRecord.code).desc())
        .limit(limit)
        .execution_options(**_FRESH)
    )
    if status is not None:
        query = query.where(DossierRecord.status == status)
    if lead_agency is not None:
        query = query.where(DossierRecord.lead_agency == lead_agency)
    if overdue is not None:
        condition = overdue_condition(now)
        query = query.where(condition if overdue else not_(condition))
    if visible_to_agency is not None:
        # Not sargable (an OR with a consultation): both databases walk ix_dossiers_received_at_code
        # newest first until the page is full, quick for an agency with a part in many dossiers,
        # the whole index for one with a part in few (docs/reads.md).
        consulted = exists().where(
            col(ConsultationRecord.dossier) == col(DossierRecord.code),
            col(ConsultationRecord.agency) == visible_to_agency,
        )
        query = query.where(or_(col(DossierRecord.lead_agency) == visible_to_agency, consulted))
    if after is not None:
        received_at, code = after
        query = query.where(
            or_(
                col(DossierRecord.received_at) < received_at,
                and_(col(DossierRecord.received_at) == received_at, col(DossierRecord.code) < code),
            )
        )
    return list((await session.exec(query)).all())


async def find_for_public(
    session: AsyncSession, code: str, phone: str | None
) -> DossierRecord | None:
    """Dossier `code` if `phone` is its applicant's (compared without whitespace), else None.

    A wrong or empty phone answers exactly as an unknown code does, so the look-up tells a
    stranger nothing about which codes exist.
    """
    compact = compact_phone(phone)
    if compact is None:
        return None
    query = (
        select(DossierRecord)
        .where(DossierRecord.code == code, DossierRecord.applicant_phone == compact)
        .execution_options(**_FRESH)
    )
    return (await session.exec(query)).first()


async def events_of_kinds(
    session: AsyncSession, code: str, kinds: frozenset[str]
) -> list[EventRecord]:
    """The events of dossier `code` whose kind is one of `kinds`, by seq: a timeline for readers
    who may see only some kinds (the citizens' look-up), without loading the others."""
    query = (
        select(EventRecord)
        .where(EventRecord.dossier == code, col(EventRecord.kind).in_(sorted(kinds)))
        .order_by(col(EventRecord.seq))
        .execution_options(**_FRESH)
    )
    return list((await session.exec(query)).all())


async def record_refusal_after_close(
    session: AsyncSession, dossier: str, at: datetime, actor: str, detail: dict[str, Any]
) -> EventRecord:
    """Append a `refused` event to the timeline of `dossier`, whose workflow has ended, and
    commit (R9, R12: the API records refused attempts on closed dossiers itself).

    A closed dossier's workflow projects nothing more (it waits for its last projection before
    ending), so the seqs taken here never clash with its own. `detail` must be
    JSON-serialisable (the workflow's refusals hold `action`, `code`, `reason`, ...). Raises
    LookupError for a dossier the read model does not hold.
    """
    if await session.get(DossierRecord, dossier) is None:
        raise LookupError(f"no dossier {dossier} in the read model")
    seq = await _append_event(session, dossier, at, REFUSED, actor, detail)
    await count_changes(await session.connection(), dossier, new_events=[REFUSED], closed=False)
    await session.commit()
    stored = await session.get(EventRecord, (dossier, seq), populate_existing=True)
    assert stored is not None
    return stored


async def record_abnormal_close(
    session: AsyncSession, dossier: str, at: datetime, how: str
) -> bool:
    """R5: close `dossier` in the read model as ended from outside the rules at `at` (`how`:
    terminated, failed, timed_out), with an `abnormal_close` event, as the workflow records a
    cancellation, and commit; for a workflow that ended without running any code of its own.
    Whether it was recorded: False if the read model does not hold the dossier or has it closed
    already (the workflow recorded its own close, or an earlier sweep did), so it is idempotent.
    """
    found = await session.get(DossierRecord, dossier, populate_existing=True)
    if found is None or found.closed_at is not None:
        return False
    status = found.status
    seq = await _append_event(
        session, dossier, at, "abnormal_close", SYSTEM, abnormal_close_detail(how, status)
    )
    table = DossierRecord.__table__  # type: ignore[attr-defined]
    closed = await (await session.connection()).execute(
        update(table)
        .where(table.c.code == dossier, table.c.closed_at.is_(None))
        .values(closed_at=at, abnormal_close=how, version=seq, updated_at=func.now())
        .returning(table.c.code)
    )
    if closed.first() is None:  # closed meanwhile by its own last projection
        await session.rollback()
        return False
    await count_changes(
        await session.connection(), dossier, new_events=["abnormal_close"], closed=True
    )
    await session.commit()
    return True


async def _append_event(
    session: AsyncSession, dossier: str, at: datetime, kind: str, actor: str, detail: dict[str, Any]
) -> int:
    """Append an event to the timeline of `dossier` in the session's transaction; its seq.

    The seq is the dossier's last one plus one, taken by `INSERT … ON CONFLICT DO NOTHING`: when
    another writer took that seq first, nothing is written and the next one is tried.
    """
    insert = dialect_insert((await session.connection()).dialect.name)
    for _ in range(_SEQ_ATTEMPTS):
        last = (
            await session.exec(
                select(func.max(EventRecord.seq)).where(EventRecord.dossier == dossier)
            )
        ).one()
        event = EventRecord(
            dossier=dossier, seq=(last or 0) + 1, at=at, kind=kind, actor=actor, detail=detail
        )
        written = await session.exec(
            insert(EventRecord)
            .values(**event.model_dump())
            .on_conflict_do_nothing(index_elements=[col(EventRecord.dossier), col(EventRecord.seq)])
            .returning(col(EventRecord.seq))
        )
        if written.first() is not None:
            return event.seq
    raise RuntimeError(
        f"no free seq for a {kind} event of {dossier} after {_SEQ_ATTEMPTS} attempts"
    )
