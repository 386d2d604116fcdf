"""`/healthz` (the process is up) and `/readyz` (Temporal and the database answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up; says nothing about Temporal or the database (that is `/readyz`)."""
    return {"status": "ok"}


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, bool]


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "description": "Temporal or the database is down",
            "content": {"application/json": {"schema": Readiness.model_json_schema()}},
        }
    },
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {"temporal": await _temporal(services), "database": await _database(services)}
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _temporal(services: ServicesDep) -> bool:
    try:
        return await services.client.service_client.check_health()
    except Exception:  # any failure to answer is "not ready"
        return False


async def _database(services: ServicesDep) -> bool:
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure to answer is "not ready"
        return False
