"""The citizens' look-up (API.md, "Citizens"): no token; the phone must match the applicant's.
A wrong or missing phone answers exactly like an unknown code, and nothing else leaks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import SessionDep
from api.problems import Problem
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
    code: Annotated[str, Path(min_length=1, max_length=64)],
    db: SessionDep,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> PublicDossier:
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
