"""Notices (thông báo) the service sends: what they are and what they say, in Vietnamese.

A notice is composed here, from dossier facts, and written to the outbox by an activity under its
business `key`, so that a retried activity never sends it twice (R3, R12).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain.legal_frame import FormNumber, legal_frame
from domain.localtime import when

if TYPE_CHECKING:
    from domain.dossier import Consultation, Dossier, Event

APPLICANT = "applicant"  # the `to` of a notice addressed to the applicant rather than an agency


class NoticeKind(StrEnum):
    CONSULTATION_REQUEST = "consultation_request"
    REMINDER_1 = "reminder_1"
    REMINDER_2 = "reminder_2"
    CONSULTATION_CANCELLED = "consultation_cancelled"
    SUPPLEMENT_REQUEST = "supplement_request"
    STOP_NOTICE = "stop_notice"
    RETURN_NOTICE = "return_notice"
    WITHDRAWAL_NOTICE = "withdrawal_notice"
    APOLOGY = "apology"
    RESULT_READY = "result_ready"
    APOLOGY_DUE = "apology_due"  # to the lead agency, a working day before the due date (R13)


class Notice(BaseModel):
    """One notice to one recipient. `key` is its business identity: the same key is one notice."""

    key: str
    kind: NoticeKind
    dossier: str
    to: str  # an agency code, or APPLICANT
    cc: list[str] = Field(default_factory=list)
    sent_at: datetime
    subject: str
    body: str


# --- composing notices -----------------------------------------------------------------------
# Texts are in Vietnamese, the language of the recipients; times in Vietnam's time.


def _day(d: date) -> str:
    return f"{d:%d/%m/%Y}"


def _notice(
    dossier: Dossier,
    kind: NoticeKind,
    to: str,
    discriminator: str | int,
    now: datetime,
    subject: str,
    body: str,
    cc: list[str] | None = None,
) -> Notice:
    return Notice(
        key=f"{dossier.code}/{kind.value}/{to}/{discriminator}",
        kind=kind,
        dossier=dossier.code,
        to=to,
        cc=cc or [],
        sent_at=now,
        subject=subject,
        body=body,
    )


def _cite(dossier: Dossier, form: FormNumber) -> str:
    """`mẫu 04, Thông tư số 03/2025/TT-VPCP`: the form, in the frame of the dossier's receipt."""
    return legal_frame(dossier.received_at).cite(form)


def _apology_name(dossier: Dossier) -> str:
    """Form 04's name in the dossier's frame: `Văn bản xin lỗi và đề nghị gia hạn thời gian
    giải quyết` (Circular 03/2025), `Phiếu xin lỗi và hẹn lại ngày trả kết quả` (01/2018)."""
    return legal_frame(dossier.received_at).form(FormNumber.APOLOGY).title.capitalize()


def _about(dossier: Dossier) -> str:
    return f"hồ sơ {dossier.code} ({dossier.procedure.name}) của {dossier.applicant.name}"


def consultation_request(dossier: Dossier, c: Consultation, now: datetime) -> Notice:
    return _notice(
        dossier,
        NoticeKind.CONSULTATION_REQUEST,
        c.agency,
        c.number,
        now,
        f"Đề nghị cho ý kiến về hồ sơ {dossier.code}",
        f"{dossier.lead_agency} (cơ quan chủ trì) đề nghị quý cơ quan cho ý kiến về "
        f"{_about(dossier)}.\n"
        f"Nội dung xin ý kiến: {c.content}\n"
        f"Thời hạn trả lời: {when(c.deadline)}.\n"
        "Đề nghị trả lời đúng hạn trên phần mềm một cửa (Công văn 448/UBND-HCC).",
    )


def reminder(dossier: Dossier, c: Consultation, level: int, now: datetime) -> Notice:
    kind = NoticeKind.REMINDER_1 if level == 1 else NoticeKind.REMINDER_2
    cc = [dossier.home_affairs_agency] if level == 2 else []
    copy = (
        "\nVăn bản nhắc lần 2 được đồng gửi Sở Nội vụ để theo dõi, đánh giá công vụ "
        "(Công văn 448/UBND-HCC)."
        if level == 2
        else ""
    )
    return _notice(
        dossier,
        kind,
        c.agency,
        c.number,
        now,
        f"Nhắc lần {level}: quá hạn cho ý kiến về hồ sơ {dossier.code}",
        f"Đề nghị cho ý kiến về {_about(dossier)} đã quá thời hạn trả lời "
        f"({when(c.deadline)}).\n"
        f"Nội dung xin ý kiến: {c.content}\n"
        "Đề nghị quý cơ quan trả lời ngay; khi trả lời sau thời hạn phải nêu rõ nguyên nhân."
        + copy,
        cc,
    )


def consultation_cancelled(dossier: Dossier, c: Consultation, now: datetime) -> Notice:
    return _notice(
        dossier,
        NoticeKind.CONSULTATION_CANCELLED,
        c.agency,
        c.number,
        now,
        f"Hủy đề nghị cho ý kiến về hồ sơ {dossier.code}",
        f"Người nộp đã rút {_about(dossier)}, có xác nhận của thủ trưởng cơ quan chủ trì.\n"
        "Đề nghị cho ý kiến đã gửi quý cơ quan không còn hiệu lực.",
    )


def supplement_request(dossier: Dossier, event: Event, now: datetime) -> Notice:
    assert dossier.supplement is not None
    listed = "\n".join(f"- {d}" for d in dossier.supplement.missing_documents)
    return _notice(
        dossier,
        NoticeKind.SUPPLEMENT_REQUEST,
        APPLICANT,
        event.seq,
        now,
        f"Yêu cầu bổ sung, hoàn thiện hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"Để giải quyết hồ sơ {dossier.code} ({dossier.procedure.name}), đề nghị bổ sung "
        f"một lần, đầy đủ các giấy tờ sau:\n{listed}\n"
        f"Lý do: {dossier.supplement.reason}\n"
        "Thời hạn giải quyết được tính lại từ đầu khi nhận đủ hồ sơ "
        f"({_cite(dossier, FormNumber.SUPPLEMENT_REQUEST)}).",
    )


def stop_notice(dossier: Dossier, event: Event, reason: str, now: datetime) -> Notice:
    return _notice(
        dossier,
        NoticeKind.STOP_NOTICE,
        APPLICANT,
        event.seq,
        now,
        f"Thông báo dừng giải quyết hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"Hồ sơ {dossier.code} ({dossier.procedure.name}) dừng giải quyết.\nLý do: {reason}\n"
        "Thời gian dừng không tính vào thời hạn giải quyết "
        f"({_cite(dossier, FormNumber.STOP_NOTICE)}).",
    )


def return_notice(dossier: Dossier, event: Event, reason: str, now: datetime) -> Notice:
    return _notice(
        dossier,
        NoticeKind.RETURN_NOTICE,
        APPLICANT,
        event.seq,
        now,
        f"Thông báo trả hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"Hồ sơ {dossier.code} ({dossier.procedure.name}) được trả lại, không giải quyết.\n"
        f"Lý do: {reason}\n({_cite(dossier, FormNumber.REFUSAL)})",
    )


def withdrawal_notice(dossier: Dossier, event: Event, now: datetime) -> Notice:
    assert dossier.withdrawal is not None
    return _notice(
        dossier,
        NoticeKind.WITHDRAWAL_NOTICE,
        APPLICANT,
        event.seq,
        now,
        f"Thông báo rút hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"Đơn rút hồ sơ {dossier.code} (số {dossier.withdrawal.application_ref}) đã được "
        "thủ trưởng cơ quan chủ trì ký xác nhận. Hồ sơ dừng giải quyết.",
    )


def apology(dossier: Dossier, event: Event, now: datetime) -> Notice:
    assert dossier.apology is not None
    return _notice(
        dossier,
        NoticeKind.APOLOGY,
        APPLICANT,
        event.seq,
        now,
        f"{_apology_name(dossier)} hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"{dossier.lead_agency} xin lỗi vì hồ sơ {dossier.code} ({dossier.procedure.name}) "
        "chưa giải quyết được đúng hạn.\n"
        f"Lý do: {dossier.apology.reason}\n"
        f"Ngày hẹn trả kết quả mới: {_day(dossier.apology.new_due_date)}.\n"
        f"({_cite(dossier, FormNumber.APOLOGY)})",
    )


def result_ready(dossier: Dossier, event: Event, now: datetime) -> Notice:
    return _notice(
        dossier,
        NoticeKind.RESULT_READY,
        APPLICANT,
        event.seq,
        now,
        f"Thông báo có kết quả giải quyết hồ sơ {dossier.code}",
        f"Kính gửi {dossier.applicant.name},\n"
        f"Hồ sơ {dossier.code} ({dossier.procedure.name}) đã có kết quả. Mời ông/bà đến bộ "
        "phận một cửa để nhận kết quả.",
    )


def apology_due(dossier: Dossier, event: Event, now: datetime) -> Notice:
    reading = dossier.reading
    assert reading is not None and reading.due_at and reading.apology_deadline
    return _notice(
        dossier,
        NoticeKind.APOLOGY_DUE,
        dossier.lead_agency,
        event.seq,
        now,
        f"Hồ sơ {dossier.code} sắp đến hạn trả kết quả",
        f"Hồ sơ {dossier.code} ({dossier.procedure.name}) của {dossier.applicant.name} "
        f"đến hạn trả kết quả lúc {when(reading.due_at)}.\n"
        f"Nếu không kịp giải quyết, cơ quan chủ trì phải gửi {_apology_name(dossier).lower()} "
        f"({_cite(dossier, FormNumber.APOLOGY)}) trước {when(reading.apology_deadline)}.",
    )
