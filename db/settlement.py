"""The one write a change of a dossier needs: its read-model projection and its notices, in one
transaction, so the timeline and the outbox never disagree (`write_settlement`, for the
`settle_dossier` activity and `db.rebuild`); and telling a database that refuses the data from
one that is away (`refused_by_database`).

Exactly once as the outside sees it: every row is keyed by its business key (events by dossier
and seq, the dossier by version, notices by key), so writing one settlement again writes
nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    ConsultationRecord,
    DossierRecord,
    EventRecord,
    NoticeDeliveryRecord,
    NoticeRecord,
)
from db.notices import write_notice
from db.projection import event_row, write_projection
from db.report_totals import uncount_dossier
from domain.notices import Notice
from domain.projection import Settlement, SettlementOutcome

_dossiers = DossierRecord.__table__  # type: ignore[attr-defined]
_events = EventRecord.__table__  # type: ignore[attr-defined]
_consultations = ConsultationRecord.__table__  # type: ignore[attr-defined]
_notices = NoticeRecord.__table__  # type: ignore[attr-defined]
_deliveries = NoticeDeliveryRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SettlementWrite:
    """What `write_settlement` did: `applied`, whether the dossier row was written (False: the
    read model already had this version or a newer one); `notices`, each notice with its outbox
    id and whether this call wrote it."""

    outcome: SettlementOutcome = SettlementOutcome.WRITTEN
    applied: bool = False
    notices: list[tuple[Notice, int, bool]] = field(default_factory=list)


async def write_settlement(session: AsyncSession, settlement: Settlement) -> SettlementWrite:
    """Write `settlement` in the session's transaction. A fenced one (`Settlement.fence`) first
    claims its dossier's row for its task (`_claim`) and writes nothing when the row belongs to
    a newer task or holds what a lost one wrote; with `reset`, it first removes all that."""
    projection = settlement.projection
    fence = settlement.fence
    version: int | None = None
    if fence is not None:
        connection = await session.connection()
        outcome = await _claim(connection, settlement)
        if outcome is not SettlementOutcome.WRITTEN:
            return SettlementWrite(outcome)
        if settlement.reset and projection is not None:
            await _forget(connection, projection.document.code, settlement.confirmed)
        version = projection.version if projection else settlement.confirmed
    applied = await write_projection(session, projection, fence) if projection else False
    written = [(n, *await write_notice(session, n, version)) for n in settlement.notices]
    return SettlementWrite(SettlementOutcome.WRITTEN, applied, written)


async def _claim(connection: AsyncConnection, settlement: Settlement) -> SettlementOutcome:
    """Take the dossier's row for the settlement's task, unless a newer task has it; first
    thing in the transaction, so that it holds the row's lock (PostgreSQL) or the write lock
    (SQLite) from here on. `conflict` when the row is beyond `confirmed`, the version its
    workflow holds as written, with other events than this settlement's: a task the server
    never had wrote them (the same events are this settlement's own attempt, retried)."""
    projection, fence = settlement.projection, settlement.fence
    code = projection.document.code if projection else settlement.notices[0].dossier
    d = _dossiers.c
    claimed = await connection.execute(
        update(_dossiers)
        .where(d.code == code, or_(d.fence.is_(None), d.fence <= fence))
        .values(fence=fence)
        .returning(d.version)
    )
    version = claimed.scalar_one_or_none()
    if version is None:
        found = await connection.execute(select(d.code).where(d.code == code))
        # no row: the dossier's first write; a row not taken: a newer task's
        return SettlementOutcome.OVERTAKEN if found.first() else SettlementOutcome.WRITTEN
    if version <= settlement.confirmed or settlement.reset:
        return SettlementOutcome.WRITTEN
    if projection is not None and version == projection.version:
        e = _events.c
        written = await connection.execute(
            select(e.seq, e.at, e.kind, e.actor, e.detail)
            .where(e.dossier == code, e.seq > settlement.confirmed)
            .order_by(e.seq)
        )
        ours = [event_row(code, v) for v in projection.document.events]
        ours = [r for r in ours if r["seq"] > settlement.confirmed]
        if [{"dossier": code, **r} for r in written.mappings()] == ours:
            return SettlementOutcome.WRITTEN
    return SettlementOutcome.CONFLICT


async def _forget(connection: AsyncConnection, code: str, confirmed: int) -> None:
    """Before a reset writes dossier `code` whole: take back what it added to the report
    totals, remove its events and consultations, and the notices a lost task wrote (beyond
    `confirmed`, never sent: only a completed task sends), and let any version of the row be
    overwritten."""
    await uncount_dossier(connection, code)
    await connection.execute(delete(_events).where(_events.c.dossier == code))
    await connection.execute(delete(_consultations).where(_consultations.c.dossier == code))
    n = _notices.c
    await connection.execute(
        delete(_notices).where(
            n.dossier == code,
            n.settlement_version > confirmed,
            n.delivery_status == "pending",
            ~exists().where(_deliveries.c.notice_key == n.key),
        )
    )
    await connection.execute(update(_dossiers).where(_dossiers.c.code == code).values(version=-1))


# SQLSTATE classes of a refusal of the data itself: data exception (an untranslatable character,
# a string too long, a number out of range), integrity constraint, program limit (a row too big).
_DATA_REFUSED = ("22", "23", "54")


def refused_by_database(failed: BaseException) -> bool:
    """Whether `failed` is the database refusing the data (no retry cures it), not the
    database being away or busy. Reads the whole chain: SQLAlchemy's error, the driver's, and
    what the driver could not even encode (a lone surrogate, an integer beyond 64 bits)."""
    pending: list[BaseException | None] = [failed]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, DataError | IntegrityError | UnicodeError | OverflowError):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and state[:2] in _DATA_REFUSED:
            return True
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return False
