"""Column types and SQL expressions that mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always read back as an aware UTC `datetime`.

    PostgreSQL keeps instants (`timestamptz`); SQLite has no time type and SQLAlchemy writes a
    text without offset, so the offset would be lost. Converting to UTC before writing makes the
    text mean one instant and sort in time order; reads are then marked UTC. A naive datetime is
    refused rather than guessed at: its instant is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A JSON array (of agency codes, say): JSON text on SQLite, JSONB on PostgreSQL, where it can be
# searched with `@>` (and indexed with GIN should a table grow large).
JSONList: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class json_array_contains(FunctionElement[bool]):  # lower case, like SQLAlchemy's SQL functions
    """SQL: the `JSONList` column `array` has `value` as one of its elements.

    `json_array_contains(NoticeRecord.cc, "SNV")` matches exactly the element "SNV", never a
    substring such as "SNV2". Compiled per dialect: SQLite walks the array with `json_each`,
    PostgreSQL asks JSONB containment.
    """

    type = Boolean()
    name = "json_array_contains"
    inherit_cache = True


@compiles(json_array_contains, "sqlite")
def _json_array_contains_sqlite(
    element: json_array_contains, compiler: SQLCompiler, **kw: Any
) -> str:
    array, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({array}) WHERE json_each.value = {value})"


@compiles(json_array_contains, "postgresql")
def _json_array_contains_postgresql(
    element: json_array_contains, compiler: SQLCompiler, **kw: Any
) -> str:
    array, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({array} @> jsonb_build_array({value}))"


class local_date(FunctionElement[date]):  # lower case, like SQLAlchemy's SQL functions
    """SQL: the date in Vietnam (UTC+7) of the `UTCDateTime` instant `at`.

    Working days and report periods are local days (R11). Vietnam has kept UTC+7 without daylight
    saving since 1975, so a fixed offset is exact and needs no time-zone database in either
    server. PostgreSQL reads the instant as UTC wall-clock time and adds seven hours; SQLite
    shifts its stored UTC text (`db.types.UTCDateTime`) with `date(…, '+7 hours')`, which yields
    the `YYYY-MM-DD` text that SQLAlchemy stores its dates as, so the two compare equal.
    """

    type = Date()
    name = "local_date"
    inherit_cache = True


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({at}, '+7 hours')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(({at} AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)"


class larger_of(FunctionElement[int]):  # lower case, like SQLAlchemy's SQL functions
    """SQL: the larger of two values (`greatest` on PostgreSQL, the two-argument scalar `max` on
    SQLite, where `greatest` does not exist before 3.50)."""

    type = Integer()
    name = "larger_of"
    inherit_cache = True


@compiles(larger_of, "sqlite")
def _larger_of_sqlite(element: larger_of, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"max({a}, {b})"


@compiles(larger_of, "postgresql")
def _larger_of_postgresql(element: larger_of, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"greatest({a}, {b})"
