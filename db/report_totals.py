"""The report totals: daily sums the oversight reports add up over a period, kept as the rows
change, so that a year of a million dossiers is read as a few thousand sums (`db.reports`).

A sum is only ever added to, so it must take each fact exactly once, and only once the fact
can no longer change:

- a **consultation** once it is final: answered or cancelled (its reminders, delay and cause
  are settled by then). Open consultations are few (those of running dossiers) and change
  with the clock (overdue, delay to now): the delay report counts them live, by a partial
  index. `consultations.counted` marks those taken.
- a **dossier** once it is closed: its R11 category, apology and the audit's checks
  (completed without a result, withdrawn without the head's confirmation, abnormal close) are
  settled then. `dossiers.counted` marks those taken.
- an **SOS event** (accepted `sos_*`, or `refused` with action `sos`) once written: events
  never change. `dossiers.events_counted` is the seq up to which a dossier's events are taken.

Each projection counts what it made final in its own transaction (`count_changes`, called by
`db.projection.write_projection` and by the API when it records a refusal on a closed
dossier), with the same statements that `rebuild_statements` runs over the whole table. A
retried projection finds the rows marked and adds nothing; two projections of one dossier queue
on its row's lock (taken first by the projection).

The delays in working days are computed with the calendar of the moment they are counted; a
changed calendar rebuilds the totals (`python -m db.migrate` does, when it writes calendar days).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import (
    ClosedDossierTotal,
    ConsultationRecord,
    ConsultationTotal,
    DossierRecord,
    EventRecord,
    SosTotal,
)
from db.reports import CATEGORIES, REFUSED, SOS_EVENT_KINDS, consultation_terms, count_of
from db.types import larger_of, local_date

_dossiers = DossierRecord.__table__  # type: ignore[attr-defined]
_consultations = ConsultationRecord.__table__  # type: ignore[attr-defined]
_events = EventRecord.__table__  # type: ignore[attr-defined]
CONSULTATION_TOTALS = ConsultationTotal.__table__  # type: ignore[attr-defined]
CLOSED_DOSSIER_TOTALS = ClosedDossierTotal.__table__  # type: ignore[attr-defined]
CLOSED_TOTALS_KEY = ["lead_agency", "receiving_desk", "procedure_code", "day"]
SOS_TOTALS = SosTotal.__table__  # type: ignore[attr-defined]

# The events after which a projection has something to count.
CONSULTATION_ENDINGS = frozenset({"consultation_answered", "consultation_cancelled"})
COUNTED_EVENTS = frozenset({*SOS_EVENT_KINDS, REFUSED})

_ONE_DOSSIER = bindparam("one_dossier", type_=String())


# --- what each row adds -------------------------------------------------------------------------


def consultation_sums(*where: ColumnElement[bool]) -> Select[Any]:
    """The final consultations meeting `where`, summed per agency and local day of request: the
    rows of `consultation_totals` they add."""
    c, t = _consultations.c, consultation_terms()

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    rows = (
        select(
            c.agency,
            local_date(c.requested_at).label("day"),
            flag(t.on_time).label("on_time"),
            flag(t.late).label("late"),
            flag(t.cancelled).label("cancelled"),
            flag(c.reminder_1_at.is_not(None)).label("reminder_1"),
            flag(c.reminder_2_at.is_not(None)).label("reminder_2"),
            case((t.late, t.late_delay), else_=None).label("delay"),
            flag(t.without_cause).label("without_cause"),
        )
        .select_from(t.rows)
        .where(t.final, *where)
        .subquery()
    )
    r = rows.c
    return (
        select(
            r.agency,
            r.day,
            func.count().label("consultations"),
            func.sum(r.on_time).label("answered_on_time"),
            func.sum(r.late).label("answered_late"),
            func.sum(r.cancelled).label("cancelled"),
            func.sum(r.reminder_1).label("reminders_1"),
            func.sum(r.reminder_2).label("reminders_2"),
            func.coalesce(func.sum(r.delay), 0).label("delay_working_days_total"),
            func.coalesce(func.max(r.delay), 0).label("delay_working_days_max"),
            func.sum(r.without_cause).label("late_without_cause"),
        )
        .where(true())  # SQLite reads INSERT … SELECT … ON CONFLICT right only after a WHERE
        .group_by(r.agency, r.day)
    )


# The events whose presence decides a closed dossier's category and the audit's checks.
_FLAG_KINDS = ("result", "sos_stop", "sos_supplement", "apology", "withdrawal_confirmed")


def _event_flags(*where: ColumnElement[bool]) -> Any:
    """Per dossier (meeting `where`), 1 or 0 for each of `_FLAG_KINDS`: whether it has such an
    event. One pass over those events grouped by dossier, then one join: never a lookup per
    dossier, nor an `IN (set)` too large for PostgreSQL to hash in its `work_mem`."""
    e = _events.c
    return (
        select(
            e.dossier,
            *(func.max(case((e.kind == kind, 1), else_=0)).label(kind) for kind in _FLAG_KINDS),
        )
        .where(e.kind.in_(_FLAG_KINDS), *where)
        .group_by(e.dossier)
        .subquery("flags")
    )


def closed_sums(
    *where: ColumnElement[bool], events_where: tuple[ColumnElement[bool], ...] = ()
) -> Select[Any]:
    """The closed dossiers meeting `where`, in the R11 categories (early / on time /
    late), summed per lead agency, receiving desk, procedure and local day of closing: the rows of
    `closed_dossier_totals` they add. A dossier is early, on time or late by the local date of
    its handover against the local date it was due (same day: on time), late as well when it
    went late; one stopped or supplemented on the way that is not late counts there, never as
    early or on time (R11). `events_where` narrows the events looked at (to one dossier's)."""
    d = _dossiers.c
    flags = _event_flags(*events_where)

    def has(kind: str) -> ColumnElement[bool]:
        return func.coalesce(flags.c[kind], 0) == 1

    handed_over, due = local_date(d.completed_at), local_date(d.due_at)
    category = case(
        (d.status != "completed", None),
        (or_(d.late, handed_over > due), "late"),
        (has("sos_stop"), "stopped"),
        (has("sos_supplement"), "supplemented"),
        (handed_over < due, "early"),
        (handed_over == due, "on_time"),
        else_=None,
    )
    rows = (
        select(
            d.lead_agency,
            func.coalesce(d.receiving_desk, d.lead_agency).label("receiving_desk"),
            d.procedure_code,
            d.procedure_name,
            local_date(d.closed_at).label("day"),
            d.status,
            d.abnormal_close,
            category.label("category"),
            case((has("apology"), 1), else_=0).label("apologised"),
            case((and_(d.status == "completed", not_(has("result"))), 1), else_=0).label(
                "without_result"
            ),
            case(
                (and_(d.status == "withdrawn", not_(has("withdrawal_confirmed"))), 1), else_=0
            ).label("withdrawn_unconfirmed"),
        )
        .select_from(_dossiers.outerjoin(flags, flags.c.dossier == d.code))
        .where(d.closed_at.is_not(None), *where)
        .offset(0)  # a fence: PostgreSQL would inline the category into every count below
        .subquery()
    )
    k = rows.c
    return (
        select(
            k.lead_agency,
            k.receiving_desk,
            k.procedure_code,
            k.day,
            func.max(k.procedure_name).label("procedure_name"),
            func.count().label("closed"),
            count_of(k.status == "completed").label("completed"),
            *(count_of(k.category == name).label(name) for name in CATEGORIES),
            count_of(k.status == "returned").label("returned"),
            count_of(k.status == "withdrawn").label("withdrawn"),
            count_of(k.abnormal_close.is_not(None)).label("abnormal"),
            func.sum(k.apologised).label("apologised"),
            func.sum(k.without_result).label("without_result"),
            func.sum(k.withdrawn_unconfirmed).label("withdrawn_unconfirmed"),
        )
        .where(true())
        .group_by(k.lead_agency, k.receiving_desk, k.procedure_code, k.day)
    )


def sos_sums(*where: ColumnElement[bool]) -> Select[Any]:
    """The SOS events meeting `where` (which may name their dossier's columns), summed per
    agency, action and local day: accepted ones under the dossier's lead agency, refused
    attempts under the agency of the officer who tried (`?` where the refusal names none), each
    refused event for as many attempts as it counts (`repeated`), on the day of the first."""
    e, d = _events.c, _dossiers.c
    joined = _events.join(_dossiers, d.code == e.dossier)
    action = case(
        *((e.kind == kind, literal(name, String())) for kind, name in SOS_EVENT_KINDS.items())
    )
    accepted = (
        select(
            d.lead_agency.label("agency"),
            action.label("action"),
            local_date(e.at).label("day"),
            literal(1).label("accepted"),
            literal(0).label("rejected"),
        )
        .select_from(joined)
        .where(e.kind.in_(list(SOS_EVENT_KINDS)), *where)
    )
    refused = (
        select(
            func.coalesce(e.detail["actor_agency"].as_string(), "?"),
            func.coalesce(e.detail[("request", "action")].as_string(), "?"),
            local_date(e.at),
            literal(0),
            # identical attempts are counted on one event (domain.dossier.record_refused)
            func.coalesce(e.detail["repeated"].as_integer(), 1),
        )
        .select_from(joined)
        .where(e.kind == REFUSED, e.detail["action"].as_string() == "sos", *where)
    )
    rows = union_all(accepted, refused).subquery()
    r = rows.c
    return (
        select(
            r.agency,
            r.action,
            r.day,
            func.sum(r.accepted).label("accepted"),
            func.sum(r.rejected).label("rejected"),
        )
        .where(true())
        .group_by(r.agency, r.action, r.day)
    )


# --- adding them ----------------------------------------------------------------------------------


def _add(dialect: str, table: Any, keys: list[str], sums: Select[Any]) -> Executable:
    """`INSERT INTO table SELECT sums ON CONFLICT (keys) DO UPDATE`: each sum added to the day's
    row, each maximum kept if larger, a name replaced."""
    names = [column.name for column in sums.selected_columns]
    insert = dialect_insert(dialect)(table).from_select(names, sums)

    def merged(name: str) -> Any:
        if name.endswith("_max"):
            return larger_of(table.c[name], insert.excluded[name])
        if name == "procedure_name":
            return insert.excluded[name]
        return table.c[name] + insert.excluded[name]

    return insert.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys],
        set_={name: merged(name) for name in names if name not in keys},
    )


@dataclass(frozen=True)
class _Counting:
    """The statements that count one dossier's changes (its code a parameter)."""

    consultations: tuple[Executable, Executable]
    closing: tuple[Executable, Executable]
    events: tuple[Executable, Executable]


@cache
def _counting(dialect: str) -> _Counting:
    c, d, e = _consultations.c, _dossiers.c, _events.c
    this_dossier = d.code == _ONE_DOSSIER
    return _Counting(
        consultations=(
            _add(
                dialect,
                CONSULTATION_TOTALS,
                ["agency", "day"],
                consultation_sums(c.dossier == _ONE_DOSSIER, not_(c.counted)),
            ),
            update(_consultations)
            .where(c.dossier == _ONE_DOSSIER, consultation_terms().final, not_(c.counted))
            .values(counted=True),
        ),
        closing=(
            _add(
                dialect,
                CLOSED_DOSSIER_TOTALS,
                CLOSED_TOTALS_KEY,
                closed_sums(
                    this_dossier, not_(d.counted), events_where=(e.dossier == _ONE_DOSSIER,)
                ),
            ),
            update(_dossiers)
            .where(this_dossier, d.closed_at.is_not(None), not_(d.counted))
            .values(counted=True),
        ),
        events=(
            _add(
                dialect,
                SOS_TOTALS,
                ["agency", "action", "day"],
                sos_sums(e.dossier == _ONE_DOSSIER, e.seq > d.events_counted),
            ),
            update(_dossiers)
            .where(this_dossier)
            .values(
                events_counted=select(func.coalesce(func.max(e.seq), 0))
                .where(e.dossier == _ONE_DOSSIER)
                .scalar_subquery()
            ),
        ),
    )


async def count_changes(
    connection: AsyncConnection, dossier: str, new_events: Iterable[str], closed: bool
) -> None:
    """Add to the totals what dossier `dossier`'s latest change made final, in the caller's
    transaction. `new_events` are the kinds of the events the change wrote; `closed`, whether
    the dossier is closed. Only the statements a change can need run (most changes need none);
    each of them adds only what is not yet marked, so running them again adds nothing."""
    counting = _counting(connection.dialect.name)
    kinds = set(new_events)
    due = []
    if kinds & CONSULTATION_ENDINGS:
        due.append(counting.consultations)
    if closed:
        due.append(counting.closing)
    if kinds & COUNTED_EVENTS:
        due.append(counting.events)
    for add, mark in due:
        await connection.execute(add, {"one_dossier": dossier})
        await connection.execute(mark, {"one_dossier": dossier})


async def count_repeated_refusal(
    connection: AsyncConnection, dossier: str, seq: int, more: int
) -> None:
    """`more` attempts counted again on the refused event (`dossier`, `seq`) after it was
    written (domain.dossier.record_refused): added to its day's SOS total if it is an SOS
    refusal the totals already took; one not taken yet is counted whole by `count_changes`."""
    e, d = _events.c, _dossiers.c
    taken = sos_sums(e.dossier == dossier, e.seq == seq, e.seq <= d.events_counted).subquery()
    t = taken.c
    added = select(t.agency, t.action, t.day, t.accepted, literal(more).label("rejected")).where(
        true()
    )
    await connection.execute(
        _add(connection.dialect.name, SOS_TOTALS, ["agency", "action", "day"], added)
    )


async def uncount_dossier(connection: AsyncConnection, dossier: str) -> None:
    """Take back from the totals all that dossier `dossier` added, and clear its marks, in the
    caller's transaction: before its rows are replaced by a reset (`db.settlement`), since a
    workflow task that was lost may have written, and counted, what never happened. The sums
    it took part in are not subtracted (a maximum cannot be): each total row it added to is
    computed again from the marked rows of every other dossier; the reset's own write then
    counts the dossier again (`count_changes`)."""
    dialect = connection.dialect.name
    c, d, e = _consultations.c, _dossiers.c, _events.c
    ours = {"one_dossier": dossier}
    taken: list[tuple[Any, list[str], Select[Any], Executable]] = [
        (
            CONSULTATION_TOTALS,
            ["agency", "day"],
            consultation_sums(c.dossier == _ONE_DOSSIER, c.counted),
            update(_consultations)
            .where(c.dossier == _ONE_DOSSIER, c.counted)
            .values(counted=False),
        ),
        (
            CLOSED_DOSSIER_TOTALS,
            CLOSED_TOTALS_KEY,
            closed_sums(
                d.code == _ONE_DOSSIER, d.counted, events_where=(e.dossier == _ONE_DOSSIER,)
            ),
            update(_dossiers).where(d.code == _ONE_DOSSIER, d.counted).values(counted=False),
        ),
        (
            SOS_TOTALS,
            ["agency", "action", "day"],
            sos_sums(e.dossier == _ONE_DOSSIER, e.seq <= d.events_counted),
            update(_dossiers).where(d.code == _ONE_DOSSIER).values(events_counted=0),
        ),
    ]
    for table, keys, sums_of_ours, unmark in taken:
        rows = (await connection.execute(sums_of_ours, ours)).mappings().all()
        await connection.execute(unmark, ours)
        for row in rows:
            key = {name: row[name] for name in keys}
            await connection.execute(
                delete(table).where(*(table.c[name] == value for name, value in key.items()))
            )
            await connection.execute(_add(dialect, table, keys, _recounted(table, key)))


def _recounted(table: Any, key: dict[str, Any]) -> Select[Any]:
    """The sums of total row `key` of `table`, from the marked rows of every dossier (narrowed
    to the key's day and names first, so that only that day's rows are read)."""
    c, d, e = _consultations.c, _dossiers.c, _events.c
    if table is CONSULTATION_TOTALS:
        sums = consultation_sums(
            c.counted, c.agency == key["agency"], local_date(c.requested_at) == key["day"]
        )
    elif table is CLOSED_DOSSIER_TOTALS:
        same = _dossiers.alias("same_day")
        sums = closed_sums(
            d.counted,
            d.lead_agency == key["lead_agency"],
            d.procedure_code == key["procedure_code"],
            local_date(d.closed_at) == key["day"],
            events_where=(
                e.dossier.in_(
                    select(same.c.code).where(
                        same.c.lead_agency == key["lead_agency"],
                        local_date(same.c.closed_at) == key["day"],
                    )
                ),
            ),
        )
    else:
        sums = sos_sums(e.seq <= d.events_counted, local_date(e.at) == key["day"])
    rows = sums.subquery()
    return select(*rows.c).where(*(rows.c[name] == value for name, value in key.items()))


def rebuild_statements(dialect: str) -> list[Executable]:
    """The statements that recompute every total from the rows, in one transaction: after a
    change of the working-day calendar, or over rows loaded around the projections (an import,
    the report benchmark's seed). Every final row is summed, whatever its mark; then the marks
    are set to match, writing only the rows whose mark changes (none, on a second rebuild)."""
    c, d, e = _consultations.c, _dossiers.c, _events.c
    final, closed = consultation_terms().final, d.closed_at.is_not(None)
    last = select(e.dossier, func.max(e.seq).label("seq")).group_by(e.dossier).subquery("last")
    return [
        delete(CONSULTATION_TOTALS),
        delete(CLOSED_DOSSIER_TOTALS),
        delete(SOS_TOTALS),
        _add(dialect, CONSULTATION_TOTALS, ["agency", "day"], consultation_sums()),
        _add(dialect, CLOSED_DOSSIER_TOTALS, CLOSED_TOTALS_KEY, closed_sums()),
        _add(dialect, SOS_TOTALS, ["agency", "action", "day"], sos_sums()),
        update(_consultations).where(c.counted != final).values(counted=final),
        # One pass over the dossiers for both marks: each rewritten row costs a row version.
        update(_dossiers)
        .where(
            d.code == last.c.dossier,
            or_(d.counted != closed, d.events_counted != last.c.seq),
        )
        .values(counted=closed, events_counted=last.c.seq),
    ]


async def rebuild_report_totals(session: AsyncSession) -> None:
    """Recompute every total in the session's transaction (`rebuild_statements`); the caller
    commits. On PostgreSQL the totals are locked meanwhile, so projections running alongside
    wait rather than add to sums being rebuilt."""
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        tables = ", ".join(t.name for t in (CONSULTATION_TOTALS, CLOSED_DOSSIER_TOTALS, SOS_TOTALS))
        await connection.exec_driver_sql(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    for statement in rebuild_statements(dialect):
        await connection.execute(statement)
