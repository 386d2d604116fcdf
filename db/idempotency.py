"""`Idempotency-Key` on `POST /api/v1/dossiers`: a client that retries a receipt after a network
error gets the dossier of its first attempt, never a second one."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import IdempotencyRecord


async def claimed_code(session: AsyncSession, key: str, user_id: str) -> str | None:
    """The dossier code an earlier request with this key claimed, if any."""
    earlier = await session.get(IdempotencyRecord, (key, user_id), populate_existing=True)
    return earlier.dossier if earlier is not None else None


async def claim_key(session: AsyncSession, key: str, user_id: str, code: str) -> tuple[str, bool]:
    """Claim the key for `code`; the code the key stands for, and whether a concurrent request
    claimed it first (one insert wins: primary key on key and user). Commits. A claim is final:
    the key never stands for another code, so its twins can only start, or join, one dossier."""
    insert = dialect_insert(session.bind.dialect.name)  # type: ignore[union-attr]
    await session.exec(  # type: ignore[call-overload]
        insert(IdempotencyRecord)
        .values(key=key, user_id=user_id, dossier=code)
        .on_conflict_do_nothing(index_elements=["key", "user_id"])
    )
    await session.commit()
    claimed = await claimed_code(session, key, user_id)
    assert claimed is not None
    return claimed, claimed != code
