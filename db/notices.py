"""Queries on the notice outbox, for the API's `GET /api/v1/notices` and the dossier timeline."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import DossierRecord, NoticeDeliveryRecord, NoticeRecord
from db.types import json_array_contains

APPLICANT = "applicant"  # the `to` of a notice to the dossier's applicant


async def list_notices(
    session: AsyncSession,
    *,
    dossier: str | None = None,
    agency: str | None = None,
    led_by: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> list[NoticeRecord]:
    """Notices in the order they were recorded, at most `limit`, those after `after_id` only.

    Filters combine with AND. `agency` keeps the notices addressed to that agency (`to`) or copied
    to it (`cc`), as API.md says callers see them; with `led_by` (the same agency, as a lead
    agency), also the notices to the applicant of the dossiers it leads: they go out in its name
    (a supplement request, a return, an apology), and its desk answers for them.

    Pagination is by keyset (`id > after_id`, the last id of the previous page): no page repeats
    or skips a row because others were written meanwhile, as OFFSET would. (On PostgreSQL a
    transaction may commit after one that took a later id; a notice committed that late shows
    up in a fresh listing.)
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    query = select(NoticeRecord).order_by(col(NoticeRecord.id)).limit(limit)
    if dossier is not None:
        query = query.where(NoticeRecord.dossier == dossier)
    if kind is not None:
        query = query.where(NoticeRecord.kind == kind)
    if agency is not None:
        # `cc` is searched as JSON, per dialect (db.types.json_array_contains: `json_each` on
        # SQLite, JSONB `@>` on PostgreSQL): an exact element match, unlike LIKE on a delimited
        # copy of the list, and no second copy to keep in step; JSONB can take a GIN index.
        seen = [col(NoticeRecord.to) == agency, json_array_contains(NoticeRecord.cc, agency)]
        if led_by is not None:
            led = select(DossierRecord.code).where(DossierRecord.lead_agency == led_by)
            seen.append(and_(col(NoticeRecord.to) == APPLICANT, col(NoticeRecord.dossier).in_(led)))
        query = query.where(or_(*seen))
    if after_id is not None:
        query = query.where(col(NoticeRecord.id) > after_id)
    return list((await session.exec(query)).all())


async def deliveries_of(
    session: AsyncSession, keys: list[str]
) -> dict[str, list[NoticeDeliveryRecord]]:
    """How each notice of `keys` reached its recipients (`notice_deliveries`), by notice key:
    one query for a page of notices. A notice no attempt has finished for has no rows yet."""
    by_key: dict[str, list[NoticeDeliveryRecord]] = {key: [] for key in keys}
    if not keys:
        return by_key
    query = select(NoticeDeliveryRecord).where(col(NoticeDeliveryRecord.notice_key).in_(keys))
    for row in (await session.exec(query)).all():
        by_key[row.notice_key].append(row)
    return by_key
