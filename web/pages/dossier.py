"""The dossier page (issue 9): header, consultations, the clock drawn, the timeline, the forms and
the actions the caller may take now, for whoever may see the dossier (the API's rule: same 403
and 404). What it shows is `service.dossier_page`; the actions post to
`web.pages.dossier_actions`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from domain.commands import Action
from domain.dossier import STATUS_LABELS_VI
from domain.forms import applicable_forms
from domain.legal_frame import legal_frame
from domain.localtime import VN
from service.dossier_page import DossierView, dossier_view
from service.dossiers import CODE_PATTERN
from service.forms import form_response
from web.i18n import N_
from web.pages.dossier_timeline import CAUSES, SOS_LABELS, timeline
from web.render import gettext, render
from web.session import PageActor

router = APIRouter(include_in_schema=False)

DossierCode = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]

# The forms' names as the page lists them (`domain.forms.applicable_forms` says which apply):
# Circular 03/2025/TT-VPCP, Appendix I, and Circular 01/2018's apology for older dossiers.
FORM_NAMES = {
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ": N_("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
    "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ": N_("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
    "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ": N_("Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
    "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT": N_(
        "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
    ),
    "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ": N_("Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
    "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ": N_("Thông báo dừng giải quyết hồ sơ"),
    "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ": N_("Phiếu kiểm soát quá trình giải quyết hồ sơ"),
}
CONSULTATION_STATUS_BADGES = {
    "awaiting": ("info", N_("Đang chờ trả lời")),
    "overdue": ("late", N_("Quá hạn, chưa trả lời")),
    "answered": ("ok", N_("Đã trả lời đúng hạn")),
    "answered_late": ("due_today", N_("Đã trả lời sau hạn")),
    "cancelled": ("neutral", N_("Đã hủy")),
}
URGENCY_WORDS = {
    "late": N_("Quá hạn"),
    "due_today": N_("Đến hạn hôm nay"),
    "due_soon": N_("Sắp đến hạn"),
    "in_time": N_("Trong hạn"),
    "stopped": N_("Đồng hồ tạm dừng"),
    "neutral": N_("Đã kết thúc"),
}
PERIOD_WORDS = {
    "running": N_("Đang tính thời gian"),
    "stopped": N_("Tạm dừng (SOS)"),
    "supplement": N_("Chờ bổ sung hồ sơ"),
}


def refill_of(request: Request, code: str) -> dict[str, Any]:
    """What a refused or unreadable form of this dossier held, to fill it again (once)."""
    kept = request.session.get("refill")
    if isinstance(kept, dict) and kept.get("dossier") == code:
        request.session.pop("refill", None)
        return kept
    return {}


def page_context(
    request: Request, view: DossierView, refill: dict[str, Any] | None = None
) -> dict[str, Any]:
    _ = gettext(request)
    document = view.document
    return {
        "view": view,
        "d": document,
        "status_label": STATUS_LABELS_VI[document.status],
        "urgency_word": URGENCY_WORDS[view.urgency],
        "consultation_badges": CONSULTATION_STATUS_BADGES,
        "lines": timeline(document.events, document.people, view.name, _),
        "forms": applicable_forms(document),
        "form_names": FORM_NAMES,
        "frame": legal_frame(document.received_at),
        "period_words": PERIOD_WORDS,
        "causes": CAUSES,
        "sos_labels": SOS_LABELS,
        "Action": Action,
        "refill": refill or {"action": "", "values": {}, "errors": {}},
        # the choices of the SOS supplement and of its delivery, as (value, label)
        "required_documents": [(x, x) for x in view.procedure.required_documents],
        "missing_documents": [(x, x) for x in _missing_documents(view)],
        "idempotency_key": str(uuid.uuid4()),
        "consult_maximum_local": view.consult_maximum.astimezone(VN).strftime("%Y-%m-%dT%H:%M"),
        "now_local": view.now.astimezone(VN).strftime("%Y-%m-%dT%H:%M"),
    }


def _missing_documents(view: DossierView) -> list[str]:
    """What the supplement request asked for (R10), the choices of its delivery."""
    asked = [e for e in view.document.events if e.kind == "sos_supplement"]
    documents = asked[-1].detail.get("missing_documents") if asked else None
    return [str(x) for x in documents] if isinstance(documents, list) else []


@router.get("/dossiers/{code}")
async def dossier_page(
    request: Request, code: DossierCode, actor: PageActor, services: ServicesDep, db: SessionDep
) -> Response:
    view = await dossier_view(services, request, actor, db, code, datetime.now(UTC))
    return render(request, "dossier.html", page_context(request, view, refill_of(request, code)))


@router.get("/dossiers/{code}/forms/{form}")
async def dossier_form(
    request: Request,
    code: DossierCode,
    form: Annotated[str, Path(max_length=2)],
    actor: PageActor,
    db: SessionDep,
    stop: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The same PDF as the API's form route, for the signed-in caller."""
    return await form_response(request, actor, db, code, form, stop)
