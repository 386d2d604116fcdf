"""The oversight pages (issue 9, "Home Affairs and the Office of the PPC"): the reports of a chosen
period on one page, each in its section (R8 delays, R9 SOS audit, R11 on time, R13 late without
an apology) with a chart where the figures compare agencies, and each downloadable as CSV and
Excel.

Everything comes from `service.reports`, as the API's answers do: who reads which report (an
inspector-only report stays hidden and its download refused for anyone else), the period's
checks, the figures and the very same files. The page adds only how people pick a period
(`dd/mm/yyyy`, with presets) and how the figures are drawn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import SessionDep
from api.problems import Problem
from db.reports import AgencyDelayRow, SosByAgency
from domain.commands import Actor
from domain.localtime import local_date
from service import reports
from service.reports import FileFormat, Report
from web.charts import BarChart, Series, bar_chart, shorten
from web.errors import message_of
from web.i18n import N_
from web.render import gettext, render
from web.session import PageActor

router = APIRouter(include_in_schema=False)

DAY_FORMAT = "%d/%m/%Y"
LIST_SIZE = 50  # rows of a list shown at a time (refused SOS attempts, late dossiers)

# Each report's section: its anchor and heading.
SECTIONS: dict[str, str] = {
    reports.AGENCY_DELAYS.slug: N_("Trễ hạn của cơ quan phối hợp"),
    reports.SOS_AUDIT.slug: N_("Kiểm tra SOS"),
    reports.ON_TIME.slug: N_("Kết quả đúng hạn"),
    reports.LATE_WITHOUT_APOLOGY.slug: N_("Trễ hạn chưa xin lỗi"),
}

Cursor = Annotated[str | None, Query(max_length=600)]


@dataclass(frozen=True)
class PeriodChoice:
    """The period as typed in the picker (`dd/mm/yyyy`) and, when both read as dates, as dates."""

    start_text: str
    end_text: str
    start: date | None
    end: date | None
    errors: dict[str, str]

    def query(self, **more: str) -> str:
        return urlencode({"from": self.start_text, "to": self.end_text, **more})


def shown(day: date) -> str:
    return f"{day:{DAY_FORMAT}}"


def read_day(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), DAY_FORMAT).date()
    except ValueError:
        return None


def this_month(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def presets(today: date) -> list[tuple[str, date, date]]:
    """The periods offered at a click: this month, last month, this year."""
    first, last = this_month(today)
    previous_first, previous_last = this_month(first - timedelta(days=1))
    return [
        (N_("Tháng này"), first, last),
        (N_("Tháng trước"), previous_first, previous_last),
        (N_("Năm nay"), today.replace(month=1, day=1), today.replace(month=12, day=31)),
    ]


def choose_period(request: Request, start: str | None, end: str | None) -> PeriodChoice:
    """The period asked; none asked is this month."""
    _ = gettext(request)
    if not start and not end:
        first, last = this_month(local_date(datetime.now(UTC)))
        return PeriodChoice(shown(first), shown(last), first, last, {})
    texts = {"from": (start or "").strip(), "to": (end or "").strip()}
    days = {field: read_day(text) for field, text in texts.items()}
    errors = {
        field: _("Nhập ngày theo dạng ngày/tháng/năm, ví dụ 01/12/2026.")
        if texts[field]
        else _("Vui lòng nhập ngày.")
        for field, day in days.items()
        if day is None
    }
    return PeriodChoice(texts["from"], texts["to"], days["from"], days["to"], errors)


def file_period(start: str, end: str) -> tuple[date, date]:
    """A download's period, as the page's links write it; anything else is 422."""
    first, last = read_day(start), read_day(end)
    if first is None or last is None:
        raise Problem("validation_error", "`from` and `to` are dates as dd/mm/yyyy")
    return first, last


# --- charts ---------------------------------------------------------------------------------------


CHART_NAME_CHARS = 46  # an agency's name left of its bars, its code after it


def agency_label(code: str, name: str | None, limit: int | None = None) -> str:
    """`Công an thành phố Đồng Nai (CAT)`, the name cut to `limit` characters if given; the code
    alone for an agency the catalogue lacks."""
    if not name:
        return code
    return f"{shorten(name, limit) if limit else name} ({code})"


def delays_chart(request: Request, rows: list[AgencyDelayRow]) -> BarChart:
    """Late consultations per consulted agency (R8): answered late, and overdue unanswered now,
    stacked; the latest agencies first."""
    _ = gettext(request)
    late_first = sorted(rows, key=lambda r: (-(r.answered_late + r.overdue_unanswered), r.agency))
    return bar_chart(
        key="chart-agency-delays",
        title=_("Lượt xin ý kiến trễ hạn theo cơ quan"),
        description=_(
            "Mỗi thanh là một cơ quan được xin ý kiến: phần trả lời trễ hạn và phần quá hạn chưa "
            "trả lời; số ở cuối thanh là tổng. Số liệu đầy đủ ở bảng bên dưới."
        ),
        value_axis=_("Số lượt xin ý kiến trễ hạn"),
        category_axis=_("Cơ quan được xin ý kiến"),
        series=[
            Series(_("Trả lời trễ hạn"), "late-answered"),
            Series(_("Quá hạn chưa trả lời"), "overdue"),
        ],
        categories=[
            (
                agency_label(row.agency, row.agency_name, CHART_NAME_CHARS),
                [row.answered_late, row.overdue_unanswered],
            )
            for row in late_first
        ],
        stacked=True,
    )


def sos_chart(request: Request, by_agency: list[SosByAgency], names: dict[str, str]) -> BarChart:
    """Accepted and refused SOS actions per agency (R9), every kind of action added up."""
    _ = gettext(request)
    totals: dict[str, list[int]] = {}
    for row in by_agency:
        counts = totals.setdefault(row.agency, [0, 0])
        counts[0] += row.accepted
        counts[1] += row.rejected
    return bar_chart(
        key="chart-sos-audit",
        title=_("SOS được chấp nhận và bị từ chối theo cơ quan"),
        description=_(
            "Mỗi cơ quan có hai thanh: số lượt SOS được chấp nhận và số lượt bị từ chối (gạch "
            "chéo). Số liệu đầy đủ ở bảng bên dưới."
        ),
        value_axis=_("Số lượt SOS"),
        category_axis=_("Cơ quan chủ trì"),
        series=[Series(_("Được chấp nhận"), "accepted"), Series(_("Bị từ chối"), "refused")],
        categories=[
            (agency_label(code, names.get(code), CHART_NAME_CHARS), counts)
            for code, counts in totals.items()
        ],
    )


# --- numbers as Vietnamese write them ---------------------------------------------------------


def number(value: int) -> str:
    """`1.234`: thousands separated by dots."""
    return f"{value:,}".replace(",", ".")


def percent(share: float | None) -> str:
    """`87,5 %`, or a dash when there is nothing to divide."""
    if share is None:
        return "–"
    return f"{share * 100:.1f}".replace(".", ",") + " %"


# --- pages ----------------------------------------------------------------------------------------


@router.get("/reports")
async def reports_page(
    request: Request,
    actor: PageActor,
    db: SessionDep,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    sos_cursor: Cursor = None,
    late_cursor: Cursor = None,
) -> Response:
    """The reports the caller may read, for the period asked (this month if none)."""
    readable = reports.reports_of(actor)
    choice = choose_period(request, start, end)
    today = local_date(datetime.now(UTC))
    context: dict[str, Any] = {
        "choice": choice,
        "presets": [
            {
                "label": label,
                "href": "/reports?" + urlencode({"from": shown(first), "to": shown(last)}),
                "current": (choice.start, choice.end) == (first, last),
            }
            for label, first, last in presets(today)
        ],
        "sections": [(report.slug, SECTIONS[report.slug]) for report in readable],
        "period_error": None,
        "number": number,
        "percent": percent,
        "action_vi": reports.action_vi,
        "agency_label": agency_label,
        "status_vi": reports.status_vi,
        "downloads": {},
    }
    if choice.start is None or choice.end is None:
        return render(request, "reports.html", context, status_code=422)
    try:
        reports.period(choice.start, choice.end)
    except Problem as refused:
        context["period_error"] = message_of(request, refused)
        return render(request, "reports.html", context, status_code=refused.status)
    context["downloads"] = {
        report.slug: {
            fmt: f"/reports/{report.slug}.{fmt}?{choice.query()}" for fmt in ("csv", "xlsx")
        }
        for report in readable
    }
    context.update(await _figures(request, db, actor, readable, choice, sos_cursor, late_cursor))
    return render(request, "reports.html", context)


async def _figures(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    readable: list[Report],
    choice: PeriodChoice,
    sos_cursor: str | None,
    late_cursor: str | None,
) -> dict[str, Any]:
    """Each readable report of the period, with its chart and the address of its next rows."""
    assert choice.start is not None and choice.end is not None
    start, end = choice.start, choice.end
    found: dict[str, Any] = {"delays": None, "sos": None, "on_time": None, "late": None}
    if reports.AGENCY_DELAYS in readable:
        delays = await reports.agency_delays(db, actor, start, end)
        found["delays"] = delays
        found["delays_chart"] = delays_chart(request, delays.items)
    if reports.SOS_AUDIT in readable:
        sos = await reports.sos_audit(db, actor, start, end, limit=LIST_SIZE, cursor=sos_cursor)
        names = await reports.agency_names(db, (row.agency for row in sos.by_agency))
        found["sos"] = sos
        found["agency_names"] = names
        found["sos_chart"] = sos_chart(request, sos.by_agency, names)
        found["sos_more"] = (
            f"/reports?{choice.query(sos_cursor=sos.next_cursor)}#sos-rejected"
            if sos.next_cursor
            else None
        )
    if reports.ON_TIME in readable:
        found["on_time"] = await reports.on_time(db, actor, start, end)
    if reports.LATE_WITHOUT_APOLOGY in readable:
        late = await reports.late_without_apology(
            db, actor, start, end, limit=LIST_SIZE, cursor=late_cursor
        )
        found["late"] = late
        found["late_more"] = (
            f"/reports?{choice.query(late_cursor=late.next_cursor)}#late-without-apology"
            if late.next_cursor
            else None
        )
    return found


@router.get("/reports/{slug}.{fmt}")
async def report_download(
    actor: PageActor,
    db: SessionDep,
    slug: Annotated[str, Path(max_length=40)],
    fmt: FileFormat,
    start: Annotated[str, Query(alias="from", max_length=20)],
    end: Annotated[str, Query(alias="to", max_length=20)],
) -> Response:
    """A report of the period as CSV or Excel: the very file the API gives the same reader."""
    report = reports.REPORTS.get(slug)
    if report is None:
        raise Problem("not_found", f"no report {slug}", status=404)
    first, last = file_period(start, end)
    file = await reports.report_file(db, actor, report, first, last, fmt)
    return file.response()
