"""Bring a database to the newest schema and the catalogue file: `python -m db.migrate`, or
`upgrade(url)` and `seed(url)` from code.

The Alembic configuration is built here rather than read from alembic.ini, so that migrations
also run from an installed package (the scripts live in `db/migrations`). The catalogue's rows
are data the province edits, not schema: they are applied from `data/catalogue.toml` after every
upgrade, so each start has the catalogue and picks up the file's latest edits.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

from activities.catalogue_source import load_catalogue
from db.catalogue import SeedReport, seed_catalogue
from db.engine import create_engine, parse_url, session_factory
from settings import Settings

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


async def prepare(url: str | None = None) -> SeedReport:
    """Upgrade, then seed: a database ready for the worker and the API (what `make run` and the
    test stacks do before starting them)."""
    await asyncio.to_thread(upgrade, url)
    return await seed(url)


def main() -> None:
    """Upgrade the database named by `MOTCUA_DATABASE_URL` / `MOTCUA_DATA_DIR`, then seed it
    with the catalogue file."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = Settings().database
    database = parse_url(url).render_as_string(hide_password=True)
    upgrade(url)
    log.info("database_upgraded", database=database)
    report = asyncio.run(seed(url))
    log.info("catalogue_seeded", database=database, **report.model_dump())


if __name__ == "__main__":
    main()
