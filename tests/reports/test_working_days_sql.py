"""Working days in SQL (R11): `calendar_days` and `db.reports.working_days` count exactly what
`WorkingCalendar.working_days_between` counts, on real dates (Tết, 30/4 and 1/5 with the 2025
swap, 2/9, weekends, a province override) and at local midnight, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlmodel
from alembic import command
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.calendar_days import ORIGIN, calendar_rows, sync_calendar_days, working_index
from db.migrate import alembic_config, upgrade
from db.models import CalendarDayRecord
from db.reports import working_days
from db.types import UTCDateTime, local_date
from domain.calendar import CalendarOverrides, WorkingCalendar
from tests.db.test_read_model import schema
from tests.unit.builders import vn

Sessions = async_sessionmaker[AsyncSession]

# holidays.VN with a province override on top: Friday 13/6/2025 off, Saturday 14/6 worked.
CALENDAR = WorkingCalendar.vietnam(
    CalendarOverrides(
        days_off={date(2025, 6, 13): "Nghỉ theo quyết định của tỉnh"},
        working_days={date(2025, 6, 14): "Làm bù theo quyết định của tỉnh"},
    )
)
FIRST, LAST = date(2024, 1, 1), date(2026, 12, 31)


async def synced(sessions: Sessions, calendar: WorkingCalendar = CALENDAR) -> int:
    async with sessions() as session:
        return await sync_calendar_days(session, calendar, FIRST, LAST)


async def sql_working_days(sessions: Sessions, start: datetime, end: datetime) -> int:
    """What the database counts between two instants, through the reports' own expressions."""
    table = CalendarDayRecord.__table__  # type: ignore[attr-defined]

    def index(at: datetime) -> object:
        return (
            select(table.c.working_index)
            .where(table.c.day == local_date(literal(at, UTCDateTime)))
            .scalar_subquery()
        )

    async with sessions() as session:
        connection = await session.connection()
        counted = (
            await connection.execute(select(working_days(index(start), index(end))))
        ).scalar()
    assert counted is not None
    return int(counted)


CASES = [
    # Tết 2025: Monday 27/1 to Friday 31/1 off, then the weekend: only Mon 3/2 and Tue 4/2.
    ("tet", vn(2025, 1, 24, 17), vn(2025, 2, 4, 9), 2),
    # 30/4 and 1/5 off, Friday 2/5 off by the 2025 swap, the weekend: only Monday 5/5.
    ("30_4_swap", vn(2025, 4, 29, 17), vn(2025, 5, 5, 8), 1),
    # Saturday 26/4/2025 is worked (the swap).
    ("worked_saturday", vn(2025, 4, 25, 17), vn(2025, 4, 26, 10), 1),
    # 1/9 and 2/9/2025 off.
    ("national_day", vn(2025, 8, 29, 17), vn(2025, 9, 3, 9), 1),
    ("weekend", vn(2025, 3, 7, 17), vn(2025, 3, 10, 9), 1),
    ("new_year", vn(2024, 12, 31, 17), vn(2025, 1, 2, 9), 1),
    # The province's override: Friday 13/6 off, Saturday 14/6 worked.
    ("province_override", vn(2025, 6, 12, 17), vn(2025, 6, 16, 9), 2),
    ("same_day", vn(2025, 3, 4, 8), vn(2025, 3, 4, 17), 0),
    ("end_before_start", vn(2025, 3, 10, 9), vn(2025, 3, 4, 9), 0),
    # Local midnight, not UTC's: 23:59:59 Monday to 00:00 Tuesday is one working day.
    ("local_midnight", vn(2025, 3, 3, 23, 59, 59), vn(2025, 3, 4, 0, 0, 0), 1),
    # Friday 01:00 local is Thursday in UTC: by UTC dates Friday would count, by local ones not.
    ("utc_date_differs", vn(2025, 3, 7, 1), vn(2025, 3, 9, 23), 0),
    ("three_years", vn(2024, 1, 1, 9), vn(2026, 12, 31, 9), None),
]


@pytest.mark.parametrize(
    ("start", "end", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_r11_sql_working_days_equal_the_calendars(
    sessions: Sessions, start: datetime, end: datetime, expected: int | None
) -> None:
    await synced(sessions)

    counted = await sql_working_days(sessions, start, end)

    assert counted == CALENDAR.working_days_between(start, end)
    if expected is not None:
        assert counted == expected


async def test_r11_sql_working_days_equal_the_calendars_on_random_instants(
    sessions: Sessions,
) -> None:
    await synced(sessions)
    draw = random.Random(448)
    span = int(
        (datetime(2026, 12, 31, tzinfo=UTC) - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds()
    )
    base = datetime(2024, 1, 1, tzinfo=UTC)

    for _ in range(150):
        start = base + timedelta(seconds=draw.randrange(span))
        end = start + timedelta(seconds=draw.randrange(-3 * 86_400, 60 * 86_400))
        if end.year > 2026:
            continue
        assert await sql_working_days(sessions, start, end) == CALENDAR.working_days_between(
            start, end
        ), (start, end)


async def test_r11_calendar_sync_is_idempotent_and_an_edit_rewrites_only_what_it_moves(
    sessions: Sessions,
) -> None:
    assert await synced(sessions) == (LAST - FIRST).days + 1
    assert await synced(sessions) == 0

    # The province adds a day off on Monday 1/12/2025: that day and every later index move.
    edited = WorkingCalendar.vietnam(
        CalendarOverrides(
            days_off={**CALENDAR.overrides.days_off, date(2025, 12, 1): "Nghỉ đột xuất"},
            working_days=CALENDAR.overrides.working_days,
        )
    )
    assert await synced(sessions, edited) == (LAST - date(2025, 12, 1)).days + 1

    async with sessions() as session:
        stored = (
            await session.exec(
                sqlmodel.select(CalendarDayRecord).where(CalendarDayRecord.day == date(2025, 12, 1))
            )
        ).one()
    assert stored.working is False
    assert await sql_working_days(sessions, vn(2025, 11, 28, 17), vn(2025, 12, 2, 9)) == 1


def test_working_index_counts_across_the_origin() -> None:
    rows = calendar_rows(CALENDAR, ORIGIN - timedelta(days=20), ORIGIN + timedelta(days=20))
    by_day = {r["day"]: r["working_index"] for r in rows}

    assert by_day[ORIGIN] == 0 == working_index(CALENDAR, ORIGIN)
    for a in by_day:
        for b in by_day:
            if a <= b:
                start, end = vn(a.year, a.month, a.day, 12), vn(b.year, b.month, b.day, 12)
                assert by_day[b] - by_day[a] == CALENDAR.working_days_between(start, end)


async def test_migration_0003_downgrades_to_the_indexes_of_0002_and_upgrades_again(
    database_url: str,
) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0002")
    before = await schema(database_url)
    await asyncio.to_thread(upgrade, database_url)
    after = await schema(database_url)

    assert "calendar_days" not in before and "calendar_days" in after
    assert before["consultations"]["indexes"] == {("ix_consultations_agency", ("agency",))}
    assert ("ix_events_kind", ("kind",)) in before["events"]["indexes"]
    assert ("ix_dossiers_lead_agency", ("lead_agency",)) in before["dossiers"]["indexes"]
    assert ("ix_events_kind_at", ("kind", "at")) in after["events"]["indexes"]
