"""Whether an action on a dossier is accepted: one decision per action, each returning the
`Refusal` or None. The workflow's handlers, the API and the tests all ask these functions, so a
rule lives in one place (STYLE.md).

Checks run in a fixed order: who may act, then whether the dossier's status allows the action,
then the letter's own rules (R4, R5), then the request's content. So a stop pressed while replies
are awaited is refused as R4 whatever else is wrong with it, and recorded as such for the audit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from domain.commands import (
    Action,
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
from domain.dossier import ConsultationPlan, Dossier, DossierStatus, Phase, Procedure
from domain.localtime import local_date
from domain.refusals import Code, Refusal, refuse

# Actions each stored phase allows (API.md): a stopped dossier only resumes, is withdrawn or
# returned; one awaiting a supplement only gets it, is withdrawn or returned. A reply is not
# bound to the status: it answers its consultation, which R4 keeps open only while processing.
_ALLOWED: dict[Phase, frozenset[Action]] = {
    Phase.PROCESSING: frozenset(Action) - {Action.SUPPLEMENT, Action.RESUME, Action.HANDOVER},
    Phase.STOPPED: frozenset(
        {Action.RESUME, Action.WITHDRAWAL, Action.CONFIRM_WITHDRAWAL, Action.SOS}
    ),
    Phase.AWAITING_SUPPLEMENT: frozenset(
        {Action.SUPPLEMENT, Action.WITHDRAWAL, Action.CONFIRM_WITHDRAWAL, Action.SOS}
    ),
    Phase.RESULT_READY: frozenset(
        {Action.HANDOVER, Action.APOLOGY, Action.WITHDRAWAL, Action.CONFIRM_WITHDRAWAL}
    ),
}
# SOS actions allowed besides R4 by phase: in `stopped` and `awaiting_supplement`, only return.
_SOS_ALLOWED: dict[Phase, frozenset[SosAction]] = {
    Phase.PROCESSING: frozenset(SosAction),
    Phase.STOPPED: frozenset({SosAction.RETURN}),
    Phase.AWAITING_SUPPLEMENT: frozenset({SosAction.RETURN}),
}


def awaiting_facts(dossier: Dossier, now: datetime) -> list[dict[str, Any]]:
    """The agencies awaited and their deadlines, as refusals name them (R4, R5)."""
    return [
        {"agency": c.agency, "deadline": c.deadline, "overdue": c.is_overdue(now)}
        for c in dossier.awaiting()
    ]


def decide_receipt(
    procedure: Procedure | None,
    procedure_code: str,
    actor: Actor,
    *,
    lead_active: bool = True,
    at_desk: bool = False,
) -> Refusal | None:
    """A dossier is received by an officer of its procedure's lead agency (R2), while that
    agency exists: `lead_active` False for a district committee abolished on 1 July 2025
    (Resolution 202/2025/QH15), whose procedures take no new dossier.

    `at_desk`: the actor's agency is a one-stop desk (`domain.catalogue.is_one_stop_desk`).
    Decree 118/2025/NĐ-CP lets the provincial and commune centres receive dossiers regardless of
    administrative boundary within the province (art. 14 cl. 2 by the news summaries, not read:
    docs/legal-frame.md): such a desk's officer receives any procedure's dossier on behalf of its
    lead agency, which alone acts on it afterwards."""
    if procedure is None:
        return refuse(Code.UNKNOWN_PROCEDURE, procedure_code=procedure_code)
    if actor.agency != procedure.lead_agency and not at_desk:
        return refuse(Code.NOT_LEAD_AGENCY, lead_agency=procedure.lead_agency)
    if not (actor.has(Role.OFFICER) or actor.has(Role.HEAD)):
        return refuse(Code.FORBIDDEN)
    if not lead_active:
        return refuse(Code.AGENCY_INACTIVE, agencies=[procedure.lead_agency])
    return None


class Parties(NamedTuple):
    """The agencies with a part in a dossier: the one that leads it and every one it consulted
    (answered, awaited or cancelled alike); and the one-stop desk that received it for the lead
    agency, if another (Decree 118/2025), which reads it but acts on nothing."""

    lead_agency: str
    consulted: frozenset[str]
    receiving_desk: str | None = None


def is_party(actor: Actor, parties: Parties) -> bool:
    """Whether the caller's agency has a part in the dossier. Only a party's attempts reach the
    dossier (and its audit trail, R9, R12); anyone else is refused `forbidden` before, whatever
    the dossier's state, and learns nothing about it."""
    return actor.agency == parties.lead_agency or actor.agency in parties.consulted


def may_see(actor: Actor, parties: Parties) -> bool:
    """Who may read a dossier (API.md): its parties, the desk that received it for its lead
    agency, the Department of Home Affairs' evaluators and the Office of the PPC's inspectors."""
    return (
        sees_every_agency(actor)
        or is_party(actor, parties)
        or (parties.receiving_desk is not None and actor.agency == parties.receiving_desk)
    )


def sees_every_agency(actor: Actor) -> bool:
    """Evaluators and inspectors see all dossiers and notices; others only their agency's."""
    return actor.has(Role.HOME_AFFAIRS) or actor.has(Role.INSPECTOR)


def sees_every_notice(actor: Actor) -> bool:
    """Who reads every notice and how it was delivered: those who see every agency, and admins,
    who keep the agencies' channels (e-mail, webhook) and so must see where a notice failed to
    go (issue 11)."""
    return sees_every_agency(actor) or actor.has(Role.ADMIN)


def decide_after_close(status: str, action: Action, cancelled_for: str | None) -> Refusal:
    """An action on a dossier whose workflow has ended: refused as closed, but a consulted
    agency answering a consultation the withdrawal cancelled is told so (`cancelled_for` is that
    agency, when its latest consultation was cancelled)."""
    if action is Action.REPLY and cancelled_for:
        return refuse(Code.CONSULTATION_CANCELLED, agency=cancelled_for)
    return refuse(Code.DOSSIER_CLOSED, status=status)


def admission(dossier: Dossier, command: Command) -> Refusal | None:
    """What the update validators refuse before anything is recorded: a message that names no
    actor (nobody to hold accountable), or one to a dossier already closed."""
    if not command.actor.user_id.strip() or not command.actor.agency.strip():
        return refuse(Code.UNIDENTIFIED_ACTOR)
    return _closed(dossier)


def expired(command: Command, now: datetime) -> Refusal | None:
    """A command past its `not_after` is refused unrecorded (by the update validators): its
    sender has already been told that nothing was changed, so it must not take effect later."""
    if command.not_after is not None and now > command.not_after:
        return refuse(Code.REQUEST_EXPIRED, not_after=command.not_after)
    return None


def _lead_officer(dossier: Dossier, actor: Actor) -> Refusal | None:
    """R2: only the lead agency's staff act on the dossier: its officers, and its head, who
    answers for and signs what the agency decides (README, "What this API adds")."""
    if actor.agency != dossier.lead_agency:
        return refuse(Code.NOT_LEAD_AGENCY, lead_agency=dossier.lead_agency)
    if not (actor.has(Role.OFFICER) or actor.has(Role.HEAD)):
        return refuse(Code.FORBIDDEN)
    return None


def _closed(dossier: Dossier) -> Refusal | None:
    if dossier.is_final:
        return refuse(Code.DOSSIER_CLOSED, status=dossier.status.value)
    return None


def _status(dossier: Dossier, action: Action) -> Refusal | None:
    if closed := _closed(dossier):
        return closed
    if action not in _ALLOWED[dossier.phase]:
        return refuse(Code.NOT_ALLOWED_IN_STATUS, status=dossier.status.value)
    return None


class ConsultationCalendar(Protocol):
    def due_at(self, received_at: datetime, working_days: int) -> datetime: ...


def consultation_maximum(
    calendar: ConsultationCalendar, requested_at: datetime, max_consultation_days: int
) -> datetime:
    """R2: the latest reply deadline of a consultation requested at `requested_at`: the
    procedure's maximum in working days, at closing (as a due date is counted, R11)."""
    return calendar.due_at(requested_at, max_consultation_days)


def decide_consultation(
    dossier: Dossier, cmd: ConsultationRequest, now: datetime, plan: ConsultationPlan
) -> Refusal | None:
    """R1, R2: content and a deadline, not past, not beyond the procedure's maximum."""
    refusal = _lead_officer(dossier, cmd.actor) or _status(dossier, Action.CONSULT)
    if refusal:
        return refusal
    agencies = cmd.agencies
    if not agencies or not all(agencies):
        return refuse(Code.AGENCIES_REQUIRED)
    unknown = [a for a in agencies if a in plan.unknown_agencies or a == dossier.lead_agency]
    if unknown:
        return refuse(Code.UNKNOWN_AGENCY, agencies=unknown)
    # An agency that no longer exists answers nothing (the districts, from 1 July 2025). The
    # plan, an activity's result, says which: a history recorded before it knew of them has
    # none, so its replay decides as it did.
    inactive = [a for a in agencies if a in plan.inactive_agencies]
    if inactive:
        return refuse(Code.AGENCY_INACTIVE, agencies=inactive)
    busy = [a for a in agencies if dossier.open_consultation(a)]
    if busy:
        return refuse(Code.ALREADY_CONSULTING, agencies=busy)
    if not cmd.content.strip():
        return refuse(Code.CONTENT_REQUIRED)
    if cmd.deadline is None:
        return refuse(Code.DEADLINE_REQUIRED)
    if cmd.deadline <= now:
        return refuse(Code.DEADLINE_IN_PAST, deadline=cmd.deadline, now=now)
    if cmd.deadline > plan.maximum:
        return refuse(
            Code.DEADLINE_BEYOND_MAXIMUM,
            maximum=plan.maximum,
            max_days=dossier.procedure.max_consultation_days,
        )
    return None


def decide_reply(dossier: Dossier, cmd: Reply, now: datetime) -> Refusal | None:
    """R2: only the consulted agency answers, once; R7: a late answer states its cause."""
    if cmd.actor.agency != cmd.agency:
        return refuse(Code.NOT_YOUR_CONSULTATION, agency=cmd.agency)
    if not (cmd.actor.has(Role.OFFICER) or cmd.actor.has(Role.HEAD)):
        return refuse(Code.FORBIDDEN)
    latest = dossier.latest_consultation(cmd.agency)
    if latest is None:
        return refuse(Code.CONSULTATION_NOT_FOUND, agency=cmd.agency)
    if latest.outcome == "cancelled":
        return refuse(Code.CONSULTATION_CANCELLED, agency=cmd.agency)
    if not latest.is_open:
        return refuse(Code.ALREADY_ANSWERED, agency=cmd.agency)
    if not cmd.opinion.strip():
        return refuse(Code.OPINION_REQUIRED)
    if now > latest.deadline and not (cmd.late_reason or "").strip():
        return refuse(Code.LATE_REASON_REQUIRED, deadline=latest.deadline)
    return None


def decide_sos(dossier: Dossier, cmd: SosRequest, now: datetime) -> Refusal | None:
    """R4: no SOS action (stop, supplement, return) while any opinion is awaited, on time or
    overdue; R10: a supplement once, naming documents of the procedure's own list."""
    refusal = _lead_officer(dossier, cmd.actor) or _status(dossier, Action.SOS)
    if refusal:
        return refusal
    if cmd.action is SosAction.SUPPLEMENT and dossier.supplement is not None:
        return refuse(Code.SUPPLEMENT_ALREADY_REQUESTED)  # R10, more specific than the status
    if cmd.action not in _SOS_ALLOWED[dossier.phase]:
        return refuse(Code.NOT_ALLOWED_IN_STATUS, status=dossier.status.value)
    awaiting = awaiting_facts(dossier, now)
    if awaiting:
        return refuse(Code.SOS_REJECTED_AWAITING_REPLIES, awaiting=awaiting)
    if not cmd.reason.strip():
        return refuse(Code.REASON_REQUIRED)
    if cmd.action is SosAction.SUPPLEMENT:
        if not cmd.missing_documents:
            return refuse(Code.MISSING_DOCUMENTS_REQUIRED)
        listed = set(dossier.procedure.required_documents)
        outside = [d for d in cmd.missing_documents if d not in listed]
        if outside:
            return refuse(
                Code.DOCUMENT_NOT_IN_PROCEDURE,
                documents=outside,
                required_documents=dossier.procedure.required_documents,
            )
    return None


def decide_supplement(dossier: Dossier, cmd: SupplementDelivery, now: datetime) -> Refusal | None:
    refusal = _lead_officer(dossier, cmd.actor) or _closed(dossier)
    if refusal:
        return refusal
    if dossier.phase is not Phase.AWAITING_SUPPLEMENT:
        return refuse(Code.NOT_AWAITING_SUPPLEMENT, status=dossier.status.value)
    if not [d for d in cmd.documents if d.strip()]:
        return refuse(Code.DOCUMENTS_REQUIRED)
    return None


def decide_resume(dossier: Dossier, cmd: ResumeRequest, now: datetime) -> Refusal | None:
    refusal = _lead_officer(dossier, cmd.actor) or _closed(dossier)
    if refusal:
        return refusal
    if dossier.phase is not Phase.STOPPED:
        return refuse(Code.NOT_STOPPED, status=dossier.status.value)
    if not cmd.reason.strip():
        return refuse(Code.REASON_REQUIRED)
    return None


def decide_apology(
    dossier: Dossier,
    cmd: ApologyRequest,
    now: datetime,
    new_date_is_working_day: bool | None = None,
) -> Refusal | None:
    """R13: once per dossier, at least one working day before the due date, to a later date
    that is a working day (the applicant comes back that day: the office must be open). Under
    Decree 118/2025 a provincial act restates the same rule (apology at the latest one day
    before, new date set no more than once; its article of the decree not read:
    docs/legal-frame.md); the apology is Circular 03/2025's form 04.
    `new_date_is_working_day` is the calendar's answer for `cmd.new_due_date` (None where the
    caller did not ask: runs from before the check, or no new date to ask about)."""
    refusal = _lead_officer(dossier, cmd.actor) or _status(dossier, Action.APOLOGY)
    if refusal:
        return refusal
    if dossier.apology is not None:
        return refuse(Code.APOLOGY_ALREADY_GIVEN)
    reading = dossier.reading
    if reading is None or reading.due_at is None or reading.apology_deadline is None:
        return refuse(Code.NOT_ALLOWED_IN_STATUS, status=dossier.status.value)
    if now > reading.apology_deadline:
        return refuse(Code.TOO_LATE_FOR_APOLOGY, due_at=reading.due_at)
    if not cmd.reason.strip():
        return refuse(Code.REASON_REQUIRED)
    if cmd.new_due_date is None:
        return refuse(Code.NEW_DUE_DATE_REQUIRED)
    if cmd.new_due_date <= local_date(reading.due_at):
        return refuse(Code.NEW_DUE_DATE_NOT_LATER, due_at=reading.due_at)
    if new_date_is_working_day is False:
        return refuse(Code.NEW_DUE_DATE_NOT_WORKING_DAY, new_due_date=cmd.new_due_date)
    return None


def decide_withdrawal(dossier: Dossier, cmd: WithdrawalRequest, now: datetime) -> Refusal | None:
    refusal = _lead_officer(dossier, cmd.actor) or _status(dossier, Action.WITHDRAWAL)
    if refusal:
        return refusal
    if dossier.withdrawal is not None:
        return refuse(Code.WITHDRAWAL_PENDING)
    if not cmd.reason.strip():
        return refuse(Code.REASON_REQUIRED)
    if not cmd.application_ref.strip():
        return refuse(Code.APPLICATION_REF_REQUIRED)
    return None


def decide_withdrawal_confirmation(
    dossier: Dossier, cmd: WithdrawalConfirmation, now: datetime
) -> Refusal | None:
    """R6: only the head of the lead agency confirms, with a signature."""
    if cmd.actor.agency != dossier.lead_agency or not cmd.actor.has(Role.HEAD):
        return refuse(Code.HEAD_OF_LEAD_AGENCY_REQUIRED, lead_agency=dossier.lead_agency)
    refusal = _status(dossier, Action.CONFIRM_WITHDRAWAL)
    if refusal:
        return refusal
    if dossier.withdrawal is None or dossier.withdrawal.confirmed_at is not None:
        return refuse(Code.NO_PENDING_WITHDRAWAL)
    if not cmd.signature_ref.strip():
        return refuse(Code.SIGNATURE_REF_REQUIRED)
    return None


def decide_result(dossier: Dossier, cmd: ResultRecord, now: datetime) -> Refusal | None:
    """R5: no result while opinions are awaited."""
    refusal = _lead_officer(dossier, cmd.actor) or _status(dossier, Action.RESULT)
    if refusal:
        return refusal
    awaiting = awaiting_facts(dossier, now)
    if awaiting:
        return refuse(Code.CONSULTATIONS_AWAITING, awaiting=awaiting)
    if not cmd.document_no.strip():
        return refuse(Code.DOCUMENT_NO_REQUIRED)
    return None


def decide_handover(dossier: Dossier, cmd: Handover, now: datetime) -> Refusal | None:
    """R5: completed only by handing over a recorded result."""
    refusal = _lead_officer(dossier, cmd.actor) or _closed(dossier)
    if refusal:
        return refusal
    if dossier.status is not DossierStatus.RESULT_READY:
        return refuse(Code.NO_RESULT, status=dossier.status.value)
    return None


# --- what may be asked of a dossier now (the pages offer these) ------------------------------

# The letter's own refusals that an action is offered with all the same: they depend on other
# agencies, and pressing it anyway is what the audit must see (R4, R5, R9); the page shows them
# beside the button before the click.
_OFFERED_WITH_WARNING = frozenset({Code.SOS_REJECTED_AWAITING_REPLIES, Code.CONSULTATIONS_AWAITING})


class Offer(NamedTuple):
    """An action the caller may take on the dossier now (`sos`: which SOS action), and the
    letter's refusal it would meet as things stand (R4, R5), if any."""

    action: Action
    sos: SosAction | None = None
    warning: Refusal | None = None


def actions_open_to(actor: Actor, dossier: Dossier, now: datetime) -> list[Offer]:
    """The actions `actor` may take on `dossier` at `now`, asked of the decisions themselves:
    each is decided for an empty request, whose refusal is then who may act or what the
    dossier's state allows (not offered), the letter's R4 or R5 (offered, with its warning), or
    the request's missing content (422: offered; the form asks for it). So the pages offer
    exactly what the rules would let through, with no second copy of a rule."""
    blank = {"actor": actor}
    probes: list[tuple[Action, SosAction | None, Refusal | None]] = [
        (
            Action.CONSULT,
            None,
            decide_consultation(
                dossier,
                ConsultationRequest(**blank),
                now,
                ConsultationPlan(maximum=now, second_reminder_at=None),
            ),
        ),
        (Action.REPLY, None, decide_reply(dossier, Reply(agency=actor.agency, **blank), now)),
        *(
            (Action.SOS, sos, decide_sos(dossier, SosRequest(action=sos, **blank), now))
            for sos in (SosAction.STOP, SosAction.SUPPLEMENT, SosAction.RETURN)
        ),
        (Action.SUPPLEMENT, None, decide_supplement(dossier, SupplementDelivery(**blank), now)),
        (Action.RESUME, None, decide_resume(dossier, ResumeRequest(**blank), now)),
        (Action.APOLOGY, None, decide_apology(dossier, ApologyRequest(**blank), now)),
        (Action.WITHDRAWAL, None, decide_withdrawal(dossier, WithdrawalRequest(**blank), now)),
        (
            Action.CONFIRM_WITHDRAWAL,
            None,
            decide_withdrawal_confirmation(dossier, WithdrawalConfirmation(**blank), now),
        ),
        (
            Action.RESULT,
            None,
            decide_result(dossier, ResultRecord(outcome="approved", **blank), now),
        ),
        (Action.HANDOVER, None, decide_handover(dossier, Handover(**blank), now)),
    ]
    offers = []
    for action, sos, refusal in probes:
        if refusal is None or refusal.http_status == 422:
            offers.append(Offer(action, sos))
        elif refusal.code in _OFFERED_WITH_WARNING:
            offers.append(Offer(action, sos, refusal))
    return offers


# --- who reads which work list (issue 9: the inboxes of officers, consulted agencies, heads) ----


class ListScope(NamedTuple):
    """Whose entries a work list holds: one agency's, or every agency's (`agency` None)."""

    agency: str | None


def _work_list_scope(
    actor: Actor, asked_agency: str | None, staff: frozenset[Role]
) -> ListScope | Refusal:
    """Evaluators and inspectors read any agency's list (`asked_agency`, or all of them), as they
    read every dossier; the agency's own `staff` read their agency's; nobody else reads one."""
    if sees_every_agency(actor):
        return ListScope(asked_agency)
    if not any(actor.has(role) for role in staff):
        return refuse(Code.FORBIDDEN)
    if asked_agency is not None and asked_agency != actor.agency:
        return refuse(Code.FORBIDDEN)
    return ListScope(actor.agency)


_AGENCY_STAFF = frozenset({Role.OFFICER, Role.HEAD})


def inbox_scope(actor: Actor, lead_agency: str | None) -> ListScope | Refusal:
    """The open dossiers an agency leads: its officers and head (R2: they act on them)."""
    return _work_list_scope(actor, lead_agency, _AGENCY_STAFF)


def consultations_scope(actor: Actor, agency: str | None) -> ListScope | Refusal:
    """The consultations addressed to an agency: its officers and head (R2: they answer)."""
    return _work_list_scope(actor, agency, _AGENCY_STAFF)


def withdrawals_scope(actor: Actor, lead_agency: str | None) -> ListScope | Refusal:
    """The withdrawals an agency's head must confirm (R6): its head."""
    return _work_list_scope(actor, lead_agency, frozenset({Role.HEAD}))
