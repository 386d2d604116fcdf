"""The one write a change of a dossier needs: its read-model projection and its notices, in one
transaction, so the timeline and the outbox never disagree (`write_settlement`, for the
`settle_dossier` activity and `db.rebuild`); and telling a database that refuses the data from
one that is away (`refused_by_database`).

Exactly once as the outside sees it: every row is keyed by its business key (events by dossier
and seq, the dossier by version, notices by key), so writing one settlement again writes
nothing new.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.notices import write_notice
from db.projection import write_projection
from domain.notices import Notice
from domain.projection import Settlement


async def write_settlement(
    session: AsyncSession, settlement: Settlement
) -> tuple[bool, list[tuple[Notice, int, bool]]]:
    """Write `settlement` in the session's transaction: whether the dossier row was written
    (`write_projection`), and each notice with its outbox id and whether this call wrote it."""
    projection = settlement.projection
    applied = await write_projection(session, projection) if projection else False
    return applied, [(n, *await write_notice(session, n)) for n in settlement.notices]


# SQLSTATE classes of a refusal of the data itself: data exception (an untranslatable character,
# a string too long, a number out of range), integrity constraint, program limit (a row too big).
_DATA_REFUSED = ("22", "23", "54")


def refused_by_database(failed: BaseException) -> bool:
    """Whether `failed` is the database refusing the data (no retry cures it), not the
    database being away or busy. Reads the whole chain: SQLAlchemy's error, the driver's, and
    what the driver could not even encode (a lone surrogate, an integer beyond 64 bits)."""
    pending: list[BaseException | None] = [failed]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, DataError | IntegrityError | UnicodeError | OverflowError):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and state[:2] in _DATA_REFUSED:
            return True
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return False
