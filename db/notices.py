"""The notice outbox: a notice composed by the workflow written once, by its key (`write_notice`,
for the `settle_dossier` and `record_notice` activities and `db.rebuild`); queries for the API's
`GET /api/v1/notices` and the dossier timeline.

Activities run at least once: a worker may write the row and die before Temporal hears of it,
and the retry comes with the same notice. Its business key (`Notice.key`, unique in the table)
makes that retry harmless, and survives continue-as-new and resets, which run and activity ids
do not (TEMPORAL.md §2; R3: exactly one reminder of each level, R12: every notice is kept).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import structlog
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import dialect_insert
from db.models import DossierRecord, NoticeDeliveryRecord, NoticeRecord
from db.types import json_array_contains
from domain.notices import APPLICANT, Notice

log = structlog.get_logger(__name__)


async def write_notice(
    session: AsyncSession, notice: Notice, version: int | None = None
) -> tuple[int, bool]:
    """Write `notice` in the session's transaction unless its key is there already: its id,
    and whether this call wrote it. `version`: the dossier's version its settlement was at
    (fenced settlements, `db.settlement`).

    `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id` returns a row only to the call that
    wrote it. A concurrent writer of the same key cannot slip in between: PostgreSQL makes the
    second insert wait for the first one's commit, SQLite lets one writer at a time; the loser
    then reads the winner's row in the same transaction.
    """
    connection = await session.connection()
    statement = _insert_notice(connection.dialect.name)
    notice_id: int | None = (
        await connection.execute(statement, {**notice.model_dump(), "settlement_version": version})
    ).scalar_one_or_none()
    if notice_id is not None:
        return notice_id, True
    existing = (
        await session.exec(select(NoticeRecord).where(NoticeRecord.key == notice.key))
    ).one()
    assert existing.id is not None
    if Notice.model_validate(existing, from_attributes=True) != notice:
        # The same key for other content means two notices were given one identity: the first
        # is kept, and the second would be lost without this trace.
        log.warning("notice_key_reused", key=notice.key, dossier=notice.dossier, id=existing.id)
    return existing.id, False


@cache
def _insert_notice(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`, built and compiled once."""
    notices = NoticeRecord.__table__  # type: ignore[attr-defined]
    return (
        dialect_insert(dialect)(notices)
        .on_conflict_do_nothing(index_elements=[notices.c.key])
        .returning(notices.c.id)
    )


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
    """How each notice of `keys` reached its recipients (`notice_deliveries`), fresh from the
    database, by notice key: one query for a page of notices or a change's (`db.deliveries`). A
    notice no attempt has finished for has no rows yet."""
    by_key: dict[str, list[NoticeDeliveryRecord]] = {key: [] for key in keys}
    if not keys:
        return by_key
    query = select(NoticeDeliveryRecord).where(col(NoticeDeliveryRecord.notice_key).in_(keys))
    for row in (await session.exec(query.execution_options(populate_existing=True))).all():
        by_key[row.notice_key].append(row)
    return by_key
