"""Notices (API.md, "Notices"): what the service sent, to whom, and how each was delivered
(`service.notices`). Callers see the notices addressed or copied to their agency, and those to the
applicant of the dossiers their agency leads (sent in its name); Home Affairs, inspectors and
admins see all."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import StrictInt

from api.deps import ActorDep, Cursor, Limit, SessionDep, decode_cursor, encode_cursor
from domain.notices import NoticeKind
from service.notices import NoticePage, list_notices

router = APIRouter(prefix="/api/v1", tags=["notices"])


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
    items, more = await list_notices(
        db,
        actor,
        dossier=dossier,
        agency=agency,
        kind=kind,
        limit=limit,
        after_id=decode_cursor(cursor, StrictInt),
    )
    return NoticePage(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)
