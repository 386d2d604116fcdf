"""`/healthz` (the process is up) and `/readyz` (Temporal and the database answer, with details
that do not decide readiness: the working-day calendar's confirmed years)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import ServicesDep
from domain.calendar import ScheduleCoverage
from domain.localtime import local_date

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up; says nothing about Temporal or the database (that is `/readyz`)."""
    return {"status": "ok"}


class CalendarDetail(BaseModel):
    """The working-day calendar's schedule: which years the province's file confirms, and a
    warning while this year or next is still holidays.VN's guess (or the file cannot be read)."""

    confirmed_years: list[int]
    unconfirmed_years: list[int]
    to_confirm: list[date]
    warning: str | None


class ReadinessDetails(BaseModel):
    calendar: CalendarDetail


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, bool]
    details: ReadinessDetails


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "Temporal or the database is down", "model": Readiness}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {"temporal": await _temporal(services), "database": await _database(services)}
    ready = all(checks.values())
    readiness = Readiness(
        status="ready" if ready else "unavailable",
        checks=checks,
        details=ReadinessDetails(calendar=_calendar(services)),
    )
    return JSONResponse(readiness.model_dump(mode="json"), status_code=200 if ready else 503)


def _calendar(services: ServicesDep) -> CalendarDetail:
    """A detail, not a check: an unconfirmed year still has holidays.VN's days, and a broken file
    is reported by the worker's calendar look-ups themselves."""
    try:
        overrides = services.calendar.calendar().overrides
    except ValueError as error:  # a malformed overrides file, named with the bad entry
        return CalendarDetail(
            confirmed_years=[], unconfirmed_years=[], to_confirm=[], warning=str(error)
        )
    coverage = ScheduleCoverage.of(overrides, local_date(datetime.now(UTC)))
    return CalendarDetail(
        confirmed_years=list(coverage.confirmed_years),
        unconfirmed_years=list(coverage.unconfirmed_years),
        to_confirm=list(coverage.to_confirm),
        warning=coverage.warning,
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
