"""Bring a database to the newest schema: `python -m db.migrate`, or `upgrade(url)` from code.

The Alembic configuration is built here rather than read from alembic.ini, so that migrations
also run from an installed package (the scripts live in `db/migrations`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

from db.engine import parse_url
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


def main() -> None:
    """Upgrade the database named by `MOTCUA_DATABASE_URL` / `MOTCUA_DATA_DIR`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = Settings().database
    upgrade(url)
    log.info("database_upgraded", database=parse_url(url).render_as_string(hide_password=True))


if __name__ == "__main__":
    main()
