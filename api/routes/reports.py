"""The oversight reports (API.md, "Oversight reports"): consulted agencies' delays for the
Department of Home Affairs (R8), the SOS audit for the Office of the PPC (R9), on-time figures in
the categories of Circular 01/2018 (R11) and the dossiers that went late without an apology
(R13). Each as JSON, CSV or Excel (`?format=`), for a period of local dates `from`–`to`.

The figures are SQL aggregations (`db.reports`); this module checks who asks and the period, and
lays the answer out as JSON or as a spreadsheet with Vietnamese headers (`api.spreadsheets`).
The JSON lists that can grow with the number of dossiers (refused SOS attempts, late dossiers)
are paginated as API.md's lists are; the files hold every row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StrictStr

from api.auth import require_roles
from api.deps import ActorDep, Cursor, Limit, SessionDep, decode_cursor, encode_cursor
from api.problems import Problem
from api.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Column, Table, csv_bytes, xlsx_bytes
from db import reports
from domain.commands import Role
from domain.dossier import STATUS_LABELS_VI, DossierStatus
from domain.localtime import when

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
T = TypeVar("T")

From = Annotated[date, Query(alias="from", description="first local date of the period")]
To = Annotated[date, Query(alias="to", description="last local date of the period, included")]
Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(description="json (default), csv (UTF-8 with BOM) or xlsx (Excel)"),
]

# Dates a period may hold: the instants at its ends must exist on both databases.
_EARLIEST, _LATEST = date(2000, 1, 1), date(8999, 12, 31)

_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, or with `format=csv` / `format=xlsx` a file to download",
        "content": {
            CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

SOS_ACTIONS_VI = {"supplement": "Yêu cầu bổ sung", "stop": "Dừng xử lý", "return": "Trả hồ sơ"}


class ReportPeriod(BaseModel):
    """The period a report covers, as asked."""

    from_: date = Field(serialization_alias="from")
    to: date


def _period(start: date, end: date) -> ReportPeriod:
    """The period `from`–`to`, or 422 `invalid_period`."""
    if end < start:
        raise Problem("invalid_period", f"`to` ({end}) is before `from` ({start})")
    if start < _EARLIEST or end > _LATEST:
        raise Problem("invalid_period", f"the period must lie between {_EARLIEST} and {_LATEST}")
    return ReportPeriod(from_=start, to=end)


async def _figures(compute: Awaitable[T]) -> T:
    """Await a report; a calendar missing from the database is a 503 with its code."""
    try:
        return await compute
    except reports.CalendarNotSynced as missing:
        raise Problem("calendar_not_synced", str(missing)) from missing


def _file(
    fmt: Literal["csv", "xlsx"], name: str, period: ReportPeriod, tables: Sequence[Table]
) -> Response:
    """The tables as a download named after the report and its period."""
    if fmt == "csv":
        body, media_type = csv_bytes(tables), CSV_MEDIA_TYPE
    else:
        body, media_type = xlsx_bytes(tables), XLSX_MEDIA_TYPE
    filename = f"{name}_{period.from_.isoformat()}_{period.to.isoformat()}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _rows(items: Sequence[BaseModel], **derived: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """Items as spreadsheet rows, with columns `derived` from each item."""
    return [
        {**item.model_dump(), **{key: make(item) for key, make in derived.items()}}
        for item in items
    ]


# --- R8: consulted agencies' delays ------------------------------------------------------------


class AgencyDelays(ReportPeriod):
    """Per consulted agency, its consultations requested in the period (R8), as they stand at
    `as_of`. One page: its rows are bounded by the catalogue."""

    as_of: datetime
    items: list[reports.AgencyDelayRow]
    next_cursor: None = None


AGENCY_DELAY_COLUMNS = [
    Column("agency", "Mã cơ quan"),
    Column("agency_name", "Cơ quan được xin ý kiến"),
    Column("consultations", "Số lượt xin ý kiến", "int"),
    Column("answered_on_time", "Trả lời đúng hạn", "int"),
    Column("answered_late", "Trả lời trễ hạn", "int"),
    Column("overdue_unanswered", "Quá hạn chưa trả lời", "int"),
    Column("awaiting", "Chưa đến hạn trả lời", "int"),
    Column("cancelled", "Đã hủy (hồ sơ rút)", "int"),
    Column("reminders_1", "Nhắc lần 1", "int"),
    Column("reminders_2", "Nhắc lần 2 (đồng gửi Sở Nội vụ)", "int"),
    Column("delay_working_days_total", "Tổng số ngày làm việc trễ", "int"),
    Column("delay_working_days_max", "Số ngày làm việc trễ nhiều nhất", "int"),
    Column("late_without_cause", "Trễ hạn không nêu lý do", "int"),
    Column("on_time_share", "Tỷ lệ trả lời đúng hạn", "share"),
]


@router.get("/agency-delays", response_model=AgencyDelays, responses=_FILES)
async def agency_delays(
    actor: ActorDep, db: SessionDep, start: From, end: To, format: Format = "json"
) -> AgencyDelays | Response:
    """Consulted agencies' delays in working days (R8), for the Department of Home Affairs and
    inspectors: per agency, its consultations requested in the period, answered on time or
    late, overdue and unanswered now, reminders received, working days of delay (late answers
    to their answer, overdue ones to now; cancelled consultations count no delay), late answers
    without a cause (R7), and its share answered on time."""
    require_roles(actor, Role.HOME_AFFAIRS, Role.INSPECTOR)
    period = _period(start, end)
    now = datetime.now(UTC)
    rows = await _figures(reports.agency_delays(db, start=start, end=end, now=now))
    if format == "json":
        return AgencyDelays(**period.model_dump(), as_of=now, items=rows)
    table = Table("Trễ hạn cơ quan phối hợp", AGENCY_DELAY_COLUMNS, _rows(rows))
    return _file(format, "tre-han-co-quan-phoi-hop", period, [table])


# --- R9: the SOS audit ---------------------------------------------------------------------------


class SosAuditPage(ReportPeriod, reports.SosAudit):
    """The SOS audit of the period (R9). `rejected` is paginated (`limit`, `cursor`,
    `next_cursor`); `rejected_total` counts them all."""

    next_cursor: str | None


SOS_SUMMARY_COLUMNS = [Column("figure", "Chỉ tiêu"), Column("count", "Số lượng", "int")]
SOS_BY_AGENCY_COLUMNS = [
    Column("agency", "Mã cơ quan"),
    Column("action_vi", "Thao tác SOS"),
    Column("accepted", "Được chấp nhận", "int"),
    Column("rejected", "Bị từ chối", "int"),
]
SOS_REJECTED_COLUMNS = [
    Column("dossier", "Mã hồ sơ"),
    Column("at", "Thời điểm", "time"),
    Column("actor", "Người thực hiện"),
    Column("actor_agency", "Cơ quan"),
    Column("action_vi", "Thao tác SOS"),
    Column("code", "Mã lý do từ chối"),
    Column("reason", "Lý do từ chối"),
    Column("request_reason", "Lý do cán bộ nêu"),
    Column("awaiting_vi", "Đang chờ ý kiến của"),
]


def action_vi(item: reports.SosByAgency | reports.RejectedSos) -> str:
    """The SOS action in Vietnamese, as the officers' screen names it."""
    return SOS_ACTIONS_VI.get(item.action or "", item.action or "")


def _awaited(rejected: reports.RejectedSos) -> str:
    return "; ".join(
        f"{a.agency} (hạn {when(a.deadline)}{', quá hạn' if a.overdue else ''})"
        for a in rejected.awaiting
    )


def _sos_tables(audit: reports.SosAudit) -> list[Table]:
    summary = [
        ("Hồ sơ trả kết quả mà không có kết quả giải quyết (R5)", audit.closed_without_result),
        (
            "Hồ sơ rút không có xác nhận của thủ trưởng (R6)",
            audit.withdrawals_without_head_confirmation,
        ),
        ("Hồ sơ kết thúc bất thường (R5)", audit.abnormal_closes),
        ("Lượt SOS bị từ chối (R4)", audit.rejected_total),
    ]
    return [
        Table(
            "Tổng hợp",
            SOS_SUMMARY_COLUMNS,
            [{"figure": figure, "count": count} for figure, count in summary],
        ),
        Table(
            "SOS theo cơ quan", SOS_BY_AGENCY_COLUMNS, _rows(audit.by_agency, action_vi=action_vi)
        ),
        Table(
            "SOS bị từ chối",
            SOS_REJECTED_COLUMNS,
            _rows(audit.rejected, action_vi=action_vi, awaiting_vi=_awaited),
        ),
    ]


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
    require_roles(actor, Role.INSPECTOR)
    period = _period(start, end)
    if format != "json":
        audit = await _figures(reports.sos_audit(db, start=start, end=end))
        return _file(format, "kiem-tra-sos", period, _sos_tables(audit))
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr, StrictInt])
    audit = await _figures(
        reports.sos_audit(db, start=start, end=end, rejected_limit=limit + 1, rejected_after=after)
    )
    more = len(audit.rejected) > limit
    audit.rejected = audit.rejected[:limit]
    last = audit.rejected[-1] if more else None
    return SosAuditPage(
        **period.model_dump(),
        **audit.model_dump(),
        next_cursor=encode_cursor([last.at.isoformat(), last.dossier, last.seq]) if last else None,
    )


# --- R11: on time, in the categories of Circular 01/2018 -------------------------------------


class OnTime(ReportPeriod, reports.OnTimeReport):
    """Dossiers closed in the period per lead agency and per procedure: early, on time or late
    (Circular 01/2018), stopped and supplemented ones apart, never counted on time (R11)."""


_ON_TIME_COUNTS = [
    Column("closed", "Hồ sơ đã kết thúc", "int"),
    Column("completed", "Đã trả kết quả", "int"),
    Column("early", "Trước hạn", "int"),
    Column("on_time", "Đúng hạn", "int"),
    Column("late", "Trễ hạn", "int"),
    Column("stopped", "Có tạm dừng (tính riêng)", "int"),
    Column("supplemented", "Có bổ sung (tính riêng)", "int"),
    Column("returned", "Trả lại hồ sơ", "int"),
    Column("withdrawn", "Rút hồ sơ", "int"),
    Column("abnormal", "Kết thúc bất thường", "int"),
    Column("apologised", "Có xin lỗi, hẹn lại", "int"),
    Column("on_time_share", "Tỷ lệ trước hạn và đúng hạn", "share"),
]
ON_TIME_BY_AGENCY_COLUMNS = [
    Column("lead_agency", "Mã cơ quan"),
    Column("agency_name", "Cơ quan chủ trì"),
    *_ON_TIME_COUNTS,
]
ON_TIME_BY_PROCEDURE_COLUMNS = [
    Column("lead_agency", "Mã cơ quan chủ trì"),
    Column("procedure_code", "Mã thủ tục"),
    Column("procedure_name", "Tên thủ tục"),
    *_ON_TIME_COUNTS,
]


@router.get("/on-time", response_model=OnTime, responses=_FILES)
async def on_time(
    actor: ActorDep, db: SessionDep, start: From, end: To, format: Format = "json"
) -> OnTime | Response:
    """On-time figures of the dossiers closed in the period (R11), per lead agency and per
    procedure: a completed dossier is early, on time or late by the local date of its handover
    against the date it was due, and late as well if it went late; one stopped or supplemented
    on the way is shown apart, never as on time; returned, withdrawn and abnormally closed
    dossiers are counted apart too."""
    require_roles(actor, Role.HOME_AFFAIRS, Role.INSPECTOR)
    period = _period(start, end)
    report = await _figures(reports.on_time(db, start=start, end=end))
    if format == "json":
        return OnTime(**period.model_dump(), **report.model_dump())
    return _file(
        format,
        "dung-han",
        period,
        [
            Table("Theo cơ quan chủ trì", ON_TIME_BY_AGENCY_COLUMNS, _rows(report.by_agency)),
            Table("Theo thủ tục", ON_TIME_BY_PROCEDURE_COLUMNS, _rows(report.by_procedure)),
        ],
    )


# --- R13: late without an apology -----------------------------------------------------------------


class LateWithoutApologyPage(ReportPeriod):
    """Dossiers that went late in the period with no apology ever given (R13), paginated."""

    items: list[reports.LateWithoutApology]
    next_cursor: str | None


LATE_WITHOUT_APOLOGY_COLUMNS = [
    Column("dossier", "Mã hồ sơ"),
    Column("lead_agency", "Mã cơ quan chủ trì"),
    Column("procedure_code", "Mã thủ tục"),
    Column("procedure_name", "Tên thủ tục"),
    Column("status_vi", "Tình trạng hiện tại"),
    Column("due_at", "Hạn giải quyết", "time"),
    Column("late_at", "Thời điểm trễ hạn", "time"),
    Column("apology_reminder_sent", "Đã nhắc xin lỗi", "yes_no"),
]


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
    require_roles(actor, Role.HOME_AFFAIRS, Role.INSPECTOR)
    period = _period(start, end)
    if format != "json":
        rows = await _figures(reports.late_without_apology(db, start=start, end=end))

        def status_vi(item: reports.LateWithoutApology) -> str:
            return STATUS_LABELS_VI.get(DossierStatus(item.status), item.status)

        table = Table(
            "Trễ hạn chưa xin lỗi", LATE_WITHOUT_APOLOGY_COLUMNS, _rows(rows, status_vi=status_vi)
        )
        return _file(format, "tre-han-chua-xin-loi", period, [table])
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr])
    rows = await _figures(
        reports.late_without_apology(db, start=start, end=end, limit=limit + 1, after=after)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return LateWithoutApologyPage(
        **period.model_dump(),
        items=rows,
        next_cursor=encode_cursor([last.late_at.isoformat(), last.dossier]) if last else None,
    )
