"""Notices (API.md, "Notices"): what the service sent, to whom. Callers see the notices addressed
or copied to their agency, and those to the applicant of the dossiers their agency leads (sent
in its name); Home Affairs and inspectors see all."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, StrictInt

from api.deps import ActorDep, Cursor, Limit, SessionDep, decode_cursor, encode_cursor
from db.notices import list_notices
from domain import rules
from domain.notices import NoticeKind

router = APIRouter(prefix="/api/v1", tags=["notices"])


class NoticeOut(BaseModel):
    id: int
    kind: NoticeKind
    dossier: str
    to: str
    cc: list[str]
    sent_at: datetime
    subject: str
    body: str


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None


@router.get("/notices")
async def notices(
    actor: ActorDep,
    db: SessionDep,
    dossier: str | None = None,
    agency: str | None = None,
    kind: NoticeKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NoticePage:
    led_by = None
    if not rules.sees_every_agency(actor):
        agency = led_by = actor.agency  # whatever was asked: one's own agency's notices only
    rows = await list_notices(
        db,
        dossier=dossier,
        agency=agency,
        led_by=led_by,
        kind=kind.value if kind else None,
        limit=limit + 1,
        after_id=decode_cursor(cursor, StrictInt),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(
        items=[NoticeOut.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=encode_cursor(rows[-1].id) if more else None,
    )
