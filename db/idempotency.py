"""`Idempotency-Key`: a client that retries a POST after a network error gets the outcome of its
first attempt, never a second receipt or action; and a key sent again with another request is
refused rather than answered with the first one's outcome (IETF draft "The Idempotency-Key HTTP
Header Field": 422).

A key is claimed once per user with the fingerprint of its request (`fingerprint`): on
`POST /dossiers` for the code it made, on an action as `<code>/<action>/<key>` (Temporal's update
id does the rest: one update per id)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import IdempotencyRecord
from domain.commands import Command


def fingerprint(request: BaseModel) -> str:
    """The request's SHA-256 over its canonical JSON (what was asked, not how it was spelt:
    key order and spaces do not count); the actor (the key being per user) and the rest of a
    command's envelope (its expiry, new at each retry) are left out."""
    canonical = request.model_dump_json(exclude=set(Command.ENVELOPE))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claimed(session: AsyncSession, key: str, user_id: str) -> IdempotencyRecord | None:
    """The earlier claim of this key by this user, if any."""
    return await session.get(IdempotencyRecord, (key, user_id), populate_existing=True)


async def claim_key(
    session: AsyncSession, key: str, user_id: str, code: str, request_fingerprint: str
) -> IdempotencyRecord:
    """Claim the key for `code` and this request; the claim that stands (this one, or a
    concurrent request's that won: one insert wins, primary key on key and user). Commits. A
    claim is final: the key never stands for another code or request."""
    insert = dialect_insert(session.bind.dialect.name)  # type: ignore[union-attr]
    await session.exec(  # type: ignore[call-overload]
        insert(IdempotencyRecord)
        .values(key=key, user_id=user_id, dossier=code, fingerprint=request_fingerprint)
        .on_conflict_do_nothing(index_elements=["key", "user_id"])
    )
    await session.commit()
    stands = await claimed(session, key, user_id)
    assert stands is not None
    return stands


def reused(claim: IdempotencyRecord, request_fingerprint: str) -> bool:
    """The key was claimed by another request (keys from before fingerprints pass)."""
    return claim.fingerprint is not None and claim.fingerprint != request_fingerprint
