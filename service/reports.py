"""The oversight reports (API.md, "Oversight reports"): consulted agencies' delays for the
Department of Home Affairs (R8), the SOS audit for the Office of the PPC (R9), on-time figures in
the R11 categories (early / on time / late) and the dossiers that went late without an apology
(R13), for a period of local dates `from`–`to`.

The JSON API (`api.routes.reports`) and the pages (`web.pages.reports`) both call these, so who
may read which report, the period's checks and the files' tables have one place. The figures are
SQL aggregations (`db.reports`); the files are spreadsheets with Vietnamese headers
(`api.spreadsheets`). The lists that can grow with the number of dossiers (refused SOS attempts,
late dossiers) come a page at a time; the files hold every row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

from fastapi import Response
from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StrictStr
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import require_roles
from api.deps import decode_cursor, encode_cursor
from api.problems import Problem
from api.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Column, Table, csv_bytes, xlsx_bytes
from db import catalogue as catalogue_db
from db import reports
from db.pages import Page, beyond
from domain.commands import Actor, Role
from domain.dossier import STATUS_LABELS_VI, DossierStatus
from domain.localtime import when

T = TypeVar("T")
FileFormat = Literal["csv", "xlsx"]

# Dates a period may hold: the instants at its ends must exist on both databases.
EARLIEST, LATEST = date(2000, 1, 1), date(8999, 12, 31)


@dataclass(frozen=True)
class Report:
    """One report: its address (`/api/v1/reports/<slug>`), its files' name and who reads it."""

    slug: str
    file_name: str  # the downloads' name, before the period
    readers: tuple[Role, ...]  # any one of these roles may read it


AGENCY_DELAYS = Report(
    "agency-delays", "tre-han-co-quan-phoi-hop", (Role.HOME_AFFAIRS, Role.INSPECTOR)
)
SOS_AUDIT = Report("sos-audit", "kiem-tra-sos", (Role.INSPECTOR,))
ON_TIME = Report("on-time", "dung-han", (Role.HOME_AFFAIRS, Role.INSPECTOR))
LATE_WITHOUT_APOLOGY = Report(
    "late-without-apology", "tre-han-chua-xin-loi", (Role.HOME_AFFAIRS, Role.INSPECTOR)
)
REPORTS = {
    report.slug: report for report in (AGENCY_DELAYS, SOS_AUDIT, ON_TIME, LATE_WITHOUT_APOLOGY)
}


def may_read(actor: Actor, report: Report) -> bool:
    return any(actor.has(role) for role in report.readers)


def readable_by(actor: Actor) -> list[Report]:
    """The reports `actor` may read, in the order the API lists them."""
    return [report for report in REPORTS.values() if may_read(actor, report)]


def reports_of(actor: Actor) -> list[Report]:
    """The reports `actor` may read; 403 `forbidden` if none (the reports' page as a whole)."""
    readers = dict.fromkeys(role for report in REPORTS.values() for role in report.readers)
    require_roles(actor, *readers)
    return readable_by(actor)


def _require_reader(actor: Actor, report: Report) -> None:
    """403 `forbidden` unless `actor` reads `report`."""
    require_roles(actor, *report.readers)


class ReportPeriod(BaseModel):
    """The period a report covers, as asked."""

    from_: date = Field(serialization_alias="from")
    to: date


def period(start: date, end: date) -> ReportPeriod:
    """The period `from`–`to`, or 422 `invalid_period`."""
    if end < start:
        raise Problem("invalid_period", f"`to` ({end}) is before `from` ({start})")
    if start < EARLIEST or end > LATEST:
        raise Problem("invalid_period", f"the period must lie between {EARLIEST} and {LATEST}")
    return ReportPeriod(from_=start, to=end)


async def _figures(compute: Awaitable[T]) -> T:
    """Await a report; a calendar missing from the database is a 503 with its code."""
    try:
        return await compute
    except reports.CalendarNotSynced as missing:
        raise Problem("calendar_not_synced", str(missing)) from missing


def _rows(items: Sequence[BaseModel], **derived: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """Items as spreadsheet rows, with columns `derived` from each item."""
    return [
        {**item.model_dump(), **{key: make(item) for key, make in derived.items()}}
        for item in items
    ]


async def agency_names(db: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """The catalogue's names of the agencies a report names, by code."""
    return await catalogue_db.agency_names(db, codes)


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


async def agency_delays(db: AsyncSession, actor: Actor, start: date, end: date) -> AgencyDelays:
    """Consulted agencies' delays in working days (R8), for the Department of Home Affairs and
    inspectors, as they stand now."""
    _require_reader(actor, AGENCY_DELAYS)
    asked = period(start, end)
    now = datetime.now(UTC)
    rows = await _figures(reports.agency_delays(db, start=start, end=end, now=now))
    return AgencyDelays(**asked.model_dump(), as_of=now, items=rows)


async def _agency_delay_tables(db: AsyncSession, asked: ReportPeriod) -> list[Table]:
    rows = await _figures(
        reports.agency_delays(db, start=asked.from_, end=asked.to, now=datetime.now(UTC))
    )
    return [Table("Trễ hạn cơ quan phối hợp", AGENCY_DELAY_COLUMNS, _rows(rows))]


# --- R9: the SOS audit ---------------------------------------------------------------------------


class SosAuditPage(ReportPeriod, reports.SosAudit):
    """The SOS audit of the period (R9). `rejected` is paginated (`limit`, `cursor`,
    `next_cursor`); `rejected_total` counts them all."""

    next_cursor: str | None


SOS_ACTIONS_VI = {"supplement": "Yêu cầu bổ sung", "stop": "Dừng xử lý", "return": "Trả hồ sơ"}

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


def awaited_vi(rejected: reports.RejectedSos) -> str:
    """The agencies a refused SOS awaited, with their deadlines, in one line of Vietnamese."""
    return "; ".join(
        f"{a.agency} (hạn {when(a.deadline)}{', quá hạn' if a.overdue else ''})"
        for a in rejected.awaiting
    )


def sos_summary(audit: reports.SosAudit) -> list[tuple[str, int]]:
    """The audit's counts, each with its Vietnamese name."""
    return [
        ("Hồ sơ trả kết quả mà không có kết quả giải quyết (R5)", audit.closed_without_result),
        (
            "Hồ sơ rút không có xác nhận của thủ trưởng (R6)",
            audit.withdrawals_without_head_confirmation,
        ),
        ("Hồ sơ kết thúc bất thường (R5)", audit.abnormal_closes),
        ("Lượt SOS bị từ chối (R4)", audit.rejected_total),
    ]


async def sos_audit(
    db: AsyncSession,
    actor: Actor,
    start: date,
    end: date,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> SosAuditPage:
    """The process audit (R9), for inspectors: SOS actions per agency and action, accepted and
    refused; a page of the refused attempts; the dossiers closed against the rules."""
    _require_reader(actor, SOS_AUDIT)
    asked = period(start, end)
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr, StrictInt])
    audit = await _figures(
        reports.sos_audit(
            db, start=start, end=end, rejected_limit=beyond(limit), rejected_after=after
        )
    )
    rejected = Page.of(audit.rejected, limit)
    audit.rejected, last = rejected.rows, rejected.last
    return SosAuditPage(
        **asked.model_dump(),
        **audit.model_dump(),
        next_cursor=encode_cursor([last.at.isoformat(), last.dossier, last.seq]) if last else None,
    )


async def _sos_tables(db: AsyncSession, asked: ReportPeriod) -> list[Table]:
    audit = await _figures(reports.sos_audit(db, start=asked.from_, end=asked.to))
    return [
        Table(
            "Tổng hợp",
            SOS_SUMMARY_COLUMNS,
            [{"figure": figure, "count": count} for figure, count in sos_summary(audit)],
        ),
        Table(
            "SOS theo cơ quan", SOS_BY_AGENCY_COLUMNS, _rows(audit.by_agency, action_vi=action_vi)
        ),
        Table(
            "SOS bị từ chối",
            SOS_REJECTED_COLUMNS,
            _rows(audit.rejected, action_vi=action_vi, awaiting_vi=awaited_vi),
        ),
    ]


# --- R11: on time: early, on time or late, stopped and supplemented apart ---------------------


class OnTime(ReportPeriod, reports.OnTimeReport):
    """Dossiers closed in the period per lead agency and per procedure (and per receiving desk,
    `by_desk`): early, on time or late (R11, docs/legal-frame.md), stopped and supplemented
    ones apart, never counted on time."""


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
# Decree 118/2025: a dossier counts under the desk that received it, whoever led it.
ON_TIME_BY_DESK_COLUMNS = [
    Column("receiving_desk", "Mã nơi tiếp nhận"),
    Column("desk_name", "Nơi tiếp nhận"),
    *_ON_TIME_COUNTS,
]


async def on_time(db: AsyncSession, actor: Actor, start: date, end: date) -> OnTime:
    """On-time figures of the dossiers closed in the period (R11), per lead agency, per
    procedure and per receiving desk."""
    _require_reader(actor, ON_TIME)
    asked = period(start, end)
    report = await _figures(reports.on_time(db, start=start, end=end))
    return OnTime(**asked.model_dump(), **report.model_dump())


async def _on_time_tables(db: AsyncSession, asked: ReportPeriod) -> list[Table]:
    report = await _figures(reports.on_time(db, start=asked.from_, end=asked.to))
    return [
        Table("Theo cơ quan chủ trì", ON_TIME_BY_AGENCY_COLUMNS, _rows(report.by_agency)),
        Table("Theo thủ tục", ON_TIME_BY_PROCEDURE_COLUMNS, _rows(report.by_procedure)),
        Table("Theo nơi tiếp nhận", ON_TIME_BY_DESK_COLUMNS, _rows(report.by_desk)),
    ]


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


def status_vi(item: reports.LateWithoutApology) -> str:
    """The dossier's status as it stands, in Vietnamese."""
    return STATUS_LABELS_VI.get(DossierStatus(item.status), item.status)


async def late_without_apology(
    db: AsyncSession,
    actor: Actor,
    start: date,
    end: date,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> LateWithoutApologyPage:
    """A page of the dossiers that went late in the period and never had an apology with a new
    date (R13), by the time they went late."""
    _require_reader(actor, LATE_WITHOUT_APOLOGY)
    asked = period(start, end)
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr])
    rows = await _figures(
        reports.late_without_apology(db, start=start, end=end, limit=beyond(limit), after=after)
    )
    page = Page.of(rows, limit)
    last = page.last
    return LateWithoutApologyPage(
        **asked.model_dump(),
        items=page.rows,
        next_cursor=encode_cursor([last.late_at.isoformat(), last.dossier]) if last else None,
    )


async def _late_without_apology_tables(db: AsyncSession, asked: ReportPeriod) -> list[Table]:
    rows = await _figures(reports.late_without_apology(db, start=asked.from_, end=asked.to))
    return [
        Table(
            "Trễ hạn chưa xin lỗi", LATE_WITHOUT_APOLOGY_COLUMNS, _rows(rows, status_vi=status_vi)
        )
    ]


# --- files ---------------------------------------------------------------------------------------

_TABLES: dict[str, Callable[[AsyncSession, ReportPeriod], Awaitable[list[Table]]]] = {
    AGENCY_DELAYS.slug: _agency_delay_tables,
    SOS_AUDIT.slug: _sos_tables,
    ON_TIME.slug: _on_time_tables,
    LATE_WITHOUT_APOLOGY.slug: _late_without_apology_tables,
}


@dataclass(frozen=True)
class ReportFile:
    """A report as a file to download, named after the report and its period."""

    body: bytes
    media_type: str
    filename: str

    def response(self) -> Response:
        return Response(
            self.body,
            media_type=self.media_type,
            headers={"Content-Disposition": f'attachment; filename="{self.filename}"'},
        )


async def report_file(
    db: AsyncSession, actor: Actor, report: Report, start: date, end: date, fmt: FileFormat
) -> ReportFile:
    """`report` for the period as CSV (UTF-8 with a BOM) or an Excel workbook, every row."""
    _require_reader(actor, report)
    asked = period(start, end)
    tables = await _TABLES[report.slug](db, asked)
    if fmt == "csv":
        body, media_type = csv_bytes(tables), CSV_MEDIA_TYPE
    else:
        body, media_type = xlsx_bytes(tables), XLSX_MEDIA_TYPE
    filename = f"{report.file_name}_{asked.from_.isoformat()}_{asked.to.isoformat()}.{fmt}"
    return ReportFile(body, media_type, filename)
