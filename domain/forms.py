"""The A5 forms of a dossier, as Circular 03/2025/TT-VPCP's Appendix I has them, as content: what
each form says about a dossier.

Built from the dossier document (its applicant, its consultations and its event ledger) with the
two facts the dossier does not carry: the procedure's required documents and the agencies' names.
Pure: no I/O, no clock read (`now` comes in); the text is final Vietnamese, times in Vietnam's
time, so the renderer (`api.forms_pdf`) lays out blocks and knows nothing of dossiers.

| form | when it applies | from |
|---|---|---|
| 01 receipt and appointment | always | the applicant, the procedure, `received`, `due_at` |
| 02 supplement request | a supplement was asked for | the `sos_supplement` event |
| 03 refusal / return | the dossier was returned | the `sos_return` event |
| 04 apology, request to extend | an apology was given | the `apology` event and its `due_changed` |
| 05 notice of a stop | a stop accepted, a withdrawal confirmed | `sos_stop` (each), `resume` |
| 06 process control slip | always | the whole ledger, each step early / on time / late |

Form 07, the tracking book, is the desk's register of all its dossiers, not a form of one. A
dossier received before 1 July 2025 prints the numbers, titles and legal basis of Decree 61/2018
and Circular 01/2018 (`domain.legal_frame`). A form that does not apply is refused with
`FormNotApplicable` (the API's 409 `form_not_applicable`), never printed empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from domain.dossier import ConsultationStatus, ConsultationView, DossierDocument, Event
from domain.legal_frame import CIRCULAR_2018, CIRCULAR_2025, FormNumber, legal_frame
from domain.localtime import VN as _VN
from domain.localtime import local_date

PLACE = "Đồng Nai"  # province, then city from 30/4/2026: the place-and-date line of every form
DESK = "Bộ phận Tiếp nhận và Trả kết quả"  # the one-stop desk (bộ phận một cửa)
MISSING = "—"  # a field the applicant did not give


class Timeliness(StrEnum):
    """How a step ended against its time limit: early, on time or late, as the process-control
    slip (Circular 03/2025/TT-VPCP, form 06) marks each step."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


TIMELINESS_VI: dict[Timeliness, str] = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Quá hạn",
}


def timeliness(done_at: datetime, limit: datetime) -> Timeliness:
    """Late after the limit (to the second, as the dossier marks a reply `answered_late`); early
    on a day before the limit's day (Vietnam's days, as reports compare dates); else on time."""
    if done_at > limit:
        return Timeliness.LATE
    if local_date(done_at) < local_date(limit):
        return Timeliness.EARLY
    return Timeliness.ON_TIME


class FormNotApplicable(Exception):
    """The form has nothing to say about this dossier (no supplement request for 02...)."""

    def __init__(self, form: FormNumber, message_en: str, message_vi: str) -> None:
        self.form, self.message_en, self.message_vi = form, message_en, message_vi
        super().__init__(f"form {form.value}: {message_en}")


# --- the content: blocks a renderer lays out in order --------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Fields(_Frozen):
    """Labelled values, one per line: `Họ và tên: Lê Văn Cường`."""

    kind: Literal["fields"] = "fields"
    items: list[tuple[str, str]]


class Paragraph(_Frozen):
    kind: Literal["paragraph"] = "paragraph"
    text: str


class Table(_Frozen):
    """A table with a heading; `widths` are relative column widths."""

    kind: Literal["table"] = "table"
    heading: str
    columns: list[str]
    widths: list[int]
    rows: list[list[str]]


Block = Annotated[Fields | Paragraph | Table, Field(discriminator="kind")]


class Signature(_Frozen):
    """A signature block: who signs, how, and the name printed under the space for it."""

    title: str
    note: str = "(Ký và ghi rõ họ tên)"
    name: str = ""


class Form(_Frozen):
    """One form, ready to lay out: the header, the title, the dossier code (with a QR code of
    it on form 01), the blocks in order and the signature blocks."""

    number: FormNumber
    printed_number: str  # its number in `circular`: the control slip is 05 in Circular 01/2018
    circular: str  # `Thông tư số 03/2025/TT-VPCP`
    basis: str  # the legal basis line, of the frame of the dossier's receipt
    title: str
    issuer: str  # the lead agency's name: the unit that issues the form
    place_and_date: str  # `Đồng Nai, ngày 03 tháng 3 năm 2025`
    dossier_code: str
    qr_payload: str | None = None
    blocks: list[Block]
    signatures: list[Signature] = Field(default_factory=list)

    def fields(self) -> dict[str, str]:
        """Every labelled value of the form, by label."""
        return {
            label: value
            for block in self.blocks
            if isinstance(block, Fields)
            for label, value in block.items
        }

    def table(self, heading: str) -> Table:
        return next(b for b in self.blocks if isinstance(b, Table) and b.heading == heading)

    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Paragraph)]


class ControlStep(_Frozen):
    """One row of the process control slip (form 06): a hand-off or a step of the process."""

    step: str
    from_unit: str
    to_unit: str
    at: datetime | None  # None: still awaited
    by: str
    limit: datetime | None = None  # the time limit the step is judged against
    timeliness: Timeliness | None = None
    note: str = ""


# --- formatting, in Vietnam's time ---------------------------------------------------------------


def clock_time(at: datetime) -> str:
    """`09 giờ 00 phút, ngày 03/03/2025`: a time as the forms write it."""
    local = at.astimezone(_VN)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def short_time(at: datetime) -> str:
    """`09:00 03/03/2025`: a time in a table cell."""
    return f"{at.astimezone(_VN):%H:%M %d/%m/%Y}"


def place_and_date(day: date) -> str:
    """`Đồng Nai, ngày 03 tháng 3 năm 2025`: days below 10 and months 1 and 2 take a leading
    zero (Decree 30/2020, appendix I)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{PLACE}, ngày {day.day:02d} tháng {month} năm {day.year}"


def lookup_address(pages_url: str, code: str) -> str:
    """The citizens' look-up page of dossier `code` (its code filled in, the phone asked for):
    what form 01's QR code holds, so a phone's camera opens it."""
    return f"{pages_url.rstrip('/')}/lookup?{urlencode({'code': code})}"


# --- building the forms --------------------------------------------------------------------------


def build_form(
    number: FormNumber,
    dossier: DossierDocument,
    *,
    required_documents: Sequence[str],
    agency_names: Mapping[str, str],
    pages_url: str,
    now: datetime,
    stop: int | None = None,
) -> Form:
    """Form `number` about `dossier`. `required_documents` are the procedure's components (what
    the desk received, form 01); `agency_names` name the lead and consulted agencies by code
    (a code without a name is printed as is); `pages_url` is where the pages are, whose
    look-up form 01's QR code leads to; `stop` picks which accepted stop form 05 notifies (1 the
    first; the latest when None). Raises FormNotApplicable, or NoSuchStop."""
    facts = _Facts(dossier, agency_names, now, pages_url)
    if number is FormNumber.RECEIPT:
        return _receipt(facts, required_documents)
    if number is FormNumber.SUPPLEMENT_REQUEST:
        return _supplement_request(facts)
    if number is FormNumber.REFUSAL:
        return _refusal(facts)
    if number is FormNumber.APOLOGY:
        return _apology(facts)
    if number is FormNumber.STOP_NOTICE:
        return _stop_notice(facts, stop)
    return _control_slip(facts)


class NoSuchStop(Exception):
    """Form 05 asked for a stop the dossier does not have (the API's 404 `not_found`)."""

    def __init__(self, stop: int, stops: int) -> None:
        self.stop, self.stops = stop, stops
        super().__init__(f"no stop {stop}: the dossier has {stops} accepted stop(s)")


# What makes each form apply (form 01 and the control slip always do): the event it is about.
_ABOUT: dict[FormNumber, str] = {
    FormNumber.SUPPLEMENT_REQUEST: "sos_supplement",
    FormNumber.REFUSAL: "sos_return",
    FormNumber.APOLOGY: "apology",
    FormNumber.STOP_NOTICE: "sos_stop",
}

# Form 05 notifies two kinds of stop: the texts' own, the applicant's withdrawal confirmed by the
# head (Decree 118/2025 art. 21, Circular 03/2025 art. 7: "dừng giải quyết hồ sơ" at the
# applicant's request), and letter 448's SOS stop, a pause that ends with a resume.
_STOPS = frozenset({"sos_stop", "withdrawal_confirmed"})


def _stops(dossier: DossierDocument) -> list[Event]:
    """The stops form 05 notifies, in their order: one form each."""
    return [e for e in dossier.events if e.kind in _STOPS]


@dataclass(frozen=True)
class FormLink:
    """A form that applies to a dossier: its number, and for form 05 which stop (1, 2...)."""

    number: FormNumber
    title: str
    stop: int | None = None


def applicable_forms(dossier: DossierDocument) -> list[FormLink]:
    """The forms that apply to `dossier` now, in their order, with their titles in its frame:
    one form 05 per accepted stop and for a confirmed withdrawal (a refused stop is a `refused`
    event, not a `sos_stop`)."""
    frame = legal_frame(dossier.received_at)
    kinds = [e.kind for e in dossier.events]
    links: list[FormLink] = []
    for number in FormNumber:
        title = frame.form(number).title
        about = _ABOUT.get(number)
        if about is None:
            links.append(FormLink(number, title))
        elif number is FormNumber.STOP_NOTICE:
            stops = len(_stops(dossier))
            links += [FormLink(number, title, n) for n in range(1, stops + 1)]
        elif about in kinds:
            links.append(FormLink(number, title))
    return links


class _Facts:
    """What every form reads from the dossier, named once."""

    def __init__(
        self,
        dossier: DossierDocument,
        agency_names: Mapping[str, str],
        now: datetime,
        pages_url: str | None = None,  # for form 01's QR code
    ) -> None:
        self.dossier, self.now = dossier, now
        self.names = agency_names
        self.pages_url = pages_url
        self.lead = self.name(dossier.lead_agency)
        self.applicant = dossier.applicant.name

    def name(self, agency: str) -> str:
        return self.names.get(agency, agency)

    def look_up(self) -> str:
        if self.pages_url is None:
            raise ValueError("form 01's QR code needs the pages' address")
        return lookup_address(self.pages_url, self.dossier.code)

    def person(self, user_id: str) -> str:
        """The name of whoever acted as `user_id`, as their token gave it (the id if unknown)."""
        return self.dossier.people.get(user_id, user_id)

    def event(self, kind: str) -> Event | None:
        """The latest event of `kind`."""
        return next((e for e in reversed(self.dossier.events) if e.kind == kind), None)

    def received(self) -> Event:
        found = next((e for e in self.dossier.events if e.kind == "received"), None)
        if found is None:  # every dossier's ledger opens with its receipt
            raise ValueError(f"dossier {self.dossier.code} has no `received` event")
        return found

    def form(
        self,
        number: FormNumber,
        dated: datetime,
        blocks: list[Block],
        signatures: list[Signature],
        qr: bool = False,
    ) -> Form:
        frame = legal_frame(self.dossier.received_at)
        printed = frame.form(number)
        return Form(
            number=number,
            printed_number=printed.number,
            circular=printed.circular,
            basis=frame.basis,
            title=printed.title,
            issuer=self.lead,
            place_and_date=place_and_date(local_date(dated)),
            dossier_code=self.dossier.code,
            qr_payload=self.look_up() if qr else None,
            blocks=blocks,
            signatures=signatures,
        )

    def applicant_fields(self) -> Fields:
        a = self.dossier.applicant
        return Fields(
            items=[
                ("Tổ chức, cá nhân", a.name),
                ("Địa chỉ", a.address or MISSING),
                ("Số điện thoại", a.phone or MISSING),
                ("Thư điện tử", a.email or MISSING),
                ("Số định danh cá nhân", a.id_number or MISSING),
            ]
        )

    def procedure(self) -> str:
        return f"{self.dossier.procedure_name} (mã {self.dossier.procedure_code})"

    def due_text(self) -> str:
        due = self.dossier.due_at
        return clock_time(due) if due else "chưa xác định (thời hạn đang tạm dừng)"


def _numbered(items: Sequence[str]) -> list[list[str]]:
    return [[str(i), item] for i, item in enumerate(items, start=1)]


def _receipt(facts: _Facts, required_documents: Sequence[str]) -> Form:
    received = facts.received()
    days = received.detail.get("processing_days")
    return facts.form(
        FormNumber.RECEIPT,
        received.at,
        [
            Paragraph(text=f"{DESK} – {facts.lead} tiếp nhận hồ sơ của:"),
            facts.applicant_fields(),
            Fields(items=[("Nội dung yêu cầu giải quyết", facts.procedure())]),
            Table(
                heading="Thành phần hồ sơ đã nhận",
                columns=["STT", "Tên giấy tờ"],
                widths=[1, 11],
                rows=_numbered(required_documents),
            ),
            Fields(
                items=[
                    ("Thời hạn giải quyết", f"{days} ngày làm việc" if days else MISSING),
                    ("Thời gian nhận hồ sơ", clock_time(received.at)),
                    ("Thời gian trả kết quả", facts.due_text()),
                    ("Nơi nhận kết quả", f"{DESK} – {facts.lead}"),
                ]
            ),
        ],
        [
            Signature(title="NGƯỜI NỘP HỒ SƠ", name=facts.applicant),
            Signature(title="NGƯỜI TIẾP NHẬN HỒ SƠ", name=facts.person(received.actor)),
        ],
        qr=True,
    )


def _supplement_request(facts: _Facts) -> Form:
    asked = facts.event("sos_supplement")
    if asked is None:
        raise FormNotApplicable(
            FormNumber.SUPPLEMENT_REQUEST,
            "no supplement was requested for this dossier",
            "Hồ sơ không có yêu cầu bổ sung, hoàn thiện",
        )
    delivered = facts.event("supplement")
    return facts.form(
        FormNumber.SUPPLEMENT_REQUEST,
        asked.at,
        [
            Paragraph(text=f"{facts.lead} đã tiếp nhận hồ sơ của:"),
            facts.applicant_fields(),
            Fields(
                items=[
                    ("Nội dung yêu cầu giải quyết", facts.procedure()),
                    ("Thời gian nhận hồ sơ", clock_time(facts.received().at)),
                ]
            ),
            Paragraph(text="Hồ sơ cần được bổ sung, hoàn thiện các giấy tờ sau:"),
            Table(
                heading="Giấy tờ cần bổ sung, hoàn thiện",
                columns=["STT", "Tên giấy tờ"],
                widths=[1, 11],
                rows=_numbered(asked.detail.get("missing_documents") or []),
            ),
            Fields(
                items=[
                    ("Lý do", str(asked.detail.get("reason", ""))),
                    ("Thời gian yêu cầu", clock_time(asked.at)),
                    *(
                        [("Đã nhận hồ sơ bổ sung", clock_time(delivered.at))]
                        if delivered and delivered.at >= asked.at
                        else []
                    ),
                ]
            ),
            Paragraph(
                text=(
                    "Thời hạn giải quyết được tính lại từ đầu khi nhận đủ hồ sơ. Trong quá trình "
                    f"hoàn thiện hồ sơ, nếu có vướng mắc, xin liên hệ {DESK} – {facts.lead} "
                    "để được hướng dẫn."
                )
            ),
        ],
        [Signature(title="NGƯỜI HƯỚNG DẪN", name=facts.person(asked.actor))],
    )


def _refusal(facts: _Facts) -> Form:
    returned = facts.event("sos_return")
    if returned is None:
        raise FormNotApplicable(
            FormNumber.REFUSAL,
            "this dossier was not refused nor returned",
            "Hồ sơ không bị từ chối, trả lại",
        )
    return facts.form(
        FormNumber.REFUSAL,
        returned.at,
        [
            Paragraph(text=f"{facts.lead} đã tiếp nhận hồ sơ của:"),
            facts.applicant_fields(),
            Fields(
                items=[
                    ("Nội dung yêu cầu giải quyết", facts.procedure()),
                    ("Thời gian nhận hồ sơ", clock_time(facts.received().at)),
                ]
            ),
            Paragraph(
                text=f"Sau khi xem xét, {facts.lead} từ chối giải quyết và trả lại hồ sơ với lý do:"
            ),
            Fields(
                items=[
                    ("Lý do", str(returned.detail.get("reason", ""))),
                    ("Thời gian từ chối", clock_time(returned.at)),
                ]
            ),
            Paragraph(text="Xin thông báo để tổ chức, cá nhân được biết."),
        ],
        [Signature(title="NGƯỜI TỪ CHỐI", name=facts.person(returned.actor))],
    )


def _apology(facts: _Facts) -> Form:
    apology = facts.event("apology")
    if apology is None:
        raise FormNotApplicable(
            FormNumber.APOLOGY,
            "no apology was given for this dossier",
            "Hồ sơ không có phiếu xin lỗi, hẹn lại ngày trả kết quả",
        )
    # The due date it replaced and the one it set are in the `due_changed` event it caused.
    moved = next(
        (
            e
            for e in facts.dossier.events
            if e.kind == "due_changed"
            and e.seq > apology.seq
            and e.detail.get("cause") == "apology"
        ),
        None,
    )
    before = _time_of(moved.detail.get("previous")) if moved else None
    after = _time_of(moved.detail.get("due_at")) if moved else None
    new_date = date.fromisoformat(str(apology.detail["new_due_date"]))
    received = facts.received()
    return facts.form(
        FormNumber.APOLOGY,
        apology.at,
        [
            Paragraph(text=f"Kính gửi: {facts.applicant}"),
            Paragraph(
                text=(
                    f"Ngày {local_date(received.at):%d/%m/%Y}, {facts.lead} tiếp nhận giải quyết "
                    f"hồ sơ mã số {facts.dossier.code}. Đến nay, hồ sơ chưa được giải quyết đúng "
                    "hạn đã hẹn."
                )
            ),
            Fields(
                items=[
                    ("Nội dung yêu cầu giải quyết", facts.procedure()),
                    ("Ngày hẹn trả kết quả trước đây", clock_time(before) if before else MISSING),
                    ("Lý do chậm trễ", str(apology.detail.get("reason", ""))),
                    (
                        "Ngày hẹn trả kết quả mới",
                        clock_time(after) if after else f"ngày {new_date:%d/%m/%Y}",
                    ),
                ]
            ),
            Paragraph(
                text=_APOLOGY_CLOSING[legal_frame(facts.dossier.received_at).circular].format(
                    lead=facts.lead
                )
            ),
        ],
        [
            Signature(
                title="THỦ TRƯỞNG CƠ QUAN",
                note="(Ký, ghi rõ họ tên và đóng dấu)",
            )
        ],
    )


# Form 04's last words: Circular 03/2025 makes it an apology with a request to extend the time
# ("Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết", Appendix I); Circular 01/2018 an
# apology with a new appointment. Decree 118/2025's article on it was not read
# (docs/legal-frame.md).
_APOLOGY_CLOSING = {
    CIRCULAR_2025: (
        "Sự chậm trễ này đã gây phiền hà cho tổ chức, cá nhân. {lead} xin lỗi và đề nghị tổ chức, "
        "cá nhân đồng ý gia hạn thời gian giải quyết đến ngày hẹn trả kết quả mới như trên. "
        "Kính mong được thông cảm."
    ),
    CIRCULAR_2018: (
        "Sự chậm trễ này đã gây phiền hà cho tổ chức, cá nhân. {lead} "
        "xin lỗi và hẹn lại ngày trả kết quả như trên. Kính mong được thông cảm."
    ),
}


def _stop_notice(facts: _Facts, stop: int | None) -> Form:
    """Form 05 (Circular 03/2025): the notice that processing of the dossier is stopped, for
    stop number `stop` (the latest when None): an accepted SOS stop with its resume if it came,
    or the withdrawal the head confirmed (Decree 118/2025 art. 21), which ends the dossier."""
    stops = _stops(facts.dossier)
    if not stops:
        raise FormNotApplicable(
            FormNumber.STOP_NOTICE,
            "processing of this dossier was never stopped",
            "Hồ sơ không có lần dừng giải quyết nào",
        )
    if stop is not None and not 1 <= stop <= len(stops):
        raise NoSuchStop(stop, len(stops))
    index = (stop or len(stops)) - 1
    stopped = stops[index]
    received = facts.received()
    if stopped.kind == "withdrawal_confirmed":
        asked = facts.event("withdrawal")
        reason = str(asked.detail.get("reason", "")) if asked else ""
        particulars = [
            (
                "Lý do dừng giải quyết",
                "Tổ chức, cá nhân đề nghị rút hồ sơ" + f": {reason}" * bool(reason),
            ),
            ("Thời gian dừng", clock_time(stopped.at)),
        ]
        closing = (
            "Hồ sơ được dừng giải quyết theo đề nghị rút hồ sơ của tổ chức, cá nhân, đã được thủ "
            "trưởng cơ quan xác nhận. Xin thông báo để tổ chức, cá nhân được biết."
        )
    else:
        later = stops[index + 1].seq if index + 1 < len(stops) else None
        resumed = next(
            (
                e
                for e in facts.dossier.events
                if e.kind == "resume" and e.seq > stopped.seq and (later is None or e.seq < later)
            ),
            None,
        )
        particulars = [
            ("Lý do dừng giải quyết", str(stopped.detail.get("reason", ""))),
            ("Thời gian dừng", clock_time(stopped.at)),
            (
                "Thời gian tiếp tục giải quyết",
                clock_time(resumed.at) if resumed else "chưa tiếp tục",
            ),
        ]
        closing = (
            "Thời gian dừng không tính vào thời hạn giải quyết; ngày hẹn trả kết quả được "
            "tính lại khi tiếp tục giải quyết. Xin thông báo để tổ chức, cá nhân được biết."
        )
    return facts.form(
        FormNumber.STOP_NOTICE,
        stopped.at,
        [
            Paragraph(text=f"Kính gửi: {facts.applicant}"),
            Paragraph(
                text=(
                    f"Ngày {local_date(received.at):%d/%m/%Y}, {facts.lead} tiếp nhận giải quyết "
                    f"hồ sơ mã số {facts.dossier.code}. {facts.lead} thông báo dừng giải quyết "
                    "hồ sơ như sau:"
                )
            ),
            Fields(
                items=[
                    ("Nội dung yêu cầu giải quyết", facts.procedure()),
                    ("Lần dừng", f"{index + 1}/{len(stops)}"),
                    *particulars,
                ]
            ),
            Paragraph(text=closing),
        ],
        [
            Signature(
                title="THỦ TRƯỞNG CƠ QUAN",
                note="(Ký, ghi rõ họ tên và đóng dấu)",
            )
        ],
    )


def _time_of(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# --- form 06: the process control slip -----------------------------------------------------------


def control_steps(
    dossier: DossierDocument, agency_names: Mapping[str, str], now: datetime
) -> list[ControlStep]:
    """The rows of the process control slip, from the ledger in order: the receipt, every
    consultation asked and answered (the answer judged against its deadline), the SOS actions,
    the apology, a withdrawal, the result (judged against the due date in force when it was
    recorded) and the handover; then every consultation still awaited at `now` (late once past
    its deadline)."""
    return _steps(_Facts(dossier, agency_names, now))


def _steps(facts: _Facts) -> list[ControlStep]:
    d = facts.dossier
    applicant, lead = facts.applicant, facts.lead
    by_number = {c.number: c for c in d.consultations}
    steps: list[ControlStep] = []
    for e in d.events:
        detail = e.detail
        reason = str(detail.get("reason") or "")
        consultation = by_number.get(detail.get("number", 0))
        consulted = facts.name(str(detail.get("agency", "")))
        if e.kind == "received":
            days = detail.get("processing_days")
            note = f"Thời hạn {days} ngày làm việc" if days else ""
            steps.append(_step(e, "Tiếp nhận hồ sơ", applicant, lead, note))
        elif e.kind == "consultation_requested" and consultation:
            note = f"Hạn trả lời {short_time(consultation.deadline)}: {consultation.content}"
            steps.append(_step(e, "Xin ý kiến phối hợp", lead, consulted, note))
        elif e.kind == "consultation_answered" and consultation:
            steps.append(
                _step(
                    e,
                    "Trả lời xin ý kiến",
                    consulted,
                    lead,
                    _answer_note(consultation, e.at),
                    limit=consultation.deadline,
                )
            )
        elif e.kind == "consultation_cancelled":
            steps.append(_step(e, "Hủy xin ý kiến", lead, consulted, "Hồ sơ đã được rút"))
        elif e.kind == "sos_supplement":
            documents = "; ".join(detail.get("missing_documents") or [])
            note = f"{reason}. Cần bổ sung: {documents}"
            steps.append(_step(e, "Yêu cầu bổ sung hồ sơ", lead, applicant, note))
        elif e.kind == "supplement":
            note = "Thời hạn tính lại từ đầu"
            steps.append(_step(e, "Nhận hồ sơ bổ sung", applicant, lead, note))
        elif e.kind in _SIMPLE_STEPS:
            label, toward_applicant = _SIMPLE_STEPS[e.kind]
            ends = (lead, applicant) if toward_applicant else (applicant, lead)
            steps.append(_step(e, label, *ends, reason))
        elif e.kind == "apology":
            new_date = date.fromisoformat(str(detail["new_due_date"]))
            note = f"Hẹn lại ngày {new_date:%d/%m/%Y}: {reason}"
            steps.append(_step(e, "Xin lỗi, hẹn lại ngày trả", lead, applicant, note))
        elif e.kind == "result":
            outcome = "Chấp thuận" if detail.get("outcome") == "approved" else "Không chấp thuận"
            note = f"{outcome}, văn bản số {detail.get('document_no', '')}"
            limit = _due_in_force(d, e.at)
            steps.append(_step(e, "Có kết quả giải quyết", lead, DESK, note, limit=limit))
        elif e.kind == "handover":
            received_by = detail.get("received_by")
            note = f"Người nhận: {received_by}" if received_by else ""
            steps.append(_step(e, "Trả kết quả", DESK, applicant, note))
    for c in d.consultations:
        if c.status in (ConsultationStatus.AWAITING, ConsultationStatus.OVERDUE):
            steps.append(
                ControlStep(
                    step="Chờ trả lời xin ý kiến",
                    from_unit=facts.name(c.agency),
                    to_unit=lead,
                    at=None,
                    by="",
                    limit=c.deadline,
                    timeliness=Timeliness.LATE if facts.now > c.deadline else None,
                    note=_answer_note(c, facts.now),
                )
            )
    # Who did each step, by name where their token gave one.
    return [s.model_copy(update={"by": facts.person(s.by)}) if s.by else s for s in steps]


# Steps that only say who moved the dossier and why: label, and whether the lead agency
# hands it to the applicant (else the applicant to the lead agency).
_SIMPLE_STEPS: dict[str, tuple[str, bool]] = {
    "sos_stop": ("Tạm dừng xử lý", True),
    "resume": ("Tiếp tục xử lý", True),
    "sos_return": ("Trả lại hồ sơ", True),
    "withdrawal": ("Đề nghị rút hồ sơ", False),
    "withdrawal_confirmed": ("Thủ trưởng xác nhận rút hồ sơ", True),
}


def _step(
    e: Event,
    step: str,
    from_unit: str,
    to_unit: str,
    note: str = "",
    *,
    limit: datetime | None = None,
) -> ControlStep:
    """The row of event `e`; judged against `limit` when it has one."""
    return ControlStep(
        step=step,
        from_unit=from_unit,
        to_unit=to_unit,
        at=e.at,
        by=e.actor,
        limit=limit,
        timeliness=timeliness(e.at, limit) if limit else None,
        note=note,
    )


def _answer_note(c: ConsultationView, until: datetime) -> str:
    """The deadline, the reminders sent before `until`, and a late answer's cause (R7)."""
    parts = [f"Hạn {short_time(c.deadline)}"]
    parts += [
        f"đã nhắc lần {r.level} lúc {short_time(r.sent_at)}"
        for r in c.reminders
        if r.sent_at <= until
    ]
    if c.late_reason:
        parts.append(f"lý do trễ: {c.late_reason}")
    return "; ".join(parts)


def _due_in_force(d: DossierDocument, at: datetime) -> datetime | None:
    """The due date in force at `at`: the last `due_changed` up to then, else the first one's
    `previous` (the due date at receipt), else the dossier's due date (never changed)."""
    changes = [e for e in d.events if e.kind == "due_changed"]
    if not changes:
        return d.due_at
    due = _time_of(changes[0].detail.get("previous"))
    for e in changes:
        if e.at <= at:
            due = _time_of(e.detail.get("due_at"))
    return due


def _control_slip(facts: _Facts) -> Form:
    d = facts.dossier
    steps = _steps(facts)
    consulted = list(dict.fromkeys(facts.name(c.agency) for c in d.consultations))
    return facts.form(
        FormNumber.CONTROL_SLIP,
        facts.now,
        [
            Fields(
                items=[
                    ("Cơ quan giải quyết", facts.lead),
                    ("Cơ quan phối hợp", ", ".join(consulted) if consulted else MISSING),
                    ("Tổ chức, cá nhân", facts.applicant),
                    ("Nội dung yêu cầu giải quyết", facts.procedure()),
                    ("Thời gian nhận hồ sơ", clock_time(facts.received().at)),
                    ("Thời gian hẹn trả kết quả", facts.due_text()),
                ]
            ),
            Table(
                heading="Quá trình giải quyết hồ sơ",
                columns=[
                    "STT",
                    "Bước (từ – đến)",
                    "Thời gian",
                    "Người thực hiện",
                    "Kết quả",
                    "Ghi chú",
                ],
                widths=[6, 27, 17, 16, 13, 25],
                rows=[
                    [
                        str(i),
                        f"{s.step}\nTừ: {s.from_unit}\nĐến: {s.to_unit}",
                        short_time(s.at).replace(" ", "\n") if s.at else "chưa trả lời",
                        s.by,
                        TIMELINESS_VI[s.timeliness] if s.timeliness else "",
                        s.note,
                    ]
                    for i, s in enumerate(steps, start=1)
                ],
            ),
        ],
        [],
    )
