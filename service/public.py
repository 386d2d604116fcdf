"""The citizens' look-up (API.md, "Citizens"): what an applicant may see of his dossier with its
code and his phone number, and nothing more. The JSON API (`api.routes.public`) and the page
(`web.pages.lookup`) both call these, so matching, limits and what is shown have one place.

No token: the phone must match the applicant's. A wrong or missing phone answers exactly like an
unknown code, so the look-up tells a stranger nothing about which codes exist.

Codes are sequential (db.dossier_codes), so guessing is limited per client address and per dossier
code (`settings.public_lookup*`): beyond, 429 `rate_limited` with `Retry-After`, counted the same
for a code that exists and one that does not."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from api.problems import Problem
from api.rate_limits import admit
from db.models import DossierRecord, EventRecord
from db.read_model import events_of_kinds, find_for_public
from domain.dossier import STATUS_LABELS_VI, DossierStatus

if TYPE_CHECKING:
    from api.app import LookupLimits


class PublicDossier(BaseModel):
    """`GET /public/v1/dossiers/{code}`: where the dossier stands."""

    code: str
    procedure_name: str
    status: DossierStatus
    status_label_vi: str
    received_at: datetime
    due_at: datetime | None  # the due date in force (after any stop, supplement or apology)
    completed_at: datetime | None


class PublicStep(BaseModel):
    """One step of the applicant's timeline, in the words the applicant was told."""

    at: datetime
    kind: str
    label_vi: str
    # What the applicant was given with the step: the reason of a supplement request, a stop,
    # a return or an apology; the documents to supply or supplied; a new due date.
    reason: str | None = None
    documents: list[str] = Field(default_factory=list)
    due_at: datetime | None = None  # `due_changed`: the due date now in force
    new_due_date: date | None = None  # `apology`: the day promised instead


class PublicApology(BaseModel):
    """The apology and the new day it promised (form 04)."""

    given_at: datetime
    new_due_date: date
    reason: str | None


class PublicSupplement(BaseModel):
    """What the applicant must supply (form 02), while the dossier awaits it."""

    requested_at: datetime
    reason: str | None
    missing_documents: list[str]


class PublicProgress(PublicDossier):
    """`GET /public/v1/dossiers/{code}/progress`: where the dossier stands, the latest apology,
    what to supply while a supplement is awaited, and the steps the applicant was told of."""

    apology: PublicApology | None
    supplement: PublicSupplement | None
    timeline: list[PublicStep]


# The steps an applicant hears of (each is a notice or a form to him, or his own request), in his
# words. Left out: consultations' contents and agencies, reminders, replies, refused attempts,
# operators' notes: the administration's own business.
STEP_LABELS_VI: dict[str, str] = {
    "received": "Tiếp nhận hồ sơ",
    "consultation_requested": "Lấy ý kiến cơ quan liên quan",
    "sos_supplement": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "supplement": "Đã nhận giấy tờ bổ sung; thời hạn giải quyết tính lại từ đầu",
    "sos_stop": "Tạm dừng xử lý hồ sơ",
    "resume": "Tiếp tục xử lý hồ sơ",
    "sos_return": "Trả lại hồ sơ",
    "due_changed": "Thay đổi thời hạn trả kết quả",
    "late": "Hồ sơ đã quá hạn giải quyết",
    "apology": "Xin lỗi và hẹn lại ngày trả kết quả",
    "result": "Đã có kết quả giải quyết; mời nhận tại Bộ phận Một cửa",
    "handover": "Đã trả kết quả",
    "withdrawal": "Đề nghị rút hồ sơ",
    "withdrawal_confirmed": "Đã rút hồ sơ",
    "abnormal_close": "Kết thúc xử lý hồ sơ",
}
_REASON_GIVEN = frozenset({"sos_supplement", "sos_stop", "sos_return", "apology"})


async def find(
    db: AsyncSession, limits: LookupLimits, address: str, code: str, phone: str | None
) -> DossierRecord:
    """Dossier `code` if `phone` is its applicant's, counted against the limits of `address` and
    of `code`: 429 `rate_limited` beyond them, else 404 `dossier_not_found` for any mismatch."""
    admit((limits.by_address, address), (limits.by_dossier, code))
    found = await find_for_public(db, code, phone) if phone else None
    if found is None:
        raise Problem("dossier_not_found", f"no dossier {code} for this phone number")
    return found


def public_dossier(found: DossierRecord) -> PublicDossier:
    status = DossierStatus(found.status)
    return PublicDossier(
        code=found.code,
        procedure_name=found.procedure_name,
        status=status,
        status_label_vi=STATUS_LABELS_VI[status],
        received_at=found.received_at,
        due_at=found.due_at,
        completed_at=found.completed_at,
    )


async def progress(db: AsyncSession, found: DossierRecord) -> PublicProgress:
    """`found` (from `find`) with its apology, what to supply and its public timeline."""
    events = await events_of_kinds(db, found.code, frozenset(STEP_LABELS_VI))
    timeline: list[PublicStep] = []
    for event in events:
        step = _step(event)
        if step.kind == "consultation_requested" and timeline and timeline[-1] == step:
            continue  # several agencies asked at once: one step for the applicant
        if step.kind == "due_changed" and (step.due_at is None or _cause(event) == "apology"):
            continue  # a paused clock or an apology: the step before says so already
        timeline.append(step)
    apology = next((s for s in reversed(timeline) if s.kind == "apology"), None)
    asked = next((s for s in reversed(timeline) if s.kind == "sos_supplement"), None)
    awaiting = found.status == DossierStatus.AWAITING_SUPPLEMENT
    return PublicProgress(
        **public_dossier(found).model_dump(),
        apology=PublicApology(
            given_at=apology.at, new_due_date=apology.new_due_date, reason=apology.reason
        )
        if apology is not None and apology.new_due_date is not None
        else None,
        supplement=PublicSupplement(
            requested_at=asked.at, reason=asked.reason, missing_documents=asked.documents
        )
        if awaiting and asked is not None
        else None,
        timeline=timeline,
    )


def _step(event: EventRecord) -> PublicStep:
    detail = event.detail or {}
    listed = detail.get("missing_documents") or detail.get("documents")
    documents = [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []
    return PublicStep(
        at=event.at,
        kind=event.kind,
        label_vi=STEP_LABELS_VI[event.kind],
        reason=_text(detail.get("reason")) if event.kind in _REASON_GIVEN else None,
        documents=documents,
        due_at=_moment(detail.get("due_at")) if event.kind == "due_changed" else None,
        new_due_date=_day(detail.get("new_due_date")) if event.kind == "apology" else None,
    )


def _cause(event: EventRecord) -> str | None:
    return _text((event.detail or {}).get("cause"))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
