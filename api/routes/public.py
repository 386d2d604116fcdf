"""The citizens' look-up (API.md, "Citizens"): no token; the phone must match the applicant's.
Matching, rate limits and what is shown are `service.public`'s, which the look-up page
(`web.pages.lookup`) calls too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import ServicesDep, SessionDep, client_address
from service import public
from service.public import PublicDossier, PublicProgress

router = APIRouter(prefix="/public/v1", tags=["citizens"])

Code = Annotated[str, Path(min_length=1, max_length=64)]
Phone = Annotated[str | None, Query(max_length=32)]


@router.get("/dossiers/{code}")
async def look_up(
    request: Request, code: Code, services: ServicesDep, db: SessionDep, phone: Phone = None
) -> PublicDossier:
    """Where the dossier stands: 404 `dossier_not_found` for a wrong or missing phone as for an
    unknown code; 429 `rate_limited` beyond the limits per address and per code."""
    found = await public.find(db, services.lookup_limits, client_address(request), code, phone)
    return public.public_dossier(found)


@router.get("/dossiers/{code}/progress")
async def look_up_progress(
    request: Request, code: Code, services: ServicesDep, db: SessionDep, phone: Phone = None
) -> PublicProgress:
    """The same, plus the apology's new date, what to supply while a supplement is awaited and
    the steps the applicant was told of (no agency, no consultation, no refused attempt): what
    the look-up page shows. Matched and limited as the look-up above (one attempt each)."""
    found = await public.find(db, services.lookup_limits, client_address(request), code, phone)
    return await public.progress(db, found)
