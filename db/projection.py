"""Writing a dossier's projection to the read model: after each change, its workflow sends its
current document and the events the read model has not seen yet, and the `settle_dossier`
activity writes them here (`db.settlement`); `db.rebuild` writes the same from history.

The workflow is the source of truth while it runs; the SQL rows are a copy for lists, searches,
reports and reading a dossier without waking its workflow (TEMPORAL.md §2). Activities run at
least once and two projections of one dossier may be in flight together, so every write is keyed
by the business key, never by run or activity ids (which continue-as-new changes):

- events by (dossier, seq): `INSERT … ON CONFLICT DO NOTHING`, written once; only a refused
  attempt counted again (`repeated`) is rewritten, by a higher count;
- the dossier row by its `version` (the seq of its latest event): `INSERT … ON CONFLICT (code)
  DO UPDATE … WHERE dossiers.version < excluded.version`, so an older state never overwrites a
  newer one;
- its consultations (dossier, number) only together with the dossier row they belong to;
- the report totals with what the change made final (`db.report_totals.count_changes`), marked
  on the rows so that a retry adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import ConsultationRecord, DossierRecord, EventRecord
from db.read_model import compact_phone, search_key
from db.report_totals import count_changes, count_repeated_refusal
from domain.dossier import Applicant, ConsultationView, Event
from domain.projection import DossierProjection

# Events per INSERT: a first projection may carry a long dossier's whole timeline, and each row
# takes 6 parameters (SQLite allows 32,766 per statement, asyncpg 32,767).
EVENTS_PER_STATEMENT = 1000


async def write_projection(
    session: AsyncSession, projection: DossierProjection, fence: datetime | None = None
) -> bool:
    """Write `projection` in the session's transaction; whether the dossier row was written
    (False: the read model already has this version or a newer one). `fence`: the time of the
    workflow task that made it, for a fenced settlement (`db.settlement`), kept on the row.

    The dossier row goes first: it is the parent of the events and consultations (foreign
    keys), and every projection of one dossier then takes that row's lock before any other, so
    concurrent projections queue on PostgreSQL instead of deadlocking (SQLite has one writer at
    a time anyway).
    """
    document = projection.document
    connection = await session.connection()
    statements = _statements(connection.dialect.name)
    row = {**_dossier_row(projection, datetime.now(UTC)), "fence": fence}
    # RETURNING yields a row only if it was inserted or the WHERE let the update through.
    applied = (await connection.execute(statements.dossier, row)).first() is not None
    rows = [event_row(document.code, e) for e in document.events]
    for start in range(0, len(rows), EVENTS_PER_STATEMENT):
        await connection.execute(statements.events, rows[start : start + EVENTS_PER_STATEMENT])
    for event in document.events:
        # Counted again since written, maybe by a projection that landed first (projections
        # of one dossier can land out of order): rewritten by a higher count only.
        if event.seq <= projection.since or event.detail.get("repeated", 1) > 1:
            await _revise(connection, document.code, event)
    if applied and document.consultations:
        rows = [_consultation_row(document.code, c) for c in document.consultations]
        await connection.execute(statements.consultations, rows)
    await count_changes(
        connection,
        document.code,
        new_events=(e.kind for e in document.events),
        closed=document.closed_at is not None,
    )
    return applied


async def _revise(connection: AsyncConnection, dossier: str, event: Event) -> None:
    """An event written before that changed since: a refused attempt counted again
    (`repeated`, `last_at`). Rewritten only by a later count (a late or retried projection of
    an older one changes nothing), and the SOS totals get the attempts added."""
    events = EventRecord.__table__  # type: ignore[attr-defined]
    key = (events.c.dossier == dossier, events.c.seq == event.seq)
    written = (await connection.execute(select(events.c.detail).where(*key))).scalar_one_or_none()
    more = event.detail.get("repeated", 1) - (written or {}).get("repeated", 1)
    if more <= 0:
        return
    await connection.execute(
        update(events).where(*key).values(detail=event_row(dossier, event)["detail"])
    )
    await count_repeated_refusal(connection, dossier, event.seq, more)


@dataclass(frozen=True)
class _Statements:
    dossier: Any
    events: Any
    consultations: Any


# What a projection rewrites: the fields of the document, never the keys nor what the report
# totals marked on the row (`counted`, `events_counted`), which a rewrite would reset; the fence
# only by a fenced write (an unfenced one, from history, leaves it).
_DOSSIER_FIELDS = frozenset(DossierRecord.model_fields) - {
    "code",
    "counted",
    "events_counted",
    "fence",
}
_CONSULTATION_FIELDS = frozenset(ConsultationRecord.model_fields) - {"dossier", "number", "counted"}


@cache
def _statements(dialect: str) -> _Statements:
    """The three statements of a projection, built once per dialect with their values left to
    parameters: compiled once, then reused. (Core on the tables, not the ORM: its bulk-insert
    path costs a worker several times the CPU for rows it never needs back as objects.)"""
    insert = dialect_insert(dialect)
    dossiers = DossierRecord.__table__  # type: ignore[attr-defined]
    events = EventRecord.__table__  # type: ignore[attr-defined]
    consultations = ConsultationRecord.__table__  # type: ignore[attr-defined]
    dossier = insert(dossiers)
    dossier = dossier.on_conflict_do_update(
        index_elements=[dossiers.c.code],
        set_={
            **{c.name: dossier.excluded[c.name] for c in dossiers.c if c.name in _DOSSIER_FIELDS},
            "fence": func.coalesce(dossier.excluded.fence, dossiers.c.fence),
        },
        where=dossiers.c.version < dossier.excluded.version,
    ).returning(dossiers.c.code)
    consultation = insert(consultations)
    consultation = consultation.on_conflict_do_update(
        index_elements=[consultations.c.dossier, consultations.c.number],
        set_={
            c.name: consultation.excluded[c.name]
            for c in consultations.c
            if c.name in _CONSULTATION_FIELDS
        },
    )
    return _Statements(
        dossier=dossier,
        events=insert(events).on_conflict_do_nothing(
            index_elements=[events.c.dossier, events.c.seq]
        ),
        consultations=consultation,
    )


def _dossier_row(projection: DossierProjection, now: datetime) -> dict[str, Any]:
    document = projection.document
    applicant: Applicant = document.applicant
    return {
        "code": document.code,
        "procedure_code": document.procedure_code,
        "procedure_name": document.procedure_name,
        "lead_agency": document.lead_agency,
        "receiving_desk": document.receiving_desk or document.lead_agency,
        "applicant": applicant.model_dump(mode="json"),
        "applicant_phone": compact_phone(applicant.phone),
        "applicant_search": search_key(applicant.name),
        "status": document.status.value,
        "national_status": document.national_status.code,
        "received_at": document.received_at,
        "due_at": document.due_at,
        "completed_at": document.completed_at,
        "closed_at": document.closed_at,
        "late": document.late,
        "withdrawal": document.withdrawal,
        "abnormal_close": projection.abnormal_close,
        "people": document.people,
        "version": projection.version,
        "updated_at": now,
    }


def _consultation_row(dossier: str, consultation: ConsultationView) -> dict[str, Any]:
    sent = {r.level: r.sent_at for r in consultation.reminders}
    return {
        "dossier": dossier,
        "number": consultation.number,
        "agency": consultation.agency,
        "content": consultation.content,
        "deadline": consultation.deadline,
        "status": consultation.status.value,
        "requested_at": consultation.requested_at,
        "replied_at": consultation.replied_at,
        "opinion": consultation.opinion,
        "late_reason": consultation.late_reason,
        "reminders": [r.model_dump(mode="json") for r in consultation.reminders],
        "reminder_1_at": sent.get(1),
        "reminder_2_at": sent.get(2),
    }


def event_row(dossier: str, event: Event) -> dict[str, Any]:
    return {
        "dossier": dossier,
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor,
        # JSON-safe: details may hold times and dates (`due_changed`, `refused` requests).
        "detail": event.model_dump(mode="json")["detail"],
    }
