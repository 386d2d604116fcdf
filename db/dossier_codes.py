"""Dossier codes: `<unit_id>-YYMMDD-XXXX`, the structure of Circular 01/2018/TT-VPCP art. 19
(DOMAIN.md), kept for new dossiers under Circular 03/2025/TT-VPCP, whose art. 13 now sets the
dossier code. Its clauses 1–2 (the general structure) could not be read: to be confirmed
(docs/legal-frame.md). Its clause 3, added by Circular 04/2025/TT-VPCP art. 23 from 25 January
2026, covers only procedures served by a centralised nationwide system:
`MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX` (the resolving agency's electronic identifier, the receipt date,
two digits of the system owner's identifier, then the day's sequence on at least four digits);
motcua serves no such procedure. Codes already given stay valid whatever clauses 1–2 say.

YYMMDD is the date of receipt in Vietnam (a dossier received at 23:30 local time belongs to that
day, though it is 16:30 UTC), and XXXX the receiving unit's sequence for that day, from 0001.
Past 9999 in one day the sequence keeps counting on five digits (`…-10000`) rather than refusing
the dossier: a code stays unique and readable, and no unit of the province comes near it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import DossierCodeCounter
from db.types import larger_of
from domain.localtime import VN

# A code as `next_dossier_code` makes it: the unit, the local day, the day's sequence.
_CODE = re.compile(r"^(?P<unit>.+)-(?P<day>\d{6})-(?P<number>\d{4,})$")

# `INSERT … ON CONFLICT DO UPDATE … RETURNING` needs SQLite 3.35 (RETURNING); PostgreSQL 9.5+.
SQLITE_MINIMUM = (3, 35, 0)


def code_day(received_at: datetime) -> str:
    """The YYMMDD of a dossier code: the local date of `received_at` in Vietnam."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"naive datetime {received_at.isoformat()} refused: give it a time zone")
    return received_at.astimezone(VN).strftime("%y%m%d")


async def next_dossier_code(session: AsyncSession, unit_id: str, received_at: datetime) -> str:
    """The next dossier code of unit `unit_id` for the local day of `received_at`; commits.

    One statement takes the number: `INSERT (unit, day, 1) ON CONFLICT (unit, day) DO UPDATE
    SET last = last + 1 RETURNING last`. It is atomic on both databases, so concurrent receipts
    get distinct, consecutive numbers: PostgreSQL makes a second writer of the same counter wait
    for the first one's commit, SQLite lets one writer at a time.

    It commits the session (and so whatever else the session holds) at once, because the
    counter stays locked until commit (on SQLite, the whole database): holding it while the
    dossier's workflow starts would queue every other receipt of the unit behind that call. The
    price is a gap in the day's sequence when the start then fails; a code is never reused.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info < SQLITE_MINIMUM:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} cannot number dossiers: "
            f"{'.'.join(map(str, SQLITE_MINIMUM))} or newer is needed (UPSERT with RETURNING)"
        )
    day = code_day(received_at)
    insert = dialect_insert(connection.dialect.name)
    statement = insert(DossierCodeCounter).values(unit_id=unit_id, day=day, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=[col(DossierCodeCounter.unit_id), col(DossierCodeCounter.day)],
        set_={"last": col(DossierCodeCounter.last) + 1},
    ).returning(col(DossierCodeCounter.last))
    number: int = (await session.exec(statement)).scalar_one()
    await session.commit()
    return f"{unit_id}-{day}-{number:04d}"


async def restore_counters(session: AsyncSession, codes: Iterable[str]) -> int:
    """Raise each unit's daily counter to the highest sequence number among `codes` (the codes of
    dossiers rebuilt from Temporal, `db.rebuild`), in the session's transaction, so that a
    dossier received next never gets a code already given. Codes of another form (given
    explicitly) are left out; a counter never goes down. Returns the counters written."""
    highest: dict[tuple[str, str], int] = {}
    for code in codes:
        found = _CODE.match(code)
        if found:
            key = (found["unit"], found["day"])
            highest[key] = max(highest.get(key, 0), int(found["number"]))
    if not highest:
        return 0
    connection = await session.connection()
    insert = dialect_insert(connection.dialect.name)(DossierCodeCounter)
    statement = insert.on_conflict_do_update(
        index_elements=[col(DossierCodeCounter.unit_id), col(DossierCodeCounter.day)],
        set_={"last": larger_of(col(DossierCodeCounter.last), insert.excluded.last)},
    )
    rows = [{"unit_id": u, "day": d, "last": n} for (u, d), n in sorted(highest.items())]
    await connection.execute(statement, rows)
    return len(rows)
