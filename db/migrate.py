"""Bring a database to the newest schema, the catalogue file and the working-day calendar:
`python -m db.migrate`, or `upgrade(url)`, `seed(url)` and `sync_calendar(url)` from code.

The Alembic configuration is built here rather than read from alembic.ini, so that migrations
also run from an installed package (the scripts live in `db/migrations`). The catalogue's rows
are data the province edits, not schema: they are applied from `data/catalogue.toml` after every
upgrade, so each start has the catalogue and picks up the file's latest edits. So is the
working-day calendar of the reports (`calendar_days`, from holidays.VN and the province's
override file), from `CALENDAR_FIRST` through the end of the fifth year from now; when this year
or next has no confirmed schedule in that file, `calendar_schedule_unconfirmed` is logged.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

from db.calendar_days import sync_calendar_days
from db.catalogue import SeedReport, seed_catalogue
from db.engine import create_engine, parse_url, session_factory
from db.report_totals import rebuild_report_totals
from domain.calendar import ScheduleCoverage
from domain.localtime import local_date
from settings import Settings
from sources.calendar import CalendarSource
from sources.catalogue import load_catalogue

# The reports' calendar starts here: no dossier of the one-stop system is older.
CALENDAR_FIRST = date(2015, 1, 1)
# ... and runs this many years past the current one (holidays.VN's guess for future years, until
# the province publishes its decisions and edits the overrides).
CALENDAR_YEARS_AHEAD = 5

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = structlog.get_logger(__name__)


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for motcua's migrations on `url` (default `Settings().database`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The value goes through configparser interpolation: a URL-encoded password has `%`s.
    config.set_main_option("sqlalchemy.url", (url or Settings().database).replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    """Upgrade the database at `url` (default `Settings().database`) to the newest revision.

    Idempotent: an up-to-date database is left as it is. Blocks until done. The migration
    environment runs its own event loop, so it runs in a worker thread: this is callable from
    plain code and from inside a running loop alike (there, prefer
    `await asyncio.to_thread(upgrade, url)`, which does not hold up the loop meanwhile).
    """
    config = alembic_config(url)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate") as worker:
        worker.submit(command.upgrade, config, "head").result()


async def seed(url: str | None = None, catalogue: Path | None = None) -> SeedReport:
    """Apply the catalogue file `catalogue` (default `data/catalogue.toml`) to the database at
    `url` (default `Settings().database`), which must be upgraded: new entries are added,
    changed ones updated, none deleted (`db.catalogue.seed_catalogue`). Idempotent.

    A malformed file raises ValueError naming the entry, and changes nothing.
    """
    parsed = load_catalogue(catalogue)
    engine = create_engine(url or Settings().database)
    try:
        async with session_factory(engine)() as session:
            return await seed_catalogue(session, parsed)
    finally:
        await engine.dispose()


async def sync_calendar(
    url: str | None = None,
    *,
    first: date | None = None,
    last: date | None = None,
    overrides: Path | None = None,
) -> int:
    """Write the working-day calendar into `calendar_days` of the database at `url` (default
    `Settings().database`), which must be upgraded: every day from `first` (default
    `CALENDAR_FIRST`) to `last` (default 31 December, `CALENDAR_YEARS_AHEAD` years from now), on
    holidays.VN with the override file `overrides` (default `Settings().calendar_overrides`).
    Returns the rows written; idempotent (`db.calendar_days.sync_calendar_days`).

    When it writes any row, the report totals are rebuilt: their delays in working days were
    counted on the calendar as it was (`db.report_totals`). When this year or next has no
    confirmed schedule in the file, a warning says so (the days are holidays.VN's guess).
    """
    settings = Settings()
    overrides = overrides or settings.calendar_overrides
    calendar = CalendarSource(overrides).calendar()
    today = local_date(datetime.now(UTC))
    coverage = ScheduleCoverage.of(calendar.overrides, today)
    if coverage.warning:
        log.warning(
            "calendar_schedule_unconfirmed",
            years=list(coverage.unconfirmed_years),
            confirmed_years=list(coverage.confirmed_years),
            overrides=str(overrides),
            detail=coverage.warning,
        )
    first = first or CALENDAR_FIRST
    last = last or date(today.year + CALENDAR_YEARS_AHEAD, 12, 31)
    engine = create_engine(url or settings.database)
    try:
        async with session_factory(engine)() as session:
            written = await sync_calendar_days(session, calendar, first, last)
            if written:
                await rebuild_report_totals(session)
                await session.commit()
            return written
    finally:
        await engine.dispose()


async def prepare(url: str | None = None) -> SeedReport:
    """Upgrade, then seed the catalogue and the calendar: a database ready for the worker and
    the API (what `make run` and the test stacks do before starting them)."""
    await asyncio.to_thread(upgrade, url)
    report = await seed(url)
    await sync_calendar(url)
    return report


def main() -> None:
    """Upgrade the database named by `MOTCUA_DATABASE_URL` / `MOTCUA_DATA_DIR`, then seed it
    with the catalogue file and the working-day calendar."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = Settings().database
    database = parse_url(url).render_as_string(hide_password=True)
    upgrade(url)
    log.info("database_upgraded", database=database)
    report = asyncio.run(seed(url))
    log.info("catalogue_seeded", database=database, **report.model_dump())
    days = asyncio.run(sync_calendar(url))
    log.info("calendar_synced", database=database, days_written=days)


if __name__ == "__main__":
    main()
