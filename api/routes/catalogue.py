"""The catalogue (API.md, "Catalogue"): agencies and procedures. Everyone signed in reads it;
admins add and change entries (R2: each procedure carries the maximum consultation time its lead
agency proposes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, StrictStr

from api.auth import admin_only
from api.deps import ActorDep, Cursor, Limit, SessionDep, decode_cursor, encode_cursor
from api.problems import Problem
from api.views import agency_of, procedure_of
from db import catalogue as catalogue_db
from domain.catalogue import Agency
from domain.dossier import Procedure

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

Code = Annotated[str, Path(min_length=1, max_length=64)]
# Before the body is validated: a non-admin gets 403 whatever he sent.
ADMINS_ONLY = Depends(admin_only)


class AgencyPage(BaseModel):
    items: list[Agency]
    next_cursor: str | None


class ProcedurePage(BaseModel):
    items: list[Procedure]
    next_cursor: str | None


@router.get("/agencies")
async def list_agencies(
    actor: ActorDep, db: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> AgencyPage:
    rows = await catalogue_db.list_agencies(
        db, limit=limit + 1, after=decode_cursor(cursor, StrictStr)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return AgencyPage(
        items=[agency_of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].code) if more else None,
    )


@router.get("/procedures")
async def list_procedures(
    actor: ActorDep, db: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> ProcedurePage:
    rows = await catalogue_db.list_procedures(
        db, limit=limit + 1, after=decode_cursor(cursor, StrictStr)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return ProcedurePage(
        items=[procedure_of(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].code) if more else None,
    )


@router.post("/agencies", status_code=status.HTTP_201_CREATED, dependencies=[ADMINS_ONLY])
async def add_agency(agency: Agency, db: SessionDep) -> Agency:
    if await catalogue_db.get_agency(db, agency.code) is not None:
        raise Problem("agency_exists", f"agency {agency.code} exists")
    return agency_of(await _saved(catalogue_db.upsert_agency(db, agency)))


@router.put("/agencies/{code}", dependencies=[ADMINS_ONLY])
async def change_agency(code: Code, agency: Agency, db: SessionDep) -> Agency:
    if agency.code != code:
        raise Problem("validation_error", "the body's code is not the path's")
    if await catalogue_db.get_agency(db, code) is None:
        raise Problem("agency_not_found", f"no agency {code}")
    return agency_of(await _saved(catalogue_db.upsert_agency(db, agency)))


@router.post("/procedures", status_code=status.HTTP_201_CREATED, dependencies=[ADMINS_ONLY])
async def add_procedure(procedure: Procedure, db: SessionDep) -> Procedure:
    if await catalogue_db.get_procedure(db, procedure.code) is not None:
        raise Problem("procedure_exists", f"procedure {procedure.code} exists")
    return procedure_of(await _saved(catalogue_db.upsert_procedure(db, procedure)))


@router.put("/procedures/{code}", dependencies=[ADMINS_ONLY])
async def change_procedure(code: Code, procedure: Procedure, db: SessionDep) -> Procedure:
    if procedure.code != code:
        raise Problem("validation_error", "the body's code is not the path's")
    if await catalogue_db.get_procedure(db, code) is None:
        raise Problem("procedure_not_found", f"no procedure {code}")
    return procedure_of(await _saved(catalogue_db.upsert_procedure(db, procedure)))


async def _saved(saving):  # type: ignore[no-untyped-def]
    """A catalogue rule broken (unknown lead agency, a second home-affairs agency) is a 422."""
    try:
        return await saving
    except ValueError as broken:
        raise Problem("invalid_catalogue_entry", str(broken)) from broken
