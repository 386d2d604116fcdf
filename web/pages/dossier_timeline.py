"""The dossier's timeline in plain Vietnamese (R12): one sentence per event of `domain.dossier`,
refused attempts with their reason, who acted by name (the document's `people`), agencies by
their names. Every sentence is a message of the catalogue (gettext); an event of a kind this
module does not know yet is shown by its kind rather than dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.commands import SYSTEM, Action
from domain.dossier import Event
from web.i18n import N_, day, moment

# The actions, as a refused event names them.
ACTION_LABELS: dict[str, str] = {
    Action.CONSULT.value: N_("Xin ý kiến"),
    Action.REPLY.value: N_("Trả lời xin ý kiến"),
    Action.SOS.value: N_("SOS"),
    Action.SUPPLEMENT.value: N_("Nhận hồ sơ bổ sung"),
    Action.RESUME.value: N_("Tiếp tục xử lý"),
    Action.APOLOGY.value: N_("Xin lỗi và hẹn lại ngày trả kết quả"),
    Action.WITHDRAWAL.value: N_("Ghi nhận đơn rút hồ sơ"),
    Action.CONFIRM_WITHDRAWAL.value: N_("Xác nhận rút hồ sơ"),
    Action.RESULT.value: N_("Ghi kết quả giải quyết"),
    Action.HANDOVER.value: N_("Trả kết quả"),
}
SOS_LABELS: dict[str, str] = {
    "stop": N_("Dừng xử lý"),
    "supplement": N_("Yêu cầu bổ sung hồ sơ"),
    "return": N_("Trả lại hồ sơ"),
}
# Why a due date moved (a `due_changed` event's cause).
CAUSES: dict[str, str] = {
    "received": N_("tiếp nhận hồ sơ"),
    "resume": N_("tiếp tục xử lý sau thời gian tạm dừng"),
    "supplement": N_("nhận đủ hồ sơ bổ sung: thời hạn tính lại từ đầu"),
    "sos": N_("yêu cầu bổ sung hoặc dừng xử lý"),
    "apology": N_("xin lỗi và đề nghị gia hạn thời gian giải quyết"),
    "calendar_changed": N_("lịch ngày làm việc thay đổi"),
}


@dataclass(frozen=True)
class Line:
    at: datetime
    who: str
    text: str
    details: list[str] = field(default_factory=list)
    refused: bool = False


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            try:
                return day(date.fromisoformat(value))
            except ValueError:
                return value
        return moment(parsed)
    return ""


def _list(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


def timeline(
    events: list[Event],
    people: dict[str, str],
    agency: Callable[[str], str],
    _: Callable[[str], str],
) -> list[Line]:
    """The events as lines, newest first."""
    lines = [_line(e, people, agency, _) for e in events]
    return sorted(lines, key=lambda line: line.at, reverse=True)


def who_of(actor: str, people: dict[str, str], _: Callable[[str], str]) -> str:
    if actor == SYSTEM:
        return _("Hệ thống")
    return people.get(actor, actor)


def _line(
    event: Event, people: dict[str, str], agency: Callable[[str], str], _: Callable[[str], str]
) -> Line:
    d = event.detail
    who = who_of(event.actor, people, _)
    kind = event.kind
    reason = str(d.get("reason") or "")
    details: list[str] = []
    if kind == "received":
        text = _("Tiếp nhận hồ sơ; thời hạn giải quyết {days} ngày làm việc.").format(
            days=d.get("processing_days", "?")
        )
    elif kind == "due_changed":
        text = _("Hạn trả kết quả đổi từ {previous} sang {due} ({cause}).").format(
            previous=_when(d.get("previous")) or "—",
            due=_when(d.get("due_at")) or _("chưa có hạn (chờ bổ sung)"),
            cause=_(CAUSES.get(str(d.get("cause")), str(d.get("cause")))),
        )
        if d.get("stopped_working_days"):
            details.append(
                _("Số ngày làm việc tạm dừng được cộng thêm: {n}.").format(
                    n=d["stopped_working_days"]
                )
            )
    elif kind == "consultation_requested":
        text = _("Xin ý kiến {agency}, hạn trả lời {deadline}.").format(
            agency=agency(str(d.get("agency"))), deadline=_when(d.get("deadline"))
        )
        details.append(_("Nội dung: {content}").format(content=d.get("content", "")))
    elif kind == "consultation_answered":
        if d.get("late"):
            text = _("{agency} trả lời sau thời hạn.").format(agency=agency(str(d.get("agency"))))
            details.append(_("Nguyên nhân chậm: {cause}").format(cause=d.get("late_reason") or "—"))
        else:
            text = _("{agency} trả lời đúng hạn.").format(agency=agency(str(d.get("agency"))))
    elif kind in ("reminder_1", "reminder_2"):
        text = _("Nhắc lần {level} gửi {agency}.").format(
            level=kind[-1], agency=agency(str(d.get("agency")))
        )
        if d.get("cc"):
            details.append(
                _("Đồng gửi: {cc}").format(cc=", ".join(agency(str(c)) for c in d["cc"]))
            )
    elif kind == "sos_stop":
        text = _("Dừng xử lý hồ sơ; đồng hồ tạm dừng.")
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "sos_supplement":
        text = _("Yêu cầu bổ sung hồ sơ; đồng hồ dừng chờ bổ sung.")
        details.append(
            _("Giấy tờ cần bổ sung: {documents}").format(
                documents=_list(d.get("missing_documents"))
            )
        )
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "sos_return":
        text = _("Trả lại hồ sơ.")
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "supplement":
        text = _("Nhận hồ sơ bổ sung; thời hạn giải quyết tính lại từ đầu.")
        details.append(
            _("Giấy tờ đã nhận: {documents}").format(documents=_list(d.get("documents")))
        )
    elif kind == "resume":
        text = _("Tiếp tục xử lý hồ sơ.")
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "apology":
        text = _("Xin lỗi người nộp và hẹn lại ngày trả kết quả: {date}.").format(
            date=_when(d.get("new_due_date"))
        )
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "withdrawal":
        text = _("Ghi nhận đơn rút hồ sơ số {ref}; chờ thủ trưởng xác nhận.").format(
            ref=d.get("application_ref", "")
        )
        details.append(_("Lý do: {reason}").format(reason=reason))
    elif kind == "withdrawal_confirmed":
        text = _("Thủ trưởng xác nhận rút hồ sơ (văn bản ký số {ref}).").format(
            ref=d.get("signature_ref", "")
        )
    elif kind == "consultation_cancelled":
        text = _("Hủy yêu cầu xin ý kiến {agency}.").format(agency=agency(str(d.get("agency"))))
    elif kind == "result":
        outcome = _("chấp thuận") if d.get("outcome") == "approved" else _("từ chối")
        text = _("Ghi kết quả giải quyết: {outcome}, văn bản số {no}.").format(
            outcome=outcome, no=d.get("document_no", "")
        )
    elif kind == "handover":
        text = _("Trả kết quả; hồ sơ hoàn thành.")
        if d.get("received_by"):
            details.append(_("Người nhận: {name}").format(name=d["received_by"]))
    elif kind == "late":
        text = _("Hồ sơ quá hạn giải quyết.")
    elif kind == "apology_due":
        text = _(
            "Hồ sơ sắp quá hạn ({due}): cần xin lỗi và đề nghị gia hạn thời gian giải quyết."
        ).format(due=_when(d.get("due_at")))
    elif kind == "abnormal_close":
        text = _("Hồ sơ bị kết thúc ngoài quy trình ({how}).").format(how=d.get("how", ""))
    elif kind == "refused":
        return _refused(event, who, agency, _)
    elif kind == "operator_note":
        text = _("Ghi chú vận hành: {note}").format(note=d.get("note", ""))
    elif kind == "read_model_write_failed":
        text = _("Ghi dữ liệu tra cứu bị lỗi; đã được ghi lại.")
    else:
        text = kind
    return Line(event.at, who, text, [x for x in details if x.strip()])


def _refused(event: Event, who: str, agency: Callable[[str], str], _: Callable[[str], str]) -> Line:
    d = event.detail
    action = str(d.get("action", ""))
    label = _(ACTION_LABELS.get(action, action))
    request = d.get("request")
    sos = request.get("action") if isinstance(request, dict) else None
    if action == Action.SOS.value and isinstance(sos, str) and sos in SOS_LABELS:
        label = f"{label}: {_(SOS_LABELS[sos])}"
    text = _("Bị từ chối: {action}.").format(action=label)
    details = [_("Lý do: {reason}").format(reason=d.get("reason", ""))]
    awaiting = d.get("awaiting")
    if isinstance(awaiting, list) and awaiting:
        details.append(
            _("Đang chờ ý kiến: {agencies}").format(
                agencies="; ".join(
                    _("{agency} (hạn {deadline})").format(
                        agency=agency(str(a.get("agency"))), deadline=_when(a.get("deadline"))
                    )
                    for a in awaiting
                    if isinstance(a, dict)
                )
            )
        )
    if d.get("repeated"):
        details.append(
            _("Đã thử {n} lần, lần cuối lúc {at}.").format(
                n=d["repeated"], at=_when(d.get("last_at"))
            )
        )
    return Line(event.at, who, text, details, refused=True)
