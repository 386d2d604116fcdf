"""`Idempotency-Key` on `POST /api/v1/dossiers`: a client that retries a receipt after a network
error gets the dossier of its first attempt, never a second one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import IdempotencyRecord


async def claim_key(
    session: AsyncSession, key: str, user_id: str, new_code: Callable[[], Awaitable[str]]
) -> tuple[str, bool]:
    """The dossier code this key stands for, and whether an earlier request claimed it.

    A new key takes the code `new_code()` gives; of two concurrent first requests, one insert
    wins (primary key on key and user) and both get its code. Commits.
    """
    earlier = await session.get(IdempotencyRecord, (key, user_id))
    if earlier is not None:
        return earlier.dossier, True
    code = await new_code()
    insert = dialect_insert(session.bind.dialect.name)  # type: ignore[union-attr]
    await session.exec(  # type: ignore[call-overload]
        insert(IdempotencyRecord)
        .values(key=key, user_id=user_id, dossier=code)
        .on_conflict_do_nothing(index_elements=["key", "user_id"])
    )
    await session.commit()
    claimed = await session.get(IdempotencyRecord, (key, user_id), populate_existing=True)
    assert claimed is not None
    return claimed.dossier, claimed.dossier != code


async def reassign_key(session: AsyncSession, key: str, user_id: str, code: str) -> None:
    """The key now stands for `code` (its first code was found taken before any dossier had it)."""
    claimed = await session.get(IdempotencyRecord, (key, user_id))
    if claimed is not None:
        claimed.dossier = code
        session.add(claimed)
        await session.commit()
