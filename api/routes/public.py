"""The citizens' look-up (API.md, "Citizens"): no token; the phone must match the applicant's.
A wrong or missing phone answers exactly like an unknown code, and nothing else leaks.

Codes are sequential (Circular 01), so guessing is limited per client address and per dossier
code (`settings.public_lookup*`): beyond, 429 `rate_limited` with `Retry-After`, counted the
same for a code that exists and one that does not."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from api.deps import ServicesDep, SessionDep
from api.problems import Problem
from api.rate_limits import admit
from db.read_model import find_for_public
from domain.dossier import STATUS_LABELS_VI, DossierStatus

router = APIRouter(prefix="/public/v1", tags=["citizens"])


class PublicDossier(BaseModel):
    code: str
    procedure_name: str
    status: DossierStatus
    status_label_vi: str
    received_at: datetime
    due_at: datetime | None
    completed_at: datetime | None


@router.get("/dossiers/{code}")
async def look_up(
    request: Request,
    code: Annotated[str, Path(min_length=1, max_length=64)],
    services: ServicesDep,
    db: SessionDep,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> PublicDossier:
    limits = services.lookup_limits
    address = request.client.host if request.client else "unknown"
    admit((limits.by_address, address), (limits.by_dossier, code))
    found = await find_for_public(db, code, phone) if phone else None
    if found is None:
        raise Problem("dossier_not_found", f"no dossier {code} for this phone number")
    status = DossierStatus(found.status)
    return PublicDossier(
        code=found.code,
        procedure_name=found.procedure_name,
        status=status,
        status_label_vi=STATUS_LABELS_VI[status],
        received_at=found.received_at,
        due_at=found.due_at,
        completed_at=found.completed_at,
    )
