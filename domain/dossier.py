"""The dossier (hồ sơ): its state, and how an accepted action changes it.

Whether an action is accepted is decided in `domain.rules`; the methods here apply an action the
rules accepted and say which notices go out. Pure: no clock reads (`now` comes in), no I/O; the
workflow keeps one `Dossier` as its whole state, so it can be carried through continue-as-new and
shown by a query.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from domain import limits, notices
from domain.clock import ClockLedger, ClockReading
from domain.commands import (
    SYSTEM,
    Actor,
    ApologyRequest,
    Command,
    ConsultationRequest,
    Handover,
    InvalidRequest,
    Reply,
    ResultRecord,
    ResumeRequest,
    SosAction,
    SosRequest,
    SupplementDelivery,
    WithdrawalConfirmation,
    WithdrawalRequest,
)
from domain.excerpts import FIELD_KEPT, ITEMS_KEPT, bounded, clean
from domain.national_status import NationalStatus, national_status
from domain.notices import Notice
from domain.ops import OPERATOR_NOTES_MAX, OperatorNote
from domain.refusals import Refusal

# Bounds on the refused attempts a dossier keeps (issue 8): its whole state is carried through
# continue-as-new and returned by its updates, under Temporal's 2 MB payload limit. A kept
# attempt is at most a few KB (`domain.excerpts`), one past the caps a few hundred bytes.
REFUSALS_KEPT = 100
REFUSALS_KEPT_PER_ACTOR = 20
REFUSED_EVENTS_MAX = 300
FACTS_KEPT = 100  # items of a refusal's fact lists kept


class DossierStatus(StrEnum):
    PROCESSING = "processing"
    CONSULTING = "consulting"  # derived: processing while some consultation awaits an answer
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    STOPPED = "stopped"
    RESULT_READY = "result_ready"
    COMPLETED = "completed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


FINAL_STATUSES = frozenset(
    {DossierStatus.COMPLETED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN}
)

STATUS_LABELS_VI: dict[DossierStatus, str] = {
    DossierStatus.PROCESSING: "Đang xử lý",
    DossierStatus.CONSULTING: "Đang xin ý kiến cơ quan liên quan",
    DossierStatus.AWAITING_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    DossierStatus.STOPPED: "Tạm dừng xử lý",
    DossierStatus.RESULT_READY: "Đã có kết quả, chờ trả",
    DossierStatus.COMPLETED: "Đã trả kết quả",
    DossierStatus.RETURNED: "Đã trả lại hồ sơ",
    DossierStatus.WITHDRAWN: "Đã rút hồ sơ",
}


class ConsultationStatus(StrEnum):
    AWAITING = "awaiting"
    OVERDUE = "overdue"  # derived: awaiting past its deadline
    ANSWERED = "answered"
    ANSWERED_LATE = "answered_late"
    CANCELLED = "cancelled"


class Procedure(BaseModel):
    """The catalogue entry the dossier was received under, as it was at receipt."""

    code: limits.Code
    name: limits.Title
    lead_agency: limits.Code
    processing_days: limits.Days
    max_consultation_days: limits.Days  # R2: proposed by the lead agency
    required_documents: limits.DocumentNames = Field(default_factory=list)


class Applicant(BaseModel):
    name: limits.Name
    phone: limits.Short | None = None
    email: limits.Email | None = None
    id_number: limits.Short | None = None
    address: limits.Title | None = None


class Reminder(BaseModel):
    level: Literal[1, 2]
    sent_at: datetime
    cc: list[str] = Field(default_factory=list)


class DueReminder(BaseModel):
    """The next reminder a consultation is owed (R3)."""

    level: Literal[1, 2]
    at: datetime


class Consultation(BaseModel):
    number: int  # 1-based, in the order requested: part of business keys
    agency: str
    content: str
    deadline: datetime
    requested_at: datetime
    requested_by: str
    second_reminder_at: datetime  # the deadline plus the grace, on the calendar of the request
    outcome: Literal["answered", "answered_late", "cancelled"] | None = None
    replied_at: datetime | None = None
    replied_by: str | None = None
    opinion: str | None = None
    late_reason: str | None = None
    reminders: list[Reminder] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.outcome is None

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and now > self.deadline

    def status_at(self, now: datetime) -> ConsultationStatus:
        if self.outcome is not None:
            return ConsultationStatus(self.outcome)
        return ConsultationStatus.OVERDUE if now > self.deadline else ConsultationStatus.AWAITING

    def next_reminder(self) -> DueReminder | None:
        """R3: reminder 1 at the deadline, reminder 2 after the grace; none once settled."""
        if not self.is_open or len(self.reminders) >= 2:
            return None
        if not self.reminders:
            return DueReminder(level=1, at=self.deadline)
        return DueReminder(level=2, at=self.second_reminder_at)


class ConsultationPlan(BaseModel):
    """What the calendar says about a consultation request, computed before the rules decide."""

    maximum: datetime  # R2: the latest deadline allowed
    second_reminder_at: datetime | None  # None when the request has no deadline
    unknown_agencies: list[str] = Field(default_factory=list)
    # Agencies of the catalogue that no longer exist (`active = false`); absent from the plans
    # recorded before issue 10, hence the default.
    inactive_agencies: list[str] = Field(default_factory=list)


class Event(BaseModel):
    """One line of the dossier's timeline (R12): accepted actions, refusals, what timers did."""

    seq: int
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any] = Field(default_factory=dict)


class SupplementRequest(BaseModel):
    reason: str
    missing_documents: list[str]
    requested_at: datetime
    delivered_at: datetime | None = None
    documents: list[str] = Field(default_factory=list)


class Apology(BaseModel):
    reason: str
    new_due_date: date
    given_at: datetime
    given_by: str


class Withdrawal(BaseModel):
    reason: str
    application_ref: str
    requested_at: datetime
    requested_by: str
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    signature_ref: str | None = None


class Result(BaseModel):
    outcome: Literal["approved", "denied"]
    document_no: str
    summary: str
    recorded_at: datetime
    recorded_by: str


class ClockAlarm(BaseModel):
    """What the dossier's own clock will do next by itself (R13)."""

    kind: Literal["apology_due", "late"]
    at: datetime


class Phase(StrEnum):
    """Stored status; `consulting` is derived from the consultations, never stored."""

    PROCESSING = "processing"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    STOPPED = "stopped"
    RESULT_READY = "result_ready"
    COMPLETED = "completed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class Dossier(BaseModel):
    code: str
    procedure: Procedure
    applicant: Applicant
    lead_agency: str
    home_affairs_agency: str  # R3: copied on every second reminder
    received_at: datetime
    received_by: str
    # The one-stop desk that received it for the lead agency (Decree 118/2025: receipt at any
    # desk); None when the lead agency received it itself, as every dossier before issue 10.
    receiving_desk: str | None = None
    phase: Phase = Phase.PROCESSING
    clock: ClockLedger = Field(default_factory=ClockLedger)
    reading: ClockReading | None = None  # the clock read by the calendar activity
    late: bool = False
    apology_due_notified_for: datetime | None = None  # the due date the R13 notice was sent for
    consultations: list[Consultation] = Field(default_factory=list)
    supplement: SupplementRequest | None = None
    apology: Apology | None = None
    withdrawal: Withdrawal | None = None
    result: Result | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    abnormal_close: str | None = None  # R5: ended from outside (cancelled by an operator)
    events: list[Event] = Field(default_factory=list)
    # The names of the people who acted on it, by user id, as their tokens gave them: the forms
    # print names, the events keep ids.
    people: dict[str, str] = Field(default_factory=dict)

    # --- reading the state -------------------------------------------------------------------

    @property
    def status(self) -> DossierStatus:
        if self.phase is Phase.PROCESSING and self.awaiting():
            return DossierStatus.CONSULTING
        return DossierStatus(self.phase.value)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def due_at(self) -> datetime | None:
        return self.reading.due_at if self.reading else None

    def awaiting(self) -> list[Consultation]:
        """Consultations that await an answer, on time or overdue (R4, R5)."""
        return [c for c in self.consultations if c.is_open]

    def open_consultation(self, agency: str) -> Consultation | None:
        return next((c for c in self.consultations if c.agency == agency and c.is_open), None)

    def latest_consultation(self, agency: str) -> Consultation | None:
        return next((c for c in reversed(self.consultations) if c.agency == agency), None)

    def consultation(self, number: int) -> Consultation:
        return self.consultations[number - 1]

    def next_clock_alarm(self) -> ClockAlarm | None:
        """R13: the apology-due notice a working day before the due date, then lateness at it.
        Only while the clock runs and the dossier is being processed."""
        reading = self.reading
        if self.phase is not Phase.PROCESSING or reading is None or not reading.running:
            return None
        if self.late or reading.due_at is None:
            return None
        if (
            self.apology is None
            and reading.apology_notice_at is not None
            and self.apology_due_notified_for != reading.due_at
        ):
            return ClockAlarm(kind="apology_due", at=reading.apology_notice_at)
        return ClockAlarm(kind="late", at=reading.due_at)

    # --- recording -----------------------------------------------------------------------------

    def note_person(self, actor: Actor) -> None:
        """Remember `actor`'s name (the latest their token gave) for the forms."""
        self._note(actor.user_id, actor.name)

    def _note(self, user_id: str, name: str) -> None:
        if user_id and name.strip():
            self.people[user_id] = name.strip()

    def record(self, at: datetime, kind: str, actor: str, **detail: Any) -> Event:
        event = Event(seq=len(self.events) + 1, at=at, kind=kind, actor=actor, detail=detail)
        self.events.append(event)
        return event

    def record_refusal(
        self,
        command: Command,
        action: str,
        refusal: Refusal,
        now: datetime,
        via: str,
        bounded: bool = True,
    ) -> Event:
        """R9, R12: a refused attempt is kept with who, when, what and why."""
        detail = refusal_detail(command, action, refusal, via, excerpt=bounded)
        return self.record_refused(now, command.actor, detail, bounded)

    def record_invalid_request(
        self, request: InvalidRequest, now: datetime, bounded: bool = True
    ) -> Event:
        """R9, R12: an action whose request could not be read is refused and kept too."""
        detail = invalid_request_detail(request, excerpt=bounded)
        return self.record_refused(now, request.actor, detail, bounded)

    def record_refused(
        self, now: datetime, actor: Actor | str, detail: dict[str, Any], bounded: bool = True
    ) -> Event:
        """Keep a `refused` event (its `detail` from `refused_detail`) by `actor` (an officer, or
        the bare id of one who is not: `ops:<operator>`, `?`).

        Bounded (issue 8): an attempt identical to one this actor already made (same action,
        code, agency, channel, request and facts) is counted on that event (`repeated`, `last_at`)
        rather than stored again. Past `REFUSALS_KEPT` refused events on the dossier, or
        `REFUSALS_KEPT_PER_ACTOR` by one actor, a new attempt is counted on the latest event
        of its audit class (agency, action, code, SOS action; `not_kept` counts the requests
        left out), or else kept without its request; past `REFUSED_EVENTS_MAX`, every attempt
        is counted on an event already there. So the SOS audit still counts every attempt of
        each agency and action, and the state has a ceiling whoever sends what.
        Unbounded (runs from before `bounded-refusals`): one event per attempt, as they did."""
        person = actor if isinstance(actor, Actor) else None
        actor_id = (actor.user_id if isinstance(actor, Actor) else actor) or "?"
        if not bounded:
            if person:
                self.note_person(person)
            return self.record(now, "refused", actor_id, **detail)
        actor_id = clean(actor_id, FIELD_KEPT)
        refused = [e for e in reversed(self.events) if e.kind == "refused"]
        same = next(
            (e for e in refused if e.actor == actor_id and _attempt(e.detail) == detail),
            None,
        )
        if same is not None:
            return _count_again(same, now, same_request=True)
        over = len(refused) >= REFUSALS_KEPT or (
            sum(e.actor == actor_id for e in refused) >= REFUSALS_KEPT_PER_ACTOR
        )
        if over:
            keys = _AUDIT_CLASS if len(refused) < REFUSED_EVENTS_MAX else _ACTION_AND_CODE
            alike = next((e for e in refused if _same(e.detail, detail, keys)), None)
            if alike is None and len(refused) >= REFUSED_EVENTS_MAX:
                alike = refused[0]
            if alike is not None:
                return _count_again(alike, now, same_request=False)
            return self.record(now, "refused", actor_id, **_without_request(detail))
        if person and person.user_id:
            self._note(actor_id, clean(person.name, FIELD_KEPT))  # a name safe to store
        return self.record(now, "refused", actor_id, **detail)

    def record_read_model_failure(self, since: int, error: str, now: datetime) -> Event:
        """The read model refused this dossier's write (issue 8): the event reaches it with the
        write that repairs it, so the timeline says from when it was behind, and why."""
        return self.record(now, "read_model_write_failed", SYSTEM, since=since, error=error)

    def record_operator_note(self, note: OperatorNote, now: datetime) -> Event | None:
        """An operator's note in the timeline, by `ops:<operator>`; None once the dossier has
        `OPERATOR_NOTES_MAX` of them (the caller records the refusal)."""
        if sum(e.kind == "operator_note" for e in self.events) >= OPERATOR_NOTES_MAX:
            return None
        return self.record(now, "operator_note", note.identity, note=note.note)

    def record_clock(
        self, reading: ClockReading, now: datetime, cause: str, actor: str = SYSTEM
    ) -> None:
        """Keep a new clock reading; a changed due date is an event of its own (R11, R12), by
        `actor` (the system, or the operator who asked for the recomputation)."""
        first, before = self.reading is None, self.due_at
        self.reading = reading
        if not first and reading.due_at != before:
            self.record(
                now,
                "due_changed",
                actor,
                cause=cause,
                previous=before.isoformat() if before else None,
                due_at=reading.due_at.isoformat() if reading.due_at else None,
                stopped_working_days=reading.stopped_working_days,
            )

    # --- applying accepted actions: each returns the notices it causes ----------------------

    def consult(
        self, cmd: ConsultationRequest, now: datetime, plan: ConsultationPlan
    ) -> list[Notice]:
        assert cmd.deadline is not None and plan.second_reminder_at is not None
        sent = []
        for agency in cmd.agencies:
            c = Consultation(
                number=len(self.consultations) + 1,
                agency=agency,
                content=cmd.content.strip(),
                deadline=cmd.deadline,
                requested_at=now,
                requested_by=cmd.actor.user_id,
                second_reminder_at=plan.second_reminder_at,
            )
            self.consultations.append(c)
            self.record(
                now,
                "consultation_requested",
                cmd.actor.user_id,
                agency=agency,
                number=c.number,
                content=c.content,
                deadline=c.deadline.isoformat(),
            )
            sent.append(notices.consultation_request(self, c, now))
        return sent

    def reply(self, cmd: Reply, now: datetime) -> list[Notice]:
        c = self.open_consultation(cmd.agency)
        assert c is not None
        late = now > c.deadline
        c.outcome = "answered_late" if late else "answered"
        c.replied_at, c.replied_by = now, cmd.actor.user_id
        c.opinion = cmd.opinion.strip()
        c.late_reason = (cmd.late_reason or "").strip() or None
        self.record(
            now,
            "consultation_answered",
            cmd.actor.user_id,
            agency=c.agency,
            number=c.number,
            late=late,
            late_reason=c.late_reason,
        )
        return []

    def issue_reminder(self, number: int, level: Literal[1, 2], now: datetime) -> list[Notice]:
        c = self.consultation(number)
        cc = [self.home_affairs_agency] if level == 2 else []
        c.reminders.append(Reminder(level=level, sent_at=now, cc=cc))
        self.record(now, f"reminder_{level}", SYSTEM, agency=c.agency, number=number, cc=cc)
        return [notices.reminder(self, c, level, now)]

    def sos(self, cmd: SosRequest, now: datetime) -> list[Notice]:
        reason = cmd.reason.strip()
        event = self.record(
            now,
            f"sos_{cmd.action.value}",
            cmd.actor.user_id,
            reason=reason,
            missing_documents=cmd.missing_documents,
        )
        if cmd.action is SosAction.SUPPLEMENT:
            self.phase = Phase.AWAITING_SUPPLEMENT
            self.supplement = SupplementRequest(
                reason=reason, missing_documents=list(cmd.missing_documents), requested_at=now
            )
            self.clock.suspend(now)
            return [notices.supplement_request(self, event, now)]
        if cmd.action is SosAction.STOP:
            self.phase = Phase.STOPPED
            self.clock.pause(now)
            return [notices.stop_notice(self, event, reason, now)]
        if self.phase is Phase.STOPPED:
            self.clock.resume(now)  # a returned dossier's clock ends where it stood
        self._close(Phase.RETURNED, now)
        return [notices.return_notice(self, event, reason, now)]

    def receive_supplement(self, cmd: SupplementDelivery, now: datetime) -> list[Notice]:
        assert self.supplement is not None
        self.supplement.delivered_at, self.supplement.documents = now, list(cmd.documents)
        self.phase = Phase.PROCESSING
        self.clock.start(now, self.procedure.processing_days)  # R11: restarts from zero
        self.record(now, "supplement", cmd.actor.user_id, documents=cmd.documents)
        return []

    def resume(self, cmd: ResumeRequest, now: datetime) -> list[Notice]:
        self.phase = Phase.PROCESSING
        self.clock.resume(now)
        self.record(now, "resume", cmd.actor.user_id, reason=cmd.reason.strip())
        return []

    def give_apology(self, cmd: ApologyRequest, now: datetime) -> list[Notice]:
        assert cmd.new_due_date is not None
        self.apology = Apology(
            reason=cmd.reason.strip(),
            new_due_date=cmd.new_due_date,
            given_at=now,
            given_by=cmd.actor.user_id,
        )
        self.clock.reschedule(cmd.new_due_date)
        event = self.record(
            now,
            "apology",
            cmd.actor.user_id,
            reason=self.apology.reason,
            new_due_date=cmd.new_due_date.isoformat(),
        )
        return [notices.apology(self, event, now)]

    def request_withdrawal(self, cmd: WithdrawalRequest, now: datetime) -> list[Notice]:
        self.withdrawal = Withdrawal(
            reason=cmd.reason.strip(),
            application_ref=cmd.application_ref.strip(),
            requested_at=now,
            requested_by=cmd.actor.user_id,
        )
        self.record(
            now,
            "withdrawal",
            cmd.actor.user_id,
            reason=self.withdrawal.reason,
            application_ref=self.withdrawal.application_ref,
        )
        return []

    def confirm_withdrawal(self, cmd: WithdrawalConfirmation, now: datetime) -> list[Notice]:
        """R6: only now is the dossier withdrawn; open consultations are cancelled, with notice."""
        assert self.withdrawal is not None
        w = self.withdrawal
        w.confirmed_at, w.confirmed_by = now, cmd.actor.user_id
        w.signature_ref = cmd.signature_ref.strip()
        event = self.record(
            now, "withdrawal_confirmed", cmd.actor.user_id, signature_ref=w.signature_ref
        )
        sent = []
        for c in self.awaiting():
            c.outcome = "cancelled"
            self.record(now, "consultation_cancelled", SYSTEM, agency=c.agency, number=c.number)
            sent.append(notices.consultation_cancelled(self, c, now))
        if self.phase is Phase.STOPPED:
            self.clock.resume(now)
        self._close(Phase.WITHDRAWN, now)
        sent.append(notices.withdrawal_notice(self, event, now))
        return sent

    def record_result(self, cmd: ResultRecord, now: datetime) -> list[Notice]:
        self.result = Result(
            outcome=cmd.outcome,
            document_no=cmd.document_no.strip(),
            summary=cmd.summary.strip(),
            recorded_at=now,
            recorded_by=cmd.actor.user_id,
        )
        self.phase = Phase.RESULT_READY
        event = self.record(
            now,
            "result",
            cmd.actor.user_id,
            outcome=cmd.outcome,
            document_no=self.result.document_no,
        )
        return [notices.result_ready(self, event, now)]

    def hand_over(self, cmd: Handover, now: datetime) -> list[Notice]:
        self.completed_at = now
        self.record(now, "handover", cmd.actor.user_id, received_by=cmd.received_by)
        self._close(Phase.COMPLETED, now)
        return []

    def fire_clock_alarm(self, alarm: ClockAlarm, now: datetime) -> list[Notice]:
        assert self.reading is not None and self.reading.due_at is not None
        if alarm.kind == "late":
            self.late = True
            self.record(now, "late", SYSTEM, due_at=self.reading.due_at.isoformat())
            return []
        self.apology_due_notified_for = self.reading.due_at
        event = self.record(now, "apology_due", SYSTEM, due_at=self.reading.due_at.isoformat())
        return [notices.apology_due(self, event, now)]

    def close_abnormally(self, how: str, now: datetime) -> None:
        """R5: ended from outside the rules; reported as an abnormal close."""
        self.abnormal_close = how
        self.closed_at = now
        self.record(now, "abnormal_close", SYSTEM, **abnormal_close_detail(how, self.status.value))

    def _close(self, phase: Phase, now: datetime) -> None:
        self.phase = phase
        self.closed_at = now

    # --- the document of API.md ----------------------------------------------------------------

    def document(self, now: datetime) -> DossierDocument:
        return DossierDocument(
            code=self.code,
            procedure_code=self.procedure.code,
            procedure_name=self.procedure.name,
            lead_agency=self.lead_agency,
            receiving_desk=self.receiving_desk,
            applicant=self.applicant,
            status=self.status,
            received_at=self.received_at,
            due_at=self.due_at,
            completed_at=self.completed_at,
            closed_at=self.closed_at,
            late=self.late,
            national_status=national_status(self.status.value),
            consultations=[
                ConsultationView(
                    number=c.number,
                    agency=c.agency,
                    content=c.content,
                    deadline=c.deadline,
                    status=c.status_at(now),
                    requested_at=c.requested_at,
                    replied_at=c.replied_at,
                    opinion=c.opinion,
                    late_reason=c.late_reason,
                    reminders=c.reminders,
                )
                for c in self.consultations
            ],
            withdrawal=(
                None
                if self.withdrawal is None
                else ("confirmed" if self.withdrawal.confirmed_at else "pending_confirmation")
            ),
            events=self.events,
            people=self.people,
        )


class ConsultationView(BaseModel):
    number: int
    agency: str
    content: str
    deadline: datetime
    status: ConsultationStatus
    requested_at: datetime
    replied_at: datetime | None
    opinion: str | None
    late_reason: str | None
    reminders: list[Reminder]


class DossierDocument(BaseModel):
    """The dossier document of API.md (a few fields added: procedure_name, closed_at,
    withdrawal, and each event's seq and consultation's number)."""

    # the dossier as recorded (an update's result, the query): read without today's limits
    LIMITS_AS_RECORDED: ClassVar[bool] = True

    code: str
    procedure_code: str
    procedure_name: str
    lead_agency: str
    applicant: Applicant
    status: DossierStatus
    received_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    late: bool
    national_status: NationalStatus
    consultations: list[ConsultationView]
    withdrawal: Literal["pending_confirmation", "confirmed"] | None
    events: list[Event]
    people: dict[str, str] = {}  # names by user id of those who acted (for the forms)
    # The desk that received it for the lead agency; None: the lead agency itself (`Dossier`).
    receiving_desk: str | None = None


def refused_detail(
    *,
    action: str,
    code: str,
    actor_agency: str | None,
    reason: str,
    via: str,
    request: Any,
    facts: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    excerpt: bool = True,
) -> dict[str, Any]:
    """What a `refused` event says (R9): the action, the code, the actor's agency, why (in
    Vietnamese), how it came (update, signal, api), the request, and the refusal's facts (such as
    the agencies awaited) or the errors of a request that could not be read. With `excerpt`
    (all but runs from before `bounded-refusals`), every part is bounded and safe to store
    (`domain.excerpts`): a request's fields stay queryable, cut; a raw body is cut to 1,000
    characters."""
    detail: dict[str, Any] = {
        "action": action,
        "code": code,
        "actor_agency": actor_agency,
        "reason": reason,
        "via": via,
        "request": request,
        **(facts or {}),
    }
    if errors is not None:
        detail["errors"] = errors
    if not excerpt:
        return detail
    body = detail.pop("request")
    # The facts' lists are the dossier's own (agencies awaited): bounded by it, kept whole.
    kept = {key: bounded(value, items=FACTS_KEPT) for key, value in detail.items()}
    if isinstance(body, dict) and isinstance(body.get("body"), str):
        kept["request"] = {"body": clean(body["body"])}
    else:
        kept["request"] = bounded(body)
    return kept


def refusal_detail(
    command: Command, action: str, refusal: Refusal, via: str, *, excerpt: bool = True
) -> dict[str, Any]:
    """The `refused` event of an action the rules refused (`refused_detail`)."""
    return refused_detail(
        action=action,
        code=refusal.code.value,
        actor_agency=command.actor.agency,
        reason=refusal.message_vi,
        via=via,
        request=command.model_dump(mode="json", exclude=set(Command.ENVELOPE)),
        facts=refusal.model_dump(mode="json")["facts"],
        excerpt=excerpt,
    )


def abnormal_close_detail(how: str, status: str) -> dict[str, Any]:
    """What an `abnormal_close` event says (R5): how the dossier was ended from outside the rules
    (cancelled, terminated, ...) and the status it was left in. The workflow records it for a
    cancellation; the sweep of ended runs, for a run that ended running no code of its own."""
    return {"how": how, "status": status}


def invalid_request_detail(
    request: InvalidRequest, via: str = "api", *, excerpt: bool = True
) -> dict[str, Any]:
    """What the `refused` event of an unreadable request says (R9): the same keys as a refusal
    by the rules (`refusal_detail`), the request being the body as received."""
    errors = request.errors[:ITEMS_KEPT] if excerpt else request.errors
    return refused_detail(
        action=request.action.value,
        code=request.code,
        actor_agency=request.actor.agency,
        reason="Yêu cầu không hợp lệ: " + "; ".join(errors),
        via=via,
        request={"body": request.body},
        errors=errors,
        excerpt=excerpt,
    )


# What the SOS audit tells apart (R9: per agency, action and SOS action).
_AUDIT_CLASS = ("action", "code", "actor_agency", ("request", "action"))
_ACTION_AND_CODE = ("action", "code")


def _same(a: dict[str, Any], b: dict[str, Any], keys: tuple[str | tuple[str, str], ...]) -> bool:
    def at(detail: dict[str, Any], key: str | tuple[str, str]) -> Any:
        if isinstance(key, str):
            return detail.get(key)
        outer = detail.get(key[0])
        return outer.get(key[1]) if isinstance(outer, dict) else None

    return all(at(a, key) == at(b, key) for key in keys)


_COUNTS = ("repeated", "last_at", "not_kept")


def _attempt(detail: dict[str, Any]) -> dict[str, Any]:
    """A refused event's detail without its counts: two attempts are the same when these are
    equal (same action, code, agency, channel, request, and the same facts, such as the
    agencies awaited)."""
    return {k: v for k, v in detail.items() if k not in _COUNTS}


def _count_again(event: Event, now: datetime, same_request: bool) -> Event:
    """One more attempt counted on `event` rather than stored again."""
    detail = event.detail
    detail["repeated"] = detail.get("repeated", 1) + 1
    detail["last_at"] = now.isoformat()
    if not same_request:
        detail["not_kept"] = detail.get("not_kept", 0) + 1
    return event


def _without_request(detail: dict[str, Any]) -> dict[str, Any]:
    """A refused event past the caps: its request is left out, but for the SOS action the
    audit counts by."""
    request = detail.get("request")
    action = request.get("action") if isinstance(request, dict) else None
    kept = {k: v for k, v in detail.items() if k not in ("request", "errors")}
    return {**kept, "request": {"action": action} if action else {}, "request_kept": False}


def receive(
    *,
    code: str,
    procedure: Procedure,
    applicant: Applicant,
    home_affairs_agency: str,
    received_at: datetime,
    received_by: Actor,
    receiving_desk: str | None = None,
) -> Dossier:
    """A dossier as the one-stop desk receives it: its clock starts (R11). `receiving_desk`:
    the desk that received it for the lead agency, None when the lead agency did itself."""
    dossier = Dossier(
        code=code,
        procedure=procedure,
        applicant=applicant,
        lead_agency=procedure.lead_agency,
        home_affairs_agency=home_affairs_agency,
        received_at=received_at,
        received_by=received_by.user_id,
        receiving_desk=receiving_desk,
    )
    dossier.clock.start(received_at, procedure.processing_days)
    dossier.note_person(received_by)
    # The desk is named only when there is one: a dossier received by its lead agency records
    # the same event as before issue 10.
    desk = {} if receiving_desk is None else {"receiving_desk": receiving_desk}
    dossier.record(
        received_at,
        "received",
        received_by.user_id,
        procedure=procedure.code,
        processing_days=procedure.processing_days,
        **desk,
    )
    return dossier


def state_of_document(
    document: DossierDocument, procedure: Procedure, reading: ClockReading | None
) -> Dossier:
    """The dossier's state as far as its document tells it (the read model's, or an update's
    answer): who leads it, its phase, its consultations, whether a supplement, an apology, a
    withdrawal or a result was recorded, and its clock's `reading` (by the caller's calendar).
    Enough for the rules to say what may be asked of it now (`rules.actions_open_to`); never
    for applying an action, which only the workflow does on its own state."""

    def last(kind: str) -> Event | None:
        return next((e for e in reversed(document.events) if e.kind == kind), None)

    received = next((e for e in document.events if e.kind == "received"), None)
    status = document.status
    phase = Phase.PROCESSING if status is DossierStatus.CONSULTING else Phase(status.value)
    state = Dossier(
        code=document.code,
        procedure=procedure,
        applicant=document.applicant,
        lead_agency=document.lead_agency,
        receiving_desk=document.receiving_desk,
        home_affairs_agency="",
        received_at=document.received_at,
        received_by=received.actor if received else "",
        phase=phase,
        reading=reading,
        late=document.late,
        completed_at=document.completed_at,
        closed_at=document.closed_at,
        people=dict(document.people),
        consultations=[
            Consultation(
                number=c.number,
                agency=c.agency,
                content=c.content,
                deadline=c.deadline,
                requested_at=c.requested_at,
                requested_by="",
                second_reminder_at=c.deadline,
                outcome=(
                    None
                    if c.status in (ConsultationStatus.AWAITING, ConsultationStatus.OVERDUE)
                    else c.status.value
                ),
                replied_at=c.replied_at,
                opinion=c.opinion,
                late_reason=c.late_reason,
                reminders=c.reminders,
            )
            for c in document.consultations
        ],
    )
    if (asked := last("sos_supplement")) is not None:
        delivered = last("supplement")
        state.supplement = SupplementRequest(
            reason=str(asked.detail.get("reason", "")),
            missing_documents=list(asked.detail.get("missing_documents") or []),
            requested_at=asked.at,
            delivered_at=delivered.at if delivered else None,
        )
    if (apology := last("apology")) is not None:
        state.apology = Apology(
            reason=str(apology.detail.get("reason", "")),
            new_due_date=date.fromisoformat(str(apology.detail["new_due_date"])),
            given_at=apology.at,
            given_by=apology.actor,
        )
    if document.withdrawal is not None:
        asked = last("withdrawal")
        confirmed = last("withdrawal_confirmed")
        state.withdrawal = Withdrawal(
            reason=str(asked.detail.get("reason", "")) if asked else "",
            application_ref=str(asked.detail.get("application_ref", "")) if asked else "",
            requested_at=asked.at if asked else document.received_at,
            requested_by=asked.actor if asked else "",
            confirmed_at=confirmed.at if confirmed else None,
            confirmed_by=confirmed.actor if confirmed else None,
        )
    if (result := last("result")) is not None:
        state.result = Result(
            outcome="denied" if result.detail.get("outcome") == "denied" else "approved",
            document_no=str(result.detail.get("document_no", "")),
            summary="",
            recorded_at=result.at,
            recorded_by=result.actor,
        )
    return state
