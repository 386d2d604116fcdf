"""The working-day calendar as rows (`calendar_days`), so that reports count working days in SQL.

A delay in working days between two instants (R8, R11) is, in `domain.calendar`, a walk over
the days between them. At a million dossiers that walk cannot run in Python per row; in SQL it
becomes one subtraction: each local day carries `working_index`, the number of working days
from `ORIGIN` up to and including it, so the working days d with a < d <= b number
`index(b) - index(a)`, exactly `WorkingCalendar.working_days_between` of two instants on those
local dates (`db.reports.working_days`).

The rows come from the same `WorkingCalendar` the worker uses (holidays.VN plus the province's
overrides), written by `sync_calendar_days`, which `python -m db.migrate` calls at every start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import CalendarDayRecord
from domain.calendar import WorkingCalendar

# Where the count starts. Any fixed day works: only differences of indexes mean anything, and
# they do not depend on the origin. Fixed so that two syncs of different ranges agree.
ORIGIN = date(2000, 1, 1)

# Rows per INSERT: three parameters each, well under SQLite's and asyncpg's limits.
_ROWS_PER_STATEMENT = 2000


def working_index(calendar: WorkingCalendar, day: date) -> int:
    """The working days d with ORIGIN < d <= day; negative (minus those with day < d <= ORIGIN)
    for a day before the origin, so that `index(b) - index(a)` counts (a, b] for any a <= b."""
    if day >= ORIGIN:
        return _count(calendar, ORIGIN, day)
    return -_count(calendar, day, ORIGIN)


def _count(calendar: WorkingCalendar, after: date, through: date) -> int:
    return sum(calendar.is_working_day(d) for d in _days(after + timedelta(days=1), through))


def _days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def calendar_rows(calendar: WorkingCalendar, first: date, last: date) -> list[dict[str, Any]]:
    """The rows of `calendar_days` for every day from `first` to `last`, both included."""
    if last < first:
        raise ValueError(f"calendar range ends ({last}) before it starts ({first})")
    index = working_index(calendar, first - timedelta(days=1))
    rows = []
    for day in _days(first, last):
        working = calendar.is_working_day(day)
        index += working
        rows.append({"day": day, "working": working, "working_index": index})
    return rows


async def sync_calendar_days(
    session: AsyncSession, calendar: WorkingCalendar, first: date, last: date
) -> int:
    """Make `calendar_days` hold `calendar` for every day from `first` to `last`, and commit;
    the number of rows written (new or changed). Idempotent: a second run writes nothing.

    Rows are upserted by day, so a calendar the province has edited (a new day off, a worked
    Saturday) rewrites the days it moves and leaves the others alone. Rows outside the range are
    left as they are: sync the whole range the reports need (`db.migrate` does).
    """
    wanted = calendar_rows(calendar, first, last)
    stored = {
        row.day: (row.working, row.working_index)
        for row in (
            await session.exec(
                select(CalendarDayRecord).where(
                    col(CalendarDayRecord.day) >= first, col(CalendarDayRecord.day) <= last
                )
            )
        ).all()
    }
    changed = [r for r in wanted if stored.get(r["day"]) != (r["working"], r["working_index"])]
    table = CalendarDayRecord.__table__  # type: ignore[attr-defined]
    insert = dialect_insert((await session.connection()).dialect.name)(table)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.day],
        set_={"working": insert.excluded.working, "working_index": insert.excluded.working_index},
    )
    connection = await session.connection()
    for start in range(0, len(changed), _ROWS_PER_STATEMENT):
        await connection.execute(upsert, changed[start : start + _ROWS_PER_STATEMENT])
    await session.commit()
    return len(changed)
