"""Shared fixtures: real servers only (Temporal dev and time-skipping servers, SQLite files,
PostgreSQL). Each kind lives in its own plugin module under tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.temporal",
    "tests.fixtures.api",
    "tests.fixtures.mail",
    "tests.fixtures.browser",
]
