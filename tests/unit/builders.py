"""Builders for the unit tests of domain/: a `Dossier` in any state, without a workflow.

Everything here goes through the domain's own doors: `domain.dossier.receive` for a new dossier,
`domain.rules` to check that an action is accepted (a builder never forces a state the rules
would refuse), then the `Dossier` method that applies it, and `domain.clock.read_clock` on the
real calendar (`WorkingCalendar.vietnam()`) after the actions that move the clock, as the
workflow does.

Times are real: the default dossier is received on Monday 3 March 2025 at 09:00 in Vietnam, a
month without public holidays (checked against holidays.VN), with 15 working days of processing
and a maximum of 5 working days for a consultation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Literal

from domain import rules
from domain.actions import ACTION_OF_COMMAND, ACTIONS, Fact
from domain.calendar import ZONE, Grace, WorkingCalendar
from domain.clock import read_clock
from domain.commands import (
    Actor,
    ApologyRequest,
    Command,
    ConsultationRequest,
    Handover,
    Reply,
    ResultRecord,
    ResumeRequest,
    Role,
    SosAction,
    SosRequest,
    SupplementDelivery,
    WithdrawalConfirmation,
    WithdrawalRequest,
)
from domain.dossier import (
    Applicant,
    ConsultationPlan,
    Dossier,
    DossierStatus,
    Procedure,
    receive,
)
from domain.limits import AS_RECORDED
from domain.notices import Notice
from domain.refusals import Refusal

CALENDAR = WorkingCalendar.vietnam()
GRACE = Grace(working_days=2)  # between reminder 1 and reminder 2 (R3)

# --- agencies (the catalogue's codes) ------------------------------------------------------------
LEAD = "SXD"  # Sở Xây dựng: the lead agency of the procedure below
FIRE = "CAPCCC"  # Phòng Cảnh sát PCCC, Công an tỉnh: a consulted agency
ENV = "SNNMT"  # Sở Nông nghiệp và Môi trường: a consulted agency
DISTRICT = "UBND-BH"  # UBND thành phố Biên Hòa: a consulted district
HOME_AFFAIRS = "SNV"  # Sở Nội vụ (R3, R8)
PPC_OFFICE = "VPUBND"  # Văn phòng UBND tỉnh (R9)
UNKNOWN = "SXX"  # not in the catalogue
ABOLISHED = "UBND-LT"  # UBND huyện Long Thành: in the catalogue, inactive since 1 July 2025
INACTIVE = frozenset({ABOLISHED})
CATALOGUE = frozenset({LEAD, FIRE, ENV, DISTRICT, HOME_AFFAIRS, PPC_OFFICE, ABOLISHED})


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A wall-clock time in Vietnam, as the aware UTC datetime the domain works with."""
    return datetime(y, mo, d, h, mi, s, tzinfo=ZONE).astimezone(UTC)


# --- the fixed times of the default story (all checked on the real calendar) --------------------
NOW = vn(2025, 3, 3, 9)  # Monday 3/3/2025 09:00: the dossier is received
SOON = vn(2025, 3, 3, 10)  # an hour later: the action that puts a dossier in a state
LATER = vn(2025, 3, 4, 9)  # Tuesday 4/3 09:00: the action under test, before any deadline
DEADLINE = vn(2025, 3, 6, 17)  # Thursday 6/3 17:00: the default reply deadline
OVERDUE = vn(2025, 3, 7, 9)  # Friday 7/3 09:00: after DEADLINE
DEADLINE_2 = vn(2025, 3, 10, 17)  # Monday 10/3 17:00: a later deadline for a second agency
MAXIMUM = vn(2025, 3, 10, 17)  # R2: NOW + 5 working days, at closing
MAXIMUM_FROM_LATER = vn(2025, 3, 11, 17)  # R2: LATER + 5 working days, at closing
SECOND_REMINDER = vn(2025, 3, 10, 17)  # R3: DEADLINE + 2 working days
DUE = vn(2025, 3, 24, 17)  # Monday 24/3: NOW + 15 working days, at closing (R11)
APOLOGY_DEADLINE = vn(2025, 3, 21, 17)  # R13: one working day before DUE (the Friday)
APOLOGY_NOTICE = vn(2025, 3, 21, 7)  # R13: the opening of that working day
NEW_DUE_DATE = date(2025, 3, 28)  # R13: the apology's new appointment date (a Friday)

# --- the procedure and the applicant -----------------------------------------------------------
DOCUMENTS = [
    "Đơn đề nghị cấp giấy phép xây dựng",
    "Bản sao giấy tờ chứng minh quyền sử dụng đất",
    "Bản vẽ thiết kế xây dựng",
    "Văn bản thẩm duyệt thiết kế về phòng cháy và chữa cháy",
]
PROCEDURE = Procedure(
    code="1.009972",
    name="Cấp giấy phép xây dựng mới đối với công trình cấp II",
    lead_agency=LEAD,
    processing_days=15,
    max_consultation_days=5,
    required_documents=DOCUMENTS,
)
APPLICANT = Applicant(
    name="Nguyễn Thị Hoa",
    phone="0913456789",
    email="hoa.nguyen@example.vn",
    id_number="075190001234",
    address="Phường Tân Phong, thành phố Biên Hòa, Đồng Nai",
)
CODE = "000.00.06.H19-250303-0001"
CONTENT = "Cho ý kiến về giải pháp phòng cháy và chữa cháy của công trình"
OPINION = "Thống nhất với hồ sơ thiết kế, không có ý kiến khác."


# --- actors ------------------------------------------------------------------------------------
def actor(agency: str, *roles: Role, user: str | None = None) -> Actor:
    return Actor(
        user_id=user if user is not None else f"{roles[0] if roles else 'user'}.{agency.lower()}",
        name="Lê Văn Minh",
        agency=agency,
        roles=list(roles),
    )


def officer(agency: str = LEAD, user: str | None = None) -> Actor:
    """A cán bộ of `agency`."""
    return actor(agency, Role.OFFICER, user=f"can-bo.{agency.lower()}" if user is None else user)


def head(agency: str = LEAD, user: str | None = None) -> Actor:
    """The thủ trưởng of `agency`."""
    return actor(agency, Role.HEAD, user=f"thu-truong.{agency.lower()}" if user is None else user)


# --- a new dossier and its clock -----------------------------------------------------------------
def dossier(
    *,
    at: datetime = NOW,
    procedure: Procedure = PROCEDURE,
    code: str = CODE,
    applicant: Applicant = APPLICANT,
) -> Dossier:
    """A dossier received by the lead agency's officer at `at`, its clock read."""
    return read(
        receive(
            code=code,
            procedure=procedure,
            applicant=applicant,
            home_affairs_agency=HOME_AFFAIRS,
            received_at=at,
            received_by=officer(procedure.lead_agency),
        )
    )


def read(d: Dossier, calendar: WorkingCalendar = CALENDAR) -> Dossier:
    """Set `d.reading` from its clock ledger on `calendar` (what the `read_clock` activity does)."""
    d.reading = read_clock(d.clock, calendar)
    return d


def consultation_plan(
    d: Dossier, cmd: ConsultationRequest, now: datetime, calendar: WorkingCalendar = CALENDAR
) -> ConsultationPlan:
    """What the `plan_consultation` activity answers: the latest deadline (R2), when reminder 2
    falls (R3), and the agencies the catalogue does not know."""
    return ConsultationPlan(
        maximum=calendar.due_at(now, d.procedure.max_consultation_days),
        second_reminder_at=calendar.after_grace(cmd.deadline, GRACE) if cmd.deadline else None,
        # as domain.catalogue.Catalogue.unknown_agencies answers: the raw codes, once each
        unknown_agencies=[a for a in dict.fromkeys(cmd.agencies) if a not in CATALOGUE],
        inactive_agencies=[a for a in dict.fromkeys(cmd.agencies) if a in INACTIVE],
    )


# --- commands, valid unless told otherwise -------------------------------------------------------
def consultation_request(
    agencies: Sequence[str] = (FIRE,),
    *,
    content: str = CONTENT,
    deadline: datetime | None = DEADLINE,
    by: Actor | None = None,
) -> ConsultationRequest:
    return ConsultationRequest(
        actor=by or officer(), agencies=list(agencies), content=content, deadline=deadline
    )


def reply_command(
    agency: str = FIRE,
    *,
    opinion: str = OPINION,
    late_reason: str | None = None,
    by: Actor | None = None,
) -> Reply:
    return Reply(
        actor=by or officer(agency), agency=agency, opinion=opinion, late_reason=late_reason
    )


def sos_command(
    action: SosAction,
    *,
    reason: str = "Hồ sơ cần làm rõ",
    missing_documents: Sequence[str] | None = None,
    by: Actor | None = None,
) -> SosRequest:
    if missing_documents is None:
        missing_documents = [DOCUMENTS[3]] if action is SosAction.SUPPLEMENT else []
    # As recorded: the domain is also given what got past no limit (runs from before them).
    return SosRequest.model_validate(
        {
            "actor": by or officer(),
            "action": action,
            "reason": reason,
            "missing_documents": list(missing_documents),
        },
        context=AS_RECORDED,
    )


def supplement_command(
    documents: Sequence[str] = (DOCUMENTS[3],), *, by: Actor | None = None
) -> SupplementDelivery:
    return SupplementDelivery(actor=by or officer(), documents=list(documents))


def resume_command(
    reason: str = "Đã có văn bản của cơ quan có thẩm quyền", *, by: Actor | None = None
) -> ResumeRequest:
    return ResumeRequest(actor=by or officer(), reason=reason)


def apology_command(
    new_due_date: date | None = NEW_DUE_DATE,
    *,
    reason: str = "Cần thêm thời gian kiểm tra thực địa",
    by: Actor | None = None,
) -> ApologyRequest:
    return ApologyRequest(actor=by or officer(), reason=reason, new_due_date=new_due_date)


def withdrawal_command(
    *,
    reason: str = "Người nộp không còn nhu cầu",
    application_ref: str = "Đơn rút hồ sơ ngày 04/3/2025",
    by: Actor | None = None,
) -> WithdrawalRequest:
    return WithdrawalRequest(actor=by or officer(), reason=reason, application_ref=application_ref)


def confirmation_command(
    signature_ref: str = "KS-2025-0042", *, by: Actor | None = None
) -> WithdrawalConfirmation:
    return WithdrawalConfirmation(actor=by or head(), signature_ref=signature_ref)


def result_command(
    outcome: Literal["approved", "denied"] = "approved",
    *,
    document_no: str = "125/GPXD",
    summary: str = "Cấp giấy phép xây dựng",
    by: Actor | None = None,
) -> ResultRecord:
    return ResultRecord(
        actor=by or officer(), outcome=outcome, document_no=document_no, summary=summary
    )


def handover_command(
    received_by: str | None = "Nguyễn Thị Hoa", *, by: Actor | None = None
) -> Handover:
    return Handover(actor=by or officer(), received_by=received_by)


# --- deciding and applying, as the workflow does (domain.actions) -------------------------------
def fact(d: Dossier, cmd: Command, now: datetime) -> ConsultationPlan | bool | None:
    """The calendar's answer for the fact `cmd`'s action needs, as the workflow's activities
    give it (None: the action needs none, or an apology without a new date to ask about)."""
    needed = ACTIONS[ACTION_OF_COMMAND[type(cmd)]].fact
    if needed is Fact.PLAN:
        assert isinstance(cmd, ConsultationRequest)
        return consultation_plan(d, cmd, now)
    if needed is Fact.WORKING_DAY:
        assert isinstance(cmd, ApologyRequest)
        return None if cmd.new_due_date is None else CALENDAR.is_working_day(cmd.new_due_date)
    return None


def decide(d: Dossier, cmd: Command, now: datetime) -> Refusal | None:
    """The `domain.rules` decision for `cmd` (its type names the action)."""
    rule = ACTIONS[ACTION_OF_COMMAND[type(cmd)]]
    return rule.decide(d, cmd, now, fact(d, cmd, now))


def apply(d: Dossier, cmd: Command, now: datetime) -> list[Notice]:
    """Apply `cmd` at `now`, after asserting that the rules accept it; returns its notices."""
    rule = ACTIONS[ACTION_OF_COMMAND[type(cmd)]]
    answer = fact(d, cmd, now)
    refusal = rules.admission(d, cmd) or rule.decide(d, cmd, now, answer)
    assert refusal is None, f"{type(cmd).__name__} refused: {refusal.code} {refusal.facts}"
    sent = rule.apply(d, cmd, now, answer)
    if rule.moves_clock:
        d.record_clock(read_clock(d.clock, CALENDAR), now, rule.action.value)
    return sent


def consult(
    d: Dossier,
    agencies: Sequence[str] = (FIRE,),
    *,
    at: datetime = SOON,
    deadline: datetime = DEADLINE,
    content: str = CONTENT,
) -> list[Notice]:
    return apply(d, consultation_request(agencies, content=content, deadline=deadline), at)


def reply(
    d: Dossier, agency: str = FIRE, *, at: datetime = LATER, late_reason: str | None = None
) -> list[Notice]:
    return apply(d, reply_command(agency, late_reason=late_reason), at)


def sos(
    d: Dossier,
    action: SosAction,
    *,
    at: datetime = SOON,
    missing_documents: Sequence[str] | None = None,
) -> list[Notice]:
    return apply(d, sos_command(action, missing_documents=missing_documents), at)


def receive_supplement(d: Dossier, *, at: datetime = LATER) -> list[Notice]:
    return apply(d, supplement_command(), at)


def resume(d: Dossier, *, at: datetime = LATER) -> list[Notice]:
    return apply(d, resume_command(), at)


def apologise(
    d: Dossier, new_due_date: date = NEW_DUE_DATE, *, at: datetime = LATER
) -> list[Notice]:
    return apply(d, apology_command(new_due_date), at)


def request_withdrawal(d: Dossier, *, at: datetime = SOON) -> list[Notice]:
    return apply(d, withdrawal_command(), at)


def confirm_withdrawal(d: Dossier, *, at: datetime = LATER) -> list[Notice]:
    return apply(d, confirmation_command(), at)


def record_result(d: Dossier, *, at: datetime = SOON) -> list[Notice]:
    return apply(d, result_command(), at)


def hand_over(d: Dossier, *, at: datetime = LATER) -> list[Notice]:
    return apply(d, handover_command(), at)


def remind(d: Dossier, number: int, *, at: datetime | None = None) -> list[Notice]:
    """Issue the reminder consultation `number` is owed (R3), when it is due or at `at`."""
    due = d.consultation(number).next_reminder()
    assert due is not None, f"consultation {number} is owed no reminder"
    when = at or due.at
    assert when >= due.at, f"reminder {due.level} is due at {due.at}, not yet at {when}"
    return d.issue_reminder(number, due.level, when)


def ring(d: Dossier, *, at: datetime | None = None) -> list[Notice]:
    """Fire the dossier's next clock alarm (R13), when it is due or at `at`."""
    alarm = d.next_clock_alarm()
    assert alarm is not None, "the dossier's clock has no alarm"
    when = at or alarm.at
    assert when >= alarm.at, f"the {alarm.kind} alarm is due at {alarm.at}, not yet at {when}"
    return d.fire_clock_alarm(alarm, when)


# --- a dossier in each status ------------------------------------------------------------------
def processing() -> Dossier:
    return dossier()


def consulting(*agencies: str, deadline: datetime = DEADLINE) -> Dossier:
    """Consulting `agencies` (default FIRE), requested at SOON."""
    d = dossier()
    consult(d, agencies or (FIRE,), deadline=deadline)
    return d


def stopped() -> Dossier:
    d = dossier()
    sos(d, SosAction.STOP)
    return d


def awaiting_supplement() -> Dossier:
    d = dossier()
    sos(d, SosAction.SUPPLEMENT)
    return d


def result_ready() -> Dossier:
    d = dossier()
    record_result(d)
    return d


def completed() -> Dossier:
    d = result_ready()
    hand_over(d, at=vn(2025, 3, 3, 11))
    return d


def returned() -> Dossier:
    d = dossier()
    sos(d, SosAction.RETURN)
    return d


def withdrawn() -> Dossier:
    d = dossier()
    request_withdrawal(d)
    confirm_withdrawal(d, at=vn(2025, 3, 3, 11))
    return d


IN_STATUS: dict[DossierStatus, Callable[[], Dossier]] = {
    DossierStatus.PROCESSING: processing,
    DossierStatus.CONSULTING: consulting,
    DossierStatus.AWAITING_SUPPLEMENT: awaiting_supplement,
    DossierStatus.STOPPED: stopped,
    DossierStatus.RESULT_READY: result_ready,
    DossierStatus.COMPLETED: completed,
    DossierStatus.RETURNED: returned,
    DossierStatus.WITHDRAWN: withdrawn,
}
