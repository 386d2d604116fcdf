"""The oversight reports (API.md, "Oversight reports"): consulted agencies' delays for the
Department of Home Affairs (R8), the SOS audit for the Office of the PPC (R9), on-time figures in
the R11 categories (early / on time / late) and the dossiers that went late without an apology
(R13). Each as JSON, CSV or Excel (`?format=`), for a period of local dates `from`–`to`.

The handlers translate HTTP to `service.reports`, which the pages call too: who may read which
report, the period's checks and the files' tables are decided there. The JSON lists that can
grow with the number of dossiers (refused SOS attempts, late dossiers) are paginated as API.md's
lists are; the files hold every row.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ActorDep, Cursor, Limit, SessionDep
from api.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from service import reports
from service.reports import AgencyDelays, LateWithoutApologyPage, OnTime, SosAuditPage

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

From = Annotated[date, Query(alias="from", description="first local date of the period")]
To = Annotated[date, Query(alias="to", description="last local date of the period, included")]
Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(description="json (default), csv (UTF-8 with BOM) or xlsx (Excel)"),
]

_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, or with `format=csv` / `format=xlsx` a file to download",
        "content": {
            CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/agency-delays", response_model=AgencyDelays, responses=_FILES)
async def agency_delays(
    actor: ActorDep, db: SessionDep, start: From, end: To, format: Format = "json"
) -> AgencyDelays | Response:
    """Consulted agencies' delays in working days (R8), for the Department of Home Affairs and
    inspectors: per agency, its consultations requested in the period, answered on time or
    late, overdue and unanswered now, reminders received, working days of delay (late answers
    to their answer, overdue ones to now; cancelled consultations count no delay), late answers
    without a cause (R7), and its share answered on time."""
    if format != "json":
        file = await reports.report_file(db, actor, reports.AGENCY_DELAYS, start, end, format)
        return file.response()
    return await reports.agency_delays(db, actor, start, end)


@router.get("/sos-audit", response_model=SosAuditPage, responses=_FILES)
async def sos_audit(
    actor: ActorDep,
    db: SessionDep,
    start: From,
    end: To,
    format: Format = "json",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SosAuditPage | Response:
    """The process audit (R9), for inspectors: SOS actions per agency and action, accepted and
    refused; each refused attempt with who, when, what, why and the agencies then awaited; the
    dossiers closed in the period without a result, withdrawn without the head's confirmation,
    or closed abnormally. The files hold every refused attempt."""
    if format != "json":
        file = await reports.report_file(db, actor, reports.SOS_AUDIT, start, end, format)
        return file.response()
    return await reports.sos_audit(db, actor, start, end, limit=limit, cursor=cursor)


@router.get("/on-time", response_model=OnTime, responses=_FILES)
async def on_time(
    actor: ActorDep, db: SessionDep, start: From, end: To, format: Format = "json"
) -> OnTime | Response:
    """On-time figures of the dossiers closed in the period (R11), per lead agency and per
    procedure: a completed dossier is early, on time or late by the local date of its handover
    against the date it was due, and late as well if it went late; one stopped or supplemented
    on the way is shown apart, never as on time; returned, withdrawn and abnormally closed
    dossiers are counted apart too."""
    if format != "json":
        file = await reports.report_file(db, actor, reports.ON_TIME, start, end, format)
        return file.response()
    return await reports.on_time(db, actor, start, end)


@router.get("/late-without-apology", response_model=LateWithoutApologyPage, responses=_FILES)
async def late_without_apology(
    actor: ActorDep,
    db: SessionDep,
    start: From,
    end: To,
    format: Format = "json",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LateWithoutApologyPage | Response:
    """Dossiers that went late in the period (their `late` event) and never had an apology with
    a new date (R13), by the time they went late, with whether the lead agency had the reminder
    a working day before. The files hold every dossier."""
    if format != "json":
        file = await reports.report_file(
            db, actor, reports.LATE_WITHOUT_APOLOGY, start, end, format
        )
        return file.response()
    return await reports.late_without_apology(db, actor, start, end, limit=limit, cursor=cursor)
