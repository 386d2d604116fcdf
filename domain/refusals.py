"""Every refusal the service can give: a stable code (the contract of API.md), the HTTP status the
API answers with, and a message for people in Vietnamese and English.

One table, so that the workflow, the API's problem documents and the tests agree by construction.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.localtime import when


class Code(StrEnum):
    # who may act (R2, R6)
    UNIDENTIFIED_ACTOR = "unidentified_actor"
    FORBIDDEN = "forbidden"
    NOT_LEAD_AGENCY = "not_lead_agency"
    NOT_YOUR_CONSULTATION = "not_your_consultation"
    HEAD_OF_LEAD_AGENCY_REQUIRED = "head_of_lead_agency_required"
    # a command that came after its sender stopped waiting (the API answered "nothing changed")
    REQUEST_EXPIRED = "request_expired"
    # receipt
    UNKNOWN_PROCEDURE = "unknown_procedure"
    # the dossier's status
    DOSSIER_CLOSED = "dossier_closed"
    NOT_ALLOWED_IN_STATUS = "not_allowed_in_status"
    # consultations (R1, R2)
    CONTENT_REQUIRED = "content_required"
    DEADLINE_REQUIRED = "deadline_required"
    DEADLINE_IN_PAST = "deadline_in_past"
    DEADLINE_BEYOND_MAXIMUM = "deadline_beyond_maximum"
    AGENCIES_REQUIRED = "agencies_required"
    UNKNOWN_AGENCY = "unknown_agency"
    # an agency that no longer exists (the districts, from 1 July 2025): no new dossier for a
    # procedure it leads, no new consultation to it
    AGENCY_INACTIVE = "agency_inactive"
    ALREADY_CONSULTING = "already_consulting"
    # replies (R2, R7)
    CONSULTATION_NOT_FOUND = "consultation_not_found"
    ALREADY_ANSWERED = "already_answered"
    CONSULTATION_CANCELLED = "consultation_cancelled"
    OPINION_REQUIRED = "opinion_required"
    LATE_REASON_REQUIRED = "late_reason_required"
    # SOS (R4, R10)
    SOS_REJECTED_AWAITING_REPLIES = "sos_rejected_awaiting_replies"
    SUPPLEMENT_ALREADY_REQUESTED = "supplement_already_requested"
    REASON_REQUIRED = "reason_required"
    MISSING_DOCUMENTS_REQUIRED = "missing_documents_required"
    DOCUMENT_NOT_IN_PROCEDURE = "document_not_in_procedure"
    # supplement, resume
    NOT_AWAITING_SUPPLEMENT = "not_awaiting_supplement"
    DOCUMENTS_REQUIRED = "documents_required"
    NOT_STOPPED = "not_stopped"
    # apology (R13)
    APOLOGY_ALREADY_GIVEN = "apology_already_given"
    TOO_LATE_FOR_APOLOGY = "too_late_for_apology"
    NEW_DUE_DATE_REQUIRED = "new_due_date_required"
    NEW_DUE_DATE_NOT_LATER = "new_due_date_not_later"
    NEW_DUE_DATE_NOT_WORKING_DAY = "new_due_date_not_working_day"
    # withdrawal (R6)
    WITHDRAWAL_PENDING = "withdrawal_pending"
    NO_PENDING_WITHDRAWAL = "no_pending_withdrawal"
    APPLICATION_REF_REQUIRED = "application_ref_required"
    SIGNATURE_REF_REQUIRED = "signature_ref_required"
    # result and handover (R5)
    CONSULTATIONS_AWAITING = "consultations_awaiting"
    DOCUMENT_NO_REQUIRED = "document_no_required"
    NO_RESULT = "no_result"


# code → (HTTP status, Vietnamese, English). Messages may use the facts given to `refuse`.
_CATALOGUE: dict[Code, tuple[int, str, str]] = {
    Code.UNIDENTIFIED_ACTOR: (
        401,
        "Không xác định được người thực hiện.",
        "The action does not say who performs it.",
    ),
    Code.FORBIDDEN: (
        403,
        "Bạn không có quyền thực hiện thao tác này.",
        "You may not perform this action.",
    ),
    Code.NOT_LEAD_AGENCY: (
        403,
        "Chỉ cán bộ của cơ quan chủ trì ({lead_agency}) được thực hiện thao tác này.",
        "Only officers of the lead agency ({lead_agency}) may do this.",
    ),
    Code.NOT_YOUR_CONSULTATION: (
        403,
        "Chỉ cơ quan được xin ý kiến ({agency}) được trả lời.",
        "Only the consulted agency ({agency}) may answer.",
    ),
    Code.HEAD_OF_LEAD_AGENCY_REQUIRED: (
        403,
        "Việc rút hồ sơ phải được thủ trưởng cơ quan chủ trì ({lead_agency}) xác nhận.",
        "A withdrawal must be confirmed by the head of the lead agency ({lead_agency}).",
    ),
    Code.REQUEST_EXPIRED: (
        503,
        "Yêu cầu đến hồ sơ sau thời hạn {not_after}; không có gì thay đổi, vui lòng gửi lại.",
        "The request reached the dossier after its time limit {not_after}; nothing was "
        "changed: send it again.",
    ),
    Code.UNKNOWN_PROCEDURE: (
        422,
        "Thủ tục {procedure_code} không có trong danh mục.",
        "Procedure {procedure_code} is not in the catalogue.",
    ),
    Code.DOSSIER_CLOSED: (
        409,
        "Hồ sơ đã kết thúc ({status}).",
        "The dossier is closed ({status}).",
    ),
    Code.NOT_ALLOWED_IN_STATUS: (
        409,
        "Không thể thực hiện thao tác này khi hồ sơ ở trạng thái {status}.",
        "This action is not allowed while the dossier is {status}.",
    ),
    Code.CONTENT_REQUIRED: (
        422,
        "Văn bản xin ý kiến phải nêu rõ nội dung.",
        "A request for opinions must state its content.",
    ),
    Code.DEADLINE_REQUIRED: (
        422,
        "Văn bản xin ý kiến phải nêu rõ thời hạn trả lời.",
        "A request for opinions must state its reply deadline.",
    ),
    Code.DEADLINE_IN_PAST: (
        422,
        "Thời hạn trả lời đã qua.",
        "The reply deadline is in the past.",
    ),
    Code.DEADLINE_BEYOND_MAXIMUM: (
        422,
        "Thời hạn trả lời vượt quá thời gian tối đa {max_days} ngày làm việc của thủ tục "
        "(muộn nhất {maximum}).",
        "The reply deadline is beyond the procedure's maximum of {max_days} working days "
        "(at the latest {maximum}).",
    ),
    Code.AGENCIES_REQUIRED: (
        422,
        "Phải chọn ít nhất một cơ quan để xin ý kiến.",
        "Name at least one agency to consult.",
    ),
    Code.UNKNOWN_AGENCY: (
        422,
        "Cơ quan không có trong danh mục hoặc không thể xin ý kiến: {agencies}.",
        "Unknown agency, or one that cannot be consulted: {agencies}.",
    ),
    Code.AGENCY_INACTIVE: (
        422,
        "Cơ quan đã chấm dứt hoạt động, không tiếp nhận hồ sơ mới và không được xin ý kiến: "
        "{agencies}.",
        "The agency no longer exists: it receives no new dossier and is not consulted: {agencies}.",
    ),
    Code.ALREADY_CONSULTING: (
        409,
        "Đang chờ ý kiến của {agencies}.",
        "A consultation of {agencies} is already open.",
    ),
    Code.CONSULTATION_NOT_FOUND: (
        404,
        "Không có yêu cầu xin ý kiến {agency} cho hồ sơ này.",
        "No consultation of {agency} on this dossier.",
    ),
    Code.ALREADY_ANSWERED: (
        409,
        "{agency} đã trả lời.",
        "{agency} has already answered.",
    ),
    Code.CONSULTATION_CANCELLED: (
        409,
        "Yêu cầu xin ý kiến {agency} đã bị hủy.",
        "The consultation of {agency} was cancelled.",
    ),
    Code.OPINION_REQUIRED: (
        422,
        "Phải nêu ý kiến.",
        "The opinion is required.",
    ),
    Code.LATE_REASON_REQUIRED: (
        422,
        "Trả lời sau thời hạn ({deadline}) phải nêu rõ nguyên nhân chậm.",
        "An answer after the deadline ({deadline}) must state the cause of the delay.",
    ),
    Code.SOS_REJECTED_AWAITING_REPLIES: (
        409,
        "Không được dừng, yêu cầu bổ sung hoặc trả hồ sơ khi đang chờ ý kiến của {awaiting}.",
        "No stop, supplement or return while opinions of {awaiting} are awaited.",
    ),
    Code.SUPPLEMENT_ALREADY_REQUESTED: (
        409,
        "Hồ sơ đã được yêu cầu bổ sung một lần; chỉ được yêu cầu bổ sung một lần.",
        "A supplement was already requested; it may be requested once per dossier.",
    ),
    Code.REASON_REQUIRED: (
        422,
        "Phải nêu rõ lý do.",
        "The reason is required.",
    ),
    Code.MISSING_DOCUMENTS_REQUIRED: (
        422,
        "Yêu cầu bổ sung phải nêu đầy đủ các giấy tờ còn thiếu.",
        "A supplement request must list the missing documents.",
    ),
    Code.DOCUMENT_NOT_IN_PROCEDURE: (
        422,
        "Giấy tờ không thuộc thành phần hồ sơ của thủ tục: {documents}.",
        "Not among the procedure's required documents: {documents}.",
    ),
    Code.NOT_AWAITING_SUPPLEMENT: (
        409,
        "Hồ sơ không ở trạng thái chờ bổ sung.",
        "The dossier is not awaiting a supplement.",
    ),
    Code.DOCUMENTS_REQUIRED: (
        422,
        "Phải nêu các giấy tờ đã nhận bổ sung.",
        "List the documents received.",
    ),
    Code.NOT_STOPPED: (
        409,
        "Hồ sơ không ở trạng thái dừng xử lý.",
        "The dossier is not stopped.",
    ),
    Code.APOLOGY_ALREADY_GIVEN: (
        409,
        "Hồ sơ đã có phiếu xin lỗi và hẹn lại ngày trả kết quả; chỉ được hẹn lại một lần.",
        "An apology with a new date was already given; only once per dossier.",
    ),
    Code.TOO_LATE_FOR_APOLOGY: (
        409,
        "Phải xin lỗi chậm nhất một ngày làm việc trước hạn trả kết quả ({due_at}).",
        "An apology must come at least one working day before the due date ({due_at}).",
    ),
    Code.NEW_DUE_DATE_REQUIRED: (
        422,
        "Phải nêu ngày hẹn trả kết quả mới.",
        "The new due date is required.",
    ),
    Code.NEW_DUE_DATE_NOT_LATER: (
        422,
        "Ngày hẹn mới phải sau hạn hiện tại ({due_at}).",
        "The new due date must be later than the current one ({due_at}).",
    ),
    Code.NEW_DUE_DATE_NOT_WORKING_DAY: (
        422,
        "Ngày hẹn mới ({new_due_date}) không phải ngày làm việc.",
        "The new due date ({new_due_date}) is not a working day.",
    ),
    Code.WITHDRAWAL_PENDING: (
        409,
        "Đơn rút hồ sơ đang chờ thủ trưởng xác nhận.",
        "A withdrawal is already waiting for the head's confirmation.",
    ),
    Code.NO_PENDING_WITHDRAWAL: (
        409,
        "Không có đơn rút hồ sơ nào chờ xác nhận.",
        "No withdrawal is waiting for confirmation.",
    ),
    Code.APPLICATION_REF_REQUIRED: (
        422,
        "Phải nêu số đơn rút hồ sơ của người nộp.",
        "The applicant's withdrawal application reference is required.",
    ),
    Code.SIGNATURE_REF_REQUIRED: (
        422,
        "Phải có chữ ký xác nhận của thủ trưởng.",
        "The head's signature reference is required.",
    ),
    Code.CONSULTATIONS_AWAITING: (
        409,
        "Không được ghi kết quả khi đang chờ ý kiến của {awaiting}.",
        "No result may be recorded while opinions of {awaiting} are awaited.",
    ),
    Code.DOCUMENT_NO_REQUIRED: (
        422,
        "Phải nêu số văn bản kết quả.",
        "The result's document number is required.",
    ),
    Code.NO_RESULT: (
        409,
        "Chưa có kết quả giải quyết để trả.",
        "There is no result to hand over.",
    ),
}


class Refusal(BaseModel):
    """Why an action is refused. `facts` are the machine-readable extras the API puts in the
    problem document (e.g. `awaiting`, `maximum`, `status`)."""

    code: Code
    http_status: int
    message_vi: str
    message_en: str
    facts: dict[str, Any] = Field(default_factory=dict)


def refuse(code: Code, **facts: Any) -> Refusal:
    http_status, vi, en = _CATALOGUE[code]
    words = {k: _words(v) for k, v in facts.items()}
    return Refusal(
        code=code,
        http_status=http_status,
        message_vi=vi.format_map(_Lenient(words)),
        message_en=en.format_map(_Lenient(words)),
        facts=facts,
    )


def http_status_of(code: Code) -> int:
    return _CATALOGUE[code][0]


def _words(value: Any) -> str:
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict) and "agency" in value:
        return str(value["agency"])
    return str(value)


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"
