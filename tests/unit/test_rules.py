"""domain.rules, table-tested: every refusal code of API.md that the domain gives, each with the
state and the command that cause it, its HTTP status and its facts; and the accepted cases.

Each table row is one `Case`: a dossier built by `tests.unit.builders` (through the domain's own
methods), a command, the time it arrives, and the expected refusal code (None: accepted). An
accepted command is then applied, so that "accepted" also means "the dossier can take it".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

from domain import rules
from domain.commands import ApologyRequest, Command, Role, SosAction
from domain.dossier import Dossier, DossierStatus
from domain.refusals import Code, Refusal, http_status_of, refuse
from tests.unit.builders import (
    ABOLISHED,
    APOLOGY_DEADLINE,
    CALENDAR,
    DEADLINE,
    DEADLINE_2,
    DISTRICT,
    DOCUMENTS,
    DUE,
    ENV,
    FIRE,
    HOME_AFFAIRS,
    IN_STATUS,
    LATER,
    LEAD,
    MAXIMUM,
    MAXIMUM_FROM_LATER,
    OVERDUE,
    PPC_OFFICE,
    PROCEDURE,
    SOON,
    UNKNOWN,
    actor,
    apologise,
    apology_command,
    apply,
    awaiting_supplement,
    completed,
    confirm_withdrawal,
    confirmation_command,
    consult,
    consultation_plan,
    consultation_request,
    consulting,
    decide,
    dossier,
    handover_command,
    head,
    officer,
    processing,
    read,
    receive_supplement,
    record_result,
    reply,
    reply_command,
    request_withdrawal,
    result_command,
    result_ready,
    resume,
    resume_command,
    returned,
    sos,
    sos_command,
    stopped,
    supplement_command,
    vn,
    withdrawal_command,
    withdrawn,
)

# The HTTP status of each code, as API.md's dossier table gives it.
API_STATUS: dict[Code, int] = {
    Code.NOT_LEAD_AGENCY: 403,
    Code.FORBIDDEN: 403,
    Code.NOT_YOUR_CONSULTATION: 403,
    Code.HEAD_OF_LEAD_AGENCY_REQUIRED: 403,
    Code.CONSULTATION_NOT_FOUND: 404,
    Code.DOSSIER_CLOSED: 409,
    Code.NOT_ALLOWED_IN_STATUS: 409,
    Code.ALREADY_CONSULTING: 409,
    Code.ALREADY_ANSWERED: 409,
    Code.CONSULTATION_CANCELLED: 409,
    Code.SOS_REJECTED_AWAITING_REPLIES: 409,
    Code.SUPPLEMENT_ALREADY_REQUESTED: 409,
    Code.NOT_AWAITING_SUPPLEMENT: 409,
    Code.NOT_STOPPED: 409,
    Code.APOLOGY_ALREADY_GIVEN: 409,
    Code.TOO_LATE_FOR_APOLOGY: 409,
    Code.WITHDRAWAL_PENDING: 409,
    Code.NO_PENDING_WITHDRAWAL: 409,
    Code.CONSULTATIONS_AWAITING: 409,
    Code.NO_RESULT: 409,
    Code.UNKNOWN_PROCEDURE: 422,
    Code.CONTENT_REQUIRED: 422,
    Code.DEADLINE_REQUIRED: 422,
    Code.DEADLINE_IN_PAST: 422,
    Code.DEADLINE_BEYOND_MAXIMUM: 422,
    Code.UNKNOWN_AGENCY: 422,
    Code.OPINION_REQUIRED: 422,
    Code.LATE_REASON_REQUIRED: 422,
    Code.REASON_REQUIRED: 422,
    Code.MISSING_DOCUMENTS_REQUIRED: 422,
    Code.DOCUMENT_NOT_IN_PROCEDURE: 422,
    Code.DOCUMENTS_REQUIRED: 422,
    Code.NEW_DUE_DATE_NOT_LATER: 422,
    Code.NEW_DUE_DATE_NOT_WORKING_DAY: 422,
}
# Codes the domain adds to API.md's table ("add to it freely"): a missing field is bad input.
ADDED_STATUS: dict[Code, int] = {
    Code.UNIDENTIFIED_ACTOR: 401,  # like API.md's `unauthenticated`: nobody to hold accountable
    Code.AGENCIES_REQUIRED: 422,
    Code.NEW_DUE_DATE_REQUIRED: 422,
    Code.APPLICATION_REF_REQUIRED: 422,
    Code.SIGNATURE_REF_REQUIRED: 422,
    Code.DOCUMENT_NO_REQUIRED: 422,
    # an agency that no longer exists (issue 10: the districts, from 1 July 2025)
    Code.AGENCY_INACTIVE: 422,
    # a command past its `not_after`: the API had already answered "nothing changed" (issue 8)
    Code.REQUEST_EXPIRED: 503,
}
STATUS_OF = API_STATUS | ADDED_STATUS

Judge = Callable[[Dossier, Command, datetime], Refusal | None]


@dataclass(frozen=True)
class Case:
    state: Callable[[], Dossier]
    command: Callable[[], Command]
    code: Code | None  # None: accepted
    facts: dict[str, Any] | None = None  # the refusal's exact facts, when given
    now: datetime = LATER
    judge: Judge = decide


def case(
    id: str,
    state: Callable[[], Dossier],
    command: Callable[[], Command],
    code: Code | None = None,
    facts: dict[str, Any] | None = None,
    *,
    now: datetime = LATER,
    judge: Judge = decide,
    marks: Any = (),
) -> ParameterSet:
    return pytest.param(Case(state, command, code, facts, now, judge), id=id, marks=marks)


def check(c: Case) -> Refusal | None:
    """The decision matches the case; an accepted command is then applied."""
    d = c.state()
    cmd = c.command()
    refusal = c.judge(d, cmd, c.now)
    if c.code is None:
        assert refusal is None, f"refused: {refusal.code} {refusal.facts}"
        if c.judge is decide:
            apply(d, cmd, c.now)
        return None
    assert refusal is not None, f"accepted; expected {c.code}"
    assert refusal.code is c.code, refusal.facts
    assert refusal.http_status == STATUS_OF[c.code]
    if c.facts is not None:
        assert refusal.facts == c.facts
    return refusal


def status_fact(status: DossierStatus) -> dict[str, Any]:
    return {"status": status.value}


def awaited(*rows: tuple[str, datetime, bool]) -> dict[str, Any]:
    """R4, R5: the `awaiting` fact, one row (agency, deadline, overdue) per awaited agency."""
    return {"awaiting": [{"agency": a, "deadline": dl, "overdue": o} for a, dl, o in rows]}


def fire_and_env() -> Dossier:
    """Consulting FIRE (deadline Thursday 6/3) and ENV (deadline Monday 10/3)."""
    d = dossier()
    consult(d, [FIRE])
    consult(d, [ENV], deadline=DEADLINE_2)
    return d


def answered(*agencies: str) -> Callable[[], Dossier]:
    """Consulted `agencies`, each answered on time."""

    def build() -> Dossier:
        d = consulting(*agencies)
        for agency in agencies:
            reply(d, agency)
        return d

    return build


def then(build: Callable[[], Dossier], step: Callable[[Dossier], object]) -> Callable[[], Dossier]:
    def built() -> Dossier:
        d = build()
        step(d)
        return d

    return built


def admit(d: Dossier, cmd: Command, now: datetime) -> Refusal | None:
    return rules.admission(d, cmd)


CLOSED = {"completed": completed, "returned": returned, "withdrawn": withdrawn}
NOT_LEAD = officer(FIRE)
WRONG_ROLE = actor(LEAD, Role.INSPECTOR)  # of the lead agency, but not its staff


# --- receipt: an officer of the procedure's lead agency receives the dossier (R2) ----------------
def receipt(procedure_known: bool, lead_active: bool = True, at_desk: bool = False) -> Judge:
    """`decide_receipt` in the table's shape: the command's actor receives a dossier under
    PROCEDURE (or under a code the catalogue does not have), its lead agency active or not, the
    actor's agency a one-stop desk or not (Decree 118/2025: receipt at any desk)."""

    def judge(_dossier: Dossier, cmd: Command, _now: datetime) -> Refusal | None:
        known = PROCEDURE if procedure_known else None
        return rules.decide_receipt(
            known, "KHONG-CO", cmd.actor, lead_active=lead_active, at_desk=at_desk
        )

    return judge


RECEIPT = [
    case(
        "unknown-procedure",
        processing,
        lambda: result_command(by=officer()),
        Code.UNKNOWN_PROCEDURE,
        {"procedure_code": "KHONG-CO"},
        judge=receipt(False),
    ),
    case(
        "other-agency-officer",
        processing,
        lambda: result_command(by=officer(FIRE)),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
        judge=receipt(True),
    ),
    case(
        "lead-inspector-role-only",
        processing,
        lambda: result_command(by=actor(LEAD, Role.INSPECTOR)),
        Code.FORBIDDEN,
        {},
        judge=receipt(True),
    ),
    case("lead-officer", processing, lambda: result_command(by=officer()), judge=receipt(True)),
    case(
        "lead-agency-abolished",
        processing,
        lambda: result_command(by=officer()),
        Code.AGENCY_INACTIVE,
        {"agencies": [LEAD]},
        judge=receipt(True, lead_active=False),
    ),
    case(
        "abolished-lead-but-other-agency",  # who may act comes first
        processing,
        lambda: result_command(by=officer(FIRE)),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
        judge=receipt(True, lead_active=False),
    ),
    case("lead-head", processing, lambda: result_command(by=head()), judge=receipt(True)),
    # Decree 118/2025: a one-stop desk receives any procedure's dossier for its lead agency.
    case(
        "desk-officer-for-lead",
        processing,
        lambda: result_command(by=officer(DESK)),
        judge=receipt(True, at_desk=True),
    ),
    case(
        "desk-head-for-lead",
        processing,
        lambda: result_command(by=head(DESK)),
        judge=receipt(True, at_desk=True),
    ),
    case(
        "desk-inspector-role-only",
        processing,
        lambda: result_command(by=actor(DESK, Role.INSPECTOR)),
        Code.FORBIDDEN,
        {},
        judge=receipt(True, at_desk=True),
    ),
    case(
        "desk-but-lead-abolished",
        processing,
        lambda: result_command(by=officer(DESK)),
        Code.AGENCY_INACTIVE,
        {"agencies": [LEAD]},
        judge=receipt(True, lead_active=False, at_desk=True),
    ),
    case(
        "desk-unknown-procedure",
        processing,
        lambda: result_command(by=officer(DESK)),
        Code.UNKNOWN_PROCEDURE,
        {"procedure_code": "KHONG-CO"},
        judge=receipt(False, at_desk=True),
    ),
]
DESK = "TTHCC"  # Trung tâm Hành chính công tỉnh: the province's one-stop desk


# --- admission: before anything is recorded -------------------------------------------------------
ADMISSION = [
    case(
        "unidentified-no-user",
        processing,
        lambda: result_command(by=actor(LEAD, Role.OFFICER, user=" ")),
        Code.UNIDENTIFIED_ACTOR,
        {},
        judge=admit,
    ),
    case(
        "unidentified-no-agency",
        processing,
        lambda: result_command(by=actor(" ", Role.OFFICER, user="can-bo")),
        Code.UNIDENTIFIED_ACTOR,
        {},
        judge=admit,
    ),
    *[
        case(
            f"closed-{name}",
            build,
            lambda: sos_command(SosAction.STOP),
            Code.DOSSIER_CLOSED,
            status_fact(DossierStatus(name)),
            judge=admit,
        )
        for name, build in CLOSED.items()
    ],
    case(
        "r6-reply-after-withdrawal",
        withdrawn,
        lambda: reply_command(FIRE),
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.WITHDRAWN),
        judge=admit,
    ),
    # admission only asks "who is it" and "is it closed": the rules answer the rest
    case(
        "open-from-another-agency",
        consulting,
        lambda: sos_command(SosAction.STOP, by=NOT_LEAD),
        judge=admit,
    ),
    case("open-stopped", stopped, resume_command, judge=admit),
]


@pytest.mark.parametrize("c", ADMISSION)
def test_r12_admission(c: Case) -> None:
    check(c)


# --- expiry: a command the API stopped waiting for (issue 8, "nothing was changed") -------------
def not_after(at: datetime | None) -> Callable[[], Command]:
    return lambda: sos_command(SosAction.STOP).model_copy(update={"not_after": at})


def expiry(d: Dossier, cmd: Command, now: datetime) -> Refusal | None:
    return rules.expired(cmd, now)


EXPIRY = [
    case(
        "past-not-after",
        processing,
        not_after(LATER - timedelta(seconds=1)),
        Code.REQUEST_EXPIRED,
        {"not_after": LATER - timedelta(seconds=1)},
        judge=expiry,
    ),
    case("at-not-after", processing, not_after(LATER), judge=expiry),
    case("before-not-after", processing, not_after(LATER + timedelta(seconds=10)), judge=expiry),
    case("no-not-after-signal-or-cli", processing, not_after(None), judge=expiry),
]


@pytest.mark.parametrize("c", EXPIRY)
def test_an_expired_command_is_refused_before_anything_is_recorded(c: Case) -> None:
    check(c)


# --- parties: who reaches a dossier at all (issue 8, "authorization before the workflow") -------
PARTIES = rules.Parties(LEAD, frozenset({FIRE}))


@pytest.mark.parametrize(
    ("who", "party", "sees"),
    [
        (officer(), True, True),
        (head(), True, True),
        (actor(LEAD, Role.INSPECTOR), True, True),  # of the lead agency: a party, whatever role
        (officer(FIRE), True, True),  # consulted
        (officer(ENV), False, False),  # never consulted
        (actor(HOME_AFFAIRS, Role.HOME_AFFAIRS), False, True),  # reads, never acts
        (actor(PPC_OFFICE, Role.INSPECTOR), False, True),
        (actor("TTHCC", Role.ADMIN), False, False),
    ],
    ids=["lead-officer", "lead-head", "lead-inspector", "consulted", "stranger",
         "home-affairs", "inspector", "admin"],
)  # fmt: skip
def test_only_parties_act_and_oversight_only_reads(who: Any, party: bool, sees: bool) -> None:
    assert rules.is_party(who, PARTIES) is party
    assert rules.may_see(who, PARTIES) is sees


# --- R1, R2: asking for opinions --------------------------------------------------------------
CONSULTATION = [
    case(
        "r2-not-lead-agency",
        processing,
        lambda: consultation_request(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "r2-lead-agency-but-not-staff",
        processing,
        lambda: consultation_request(by=WRONG_ROLE),
        Code.FORBIDDEN,
        {},
    ),
    case(
        "closed",
        completed,
        consultation_request,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.COMPLETED),
    ),
    case(
        "not-while-stopped",
        stopped,
        consultation_request,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.STOPPED),
    ),
    case("no-agency", processing, lambda: consultation_request([]), Code.AGENCIES_REQUIRED, {}),
    case(
        "blank-agency",
        processing,
        lambda: consultation_request([FIRE, " "]),
        Code.AGENCIES_REQUIRED,
        {},
    ),
    case(
        "r2-unknown-agency",
        processing,
        lambda: consultation_request([FIRE, UNKNOWN]),
        Code.UNKNOWN_AGENCY,
        {"agencies": [UNKNOWN]},
    ),
    case(
        "r2-lead-agency-itself",
        processing,
        lambda: consultation_request([LEAD]),
        Code.UNKNOWN_AGENCY,
        {"agencies": [LEAD]},
    ),
    case(
        "agency-abolished",
        processing,
        lambda: consultation_request([FIRE, ABOLISHED, UNKNOWN]),
        Code.UNKNOWN_AGENCY,  # an unknown code is named first
        {"agencies": [UNKNOWN]},
    ),
    case(
        "agency-abolished-alone",
        processing,
        lambda: consultation_request([FIRE, ABOLISHED]),
        Code.AGENCY_INACTIVE,
        {"agencies": [ABOLISHED]},
    ),
    case(
        "r2-already-consulting",
        consulting,
        lambda: consultation_request([ENV, FIRE]),
        Code.ALREADY_CONSULTING,
        {"agencies": [FIRE]},
    ),
    case(
        "r2-already-consulting-overdue",
        consulting,
        lambda: consultation_request([FIRE], deadline=MAXIMUM_FROM_LATER + timedelta(days=1)),
        Code.ALREADY_CONSULTING,
        {"agencies": [FIRE]},
        now=OVERDUE,
    ),
    case(
        "r1-no-content",
        processing,
        lambda: consultation_request(content=""),
        Code.CONTENT_REQUIRED,
        {},
    ),
    case(
        "r1-blank-content",
        processing,
        lambda: consultation_request(content=" \n "),
        Code.CONTENT_REQUIRED,
        {},
    ),
    case(
        "r1-no-deadline",
        processing,
        lambda: consultation_request(deadline=None),
        Code.DEADLINE_REQUIRED,
        {},
    ),
    case(
        "r1-deadline-in-past",
        processing,
        lambda: consultation_request(deadline=LATER - timedelta(hours=1)),
        Code.DEADLINE_IN_PAST,
        {"deadline": LATER - timedelta(hours=1), "now": LATER},
    ),
    case(
        "r1-deadline-equal-to-now",
        processing,
        lambda: consultation_request(deadline=LATER),
        Code.DEADLINE_IN_PAST,
        {"deadline": LATER, "now": LATER},
    ),
    case(
        "r2-one-second-beyond-maximum",
        processing,
        lambda: consultation_request(deadline=MAXIMUM + timedelta(seconds=1)),
        Code.DEADLINE_BEYOND_MAXIMUM,
        {"maximum": MAXIMUM, "max_days": 5},
        now=SOON,
    ),
    case(
        "r2-beyond-maximum-counted-from-now",
        processing,
        lambda: consultation_request(deadline=MAXIMUM_FROM_LATER + timedelta(minutes=1)),
        Code.DEADLINE_BEYOND_MAXIMUM,
        {"maximum": MAXIMUM_FROM_LATER, "max_days": 5},
    ),
    # accepted
    case("r1-content-and-deadline", processing, consultation_request),
    case(
        "r1-deadline-one-second-after-now",
        processing,
        lambda: consultation_request(deadline=LATER + timedelta(seconds=1)),
    ),
    case(
        "r2-exactly-at-maximum",
        processing,
        lambda: consultation_request(deadline=MAXIMUM),
        now=SOON,
    ),
    case(
        "r2-several-agencies",
        processing,
        lambda: consultation_request([FIRE, ENV, DISTRICT, HOME_AFFAIRS]),
    ),
    case("r2-head-of-lead-agency", processing, lambda: consultation_request(by=head())),
    case("r2-another-agency-while-consulting", consulting, lambda: consultation_request([ENV])),
    case(
        "r2-same-agency-again-once-answered",
        answered(FIRE),
        lambda: consultation_request([FIRE], deadline=MAXIMUM_FROM_LATER),
        now=LATER,
    ),
]


@pytest.mark.parametrize("c", CONSULTATION)
def test_r1_r2_consultation_request(c: Case) -> None:
    check(c)


def test_r2_unknown_agency_padded_with_spaces_refused() -> None:
    d = processing()
    cmd = consultation_request([f" {UNKNOWN} "])
    refusal = rules.decide_consultation(d, cmd, LATER, consultation_plan(d, cmd, LATER))
    assert refusal is not None and refusal.code is Code.UNKNOWN_AGENCY


def test_r2_consulted_agency_code_is_stored_as_checked() -> None:
    d = processing()
    cmd = consultation_request([f" {FIRE} "])
    assert rules.decide_consultation(d, cmd, LATER, consultation_plan(d, cmd, LATER)) is None
    d.consult(cmd, LATER, consultation_plan(d, cmd, LATER))
    assert d.consultations[0].agency == FIRE
    assert rules.decide_reply(d, reply_command(FIRE), LATER) is None


def test_r1_deadline_without_time_zone_refused_not_crash() -> None:
    from pydantic import ValidationError

    try:
        cmd = consultation_request(deadline=datetime(2025, 3, 6, 17, 0))
    except ValidationError:
        return  # refused where the command is parsed: fine
    d = processing()
    plan = consultation_plan(d, consultation_request(deadline=None), LATER)
    refusal = rules.decide_consultation(d, cmd, LATER, plan)
    assert refusal is not None and refusal.http_status == 422


# --- R2, R7: answering -----------------------------------------------------------------------
def withdrawn_while_consulting() -> Dossier:
    d = consulting(FIRE)
    request_withdrawal(d, at=SOON)
    confirm_withdrawal(d, at=LATER)
    return d


REPLY = [
    case(
        "r2-lead-agency-answers-for-consulted",
        consulting,
        lambda: reply_command(FIRE, by=officer(LEAD)),
        Code.NOT_YOUR_CONSULTATION,
        {"agency": FIRE},
    ),
    case(
        "r2-other-consulted-agency-answers",
        lambda: consulting(FIRE, ENV),
        lambda: reply_command(FIRE, by=officer(ENV)),
        Code.NOT_YOUR_CONSULTATION,
        {"agency": FIRE},
    ),
    case(
        "r2-consulted-agency-not-its-staff",
        consulting,
        lambda: reply_command(FIRE, by=actor(FIRE, Role.INSPECTOR)),
        Code.FORBIDDEN,
        {},
    ),
    case(
        "r2-agency-not-consulted",
        consulting,
        lambda: reply_command(ENV),
        Code.CONSULTATION_NOT_FOUND,
        {"agency": ENV},
    ),
    case(
        "r2-lead-agency-answers-itself",
        consulting,
        lambda: reply_command(LEAD),
        Code.CONSULTATION_NOT_FOUND,
        {"agency": LEAD},
    ),
    case(
        "r2-answer-twice",
        answered(FIRE),
        lambda: reply_command(FIRE),
        Code.ALREADY_ANSWERED,
        {"agency": FIRE},
    ),
    case(
        "r6-cancelled-by-withdrawal",
        withdrawn_while_consulting,
        lambda: reply_command(FIRE),
        Code.CONSULTATION_CANCELLED,
        {"agency": FIRE},
    ),
    case("no-opinion", consulting, lambda: reply_command(opinion=" "), Code.OPINION_REQUIRED, {}),
    case(
        "r7-late-without-cause",
        consulting,
        reply_command,
        Code.LATE_REASON_REQUIRED,
        {"deadline": DEADLINE},
        now=OVERDUE,
    ),
    case(
        "r7-late-with-blank-cause",
        consulting,
        lambda: reply_command(late_reason="  "),
        Code.LATE_REASON_REQUIRED,
        {"deadline": DEADLINE},
        now=OVERDUE,
    ),
    case(
        "r7-one-second-late-without-cause",
        consulting,
        reply_command,
        Code.LATE_REASON_REQUIRED,
        {"deadline": DEADLINE},
        now=DEADLINE + timedelta(seconds=1),
    ),
    # accepted
    case("r7-on-time-without-cause", consulting, reply_command),
    case("r7-at-the-deadline-without-cause", consulting, reply_command, now=DEADLINE),
    case(
        "r7-late-with-cause",
        consulting,
        lambda: reply_command(late_reason="Chờ kết quả kiểm tra hiện trường"),
        now=OVERDUE,
    ),
    case("r2-head-of-consulted-agency", consulting, lambda: reply_command(by=head(FIRE))),
    case("r2-each-agency-its-own", lambda: consulting(FIRE, ENV), lambda: reply_command(ENV)),
]


@pytest.mark.parametrize("c", REPLY)
def test_r2_r7_reply(c: Case) -> None:
    check(c)


def test_r6_reply_to_cancelled_consultation_is_refused_as_closed_at_admission() -> None:
    """What the workflow answers: its validators ask `admission` first, which refuses every
    message to a closed dossier; `consultation_cancelled` comes from decide_reply alone."""
    d = withdrawn_while_consulting()
    refusal = rules.admission(d, reply_command(FIRE))
    assert refusal is not None and refusal.code is Code.DOSSIER_CLOSED


# --- R4, R10: the SOS button --------------------------------------------------------------------
SOS = [
    case(
        "r2-not-lead-agency",
        processing,
        lambda: sos_command(SosAction.STOP, by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "r2-lead-agency-but-not-staff",
        processing,
        lambda: sos_command(SosAction.STOP, by=WRONG_ROLE),
        Code.FORBIDDEN,
        {},
    ),
    case(
        "closed",
        returned,
        lambda: sos_command(SosAction.RETURN),
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.RETURNED),
    ),
    case(
        "stop-while-stopped",
        stopped,
        lambda: sos_command(SosAction.STOP),
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.STOPPED),
    ),
    case(
        "supplement-while-stopped",
        stopped,
        lambda: sos_command(SosAction.SUPPLEMENT),
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.STOPPED),
    ),
    case(
        "stop-while-awaiting-supplement",
        awaiting_supplement,
        lambda: sos_command(SosAction.STOP),
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.AWAITING_SUPPLEMENT),
    ),
    case(
        "return-with-result-ready",
        result_ready,
        lambda: sos_command(SosAction.RETURN),
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.RESULT_READY),
    ),
    case(
        "r4-stop-on-time",
        fire_and_env,
        lambda: sos_command(SosAction.STOP),
        Code.SOS_REJECTED_AWAITING_REPLIES,
        awaited((FIRE, DEADLINE, False), (ENV, DEADLINE_2, False)),
    ),
    case(
        "r4-return-overdue",
        fire_and_env,
        lambda: sos_command(SosAction.RETURN),
        Code.SOS_REJECTED_AWAITING_REPLIES,
        awaited((FIRE, DEADLINE, True), (ENV, DEADLINE_2, False)),
        now=OVERDUE,
    ),
    case(
        "r4-wins-over-a-blank-reason",
        consulting,
        lambda: sos_command(SosAction.STOP, reason=""),
        Code.SOS_REJECTED_AWAITING_REPLIES,
        awaited((FIRE, DEADLINE, False)),
    ),
    case(
        "r4-wins-over-documents-outside-the-list",
        consulting,
        lambda: sos_command(SosAction.SUPPLEMENT, missing_documents=["Sổ hộ khẩu"]),
        Code.SOS_REJECTED_AWAITING_REPLIES,
        awaited((FIRE, DEADLINE, False)),
    ),
    case(
        "no-reason",
        processing,
        lambda: sos_command(SosAction.STOP, reason=" "),
        Code.REASON_REQUIRED,
        {},
    ),
    case(
        "r10-no-missing-documents",
        processing,
        lambda: sos_command(SosAction.SUPPLEMENT, missing_documents=[]),
        Code.MISSING_DOCUMENTS_REQUIRED,
        {},
    ),
    case(
        "r10-document-outside-the-list",
        processing,
        lambda: sos_command(SosAction.SUPPLEMENT, missing_documents=[DOCUMENTS[2], "Sổ hộ khẩu"]),
        Code.DOCUMENT_NOT_IN_PROCEDURE,
        {"documents": ["Sổ hộ khẩu"], "required_documents": DOCUMENTS},
    ),
    case(
        "r10-document-misspelt",
        processing,
        lambda: sos_command(SosAction.SUPPLEMENT, missing_documents=["Ban ve thiet ke xay dung"]),
        Code.DOCUMENT_NOT_IN_PROCEDURE,
        {"documents": ["Ban ve thiet ke xay dung"], "required_documents": DOCUMENTS},
    ),
    case(
        "r10-second-supplement-after-delivery",
        then(awaiting_supplement, lambda d: receive_supplement(d, at=SOON)),
        lambda: sos_command(SosAction.SUPPLEMENT),
        Code.SUPPLEMENT_ALREADY_REQUESTED,
        {},
    ),
    case(
        "r10-second-supplement-while-awaiting-it",
        awaiting_supplement,
        lambda: sos_command(SosAction.SUPPLEMENT),
        Code.SUPPLEMENT_ALREADY_REQUESTED,
        {},
    ),
    # accepted
    case("stop", processing, lambda: sos_command(SosAction.STOP)),
    case("return", processing, lambda: sos_command(SosAction.RETURN)),
    case(
        "r10-supplement-of-listed-documents",
        processing,
        lambda: sos_command(SosAction.SUPPLEMENT, missing_documents=DOCUMENTS[1:]),
    ),
    case("return-while-stopped", stopped, lambda: sos_command(SosAction.RETURN)),
    case(
        "return-while-awaiting-supplement",
        awaiting_supplement,
        lambda: sos_command(SosAction.RETURN),
    ),
    case(
        "stop-after-the-supplement-came",
        then(awaiting_supplement, receive_supplement),
        lambda: sos_command(SosAction.STOP),
    ),
]


@pytest.mark.parametrize("c", SOS)
def test_r4_r10_sos(c: Case) -> None:
    check(c)


SOS_ACTIONS = [pytest.param(a, id=a.value) for a in SosAction]
AWAITED_AT = [
    pytest.param(LATER, awaited((FIRE, DEADLINE, False), (ENV, DEADLINE_2, False)), id="on-time"),
    pytest.param(
        OVERDUE, awaited((FIRE, DEADLINE, True), (ENV, DEADLINE_2, False)), id="one-overdue"
    ),
    pytest.param(
        vn(2025, 3, 11, 9),
        awaited((FIRE, DEADLINE, True), (ENV, DEADLINE_2, True)),
        id="all-overdue",
    ),
    pytest.param(
        vn(2025, 3, 13, 9),
        awaited((FIRE, DEADLINE, True), (ENV, DEADLINE_2, True)),
        id="after-second-reminders",
    ),
]


@pytest.mark.parametrize("now, awaiting", AWAITED_AT)
@pytest.mark.parametrize("action", SOS_ACTIONS)
def test_r4_sos_refused_while_any_reply_awaited(
    action: SosAction, now: datetime, awaiting: dict[str, Any]
) -> None:
    check(
        Case(
            fire_and_env,
            lambda: sos_command(action),
            Code.SOS_REJECTED_AWAITING_REPLIES,
            awaiting,
            now,
        )
    )


def test_r4_stop_refused_while_reply_overdue() -> None:
    d = consulting(FIRE)
    refusal = rules.decide_sos(d, sos_command(SosAction.STOP), OVERDUE)
    assert refusal is not None
    assert refusal.code is Code.SOS_REJECTED_AWAITING_REPLIES
    assert refusal.http_status == 409
    assert refusal.facts == awaited((FIRE, DEADLINE, True))


@pytest.mark.parametrize("action", SOS_ACTIONS)
def test_r4_sos_refused_while_one_of_two_replies_awaited(action: SosAction) -> None:
    d = fire_and_env()
    reply(d, FIRE)
    check(
        Case(
            lambda: d,
            lambda: sos_command(action),
            Code.SOS_REJECTED_AWAITING_REPLIES,
            awaited((ENV, DEADLINE_2, True)),
            vn(2025, 3, 11, 9),
        )
    )


@pytest.mark.parametrize("action", SOS_ACTIONS)
def test_r4_sos_accepted_once_all_replies_in(action: SosAction) -> None:
    d = fire_and_env()
    reply(d, FIRE, at=OVERDUE, late_reason="Chờ ý kiến Công an tỉnh")
    reply(d, ENV, at=OVERDUE)
    check(Case(lambda: d, lambda: sos_command(action), None, now=OVERDUE))


# --- supplement delivery, resume ------------------------------------------------------------
SUPPLEMENT = [
    case(
        "r2-not-lead-agency",
        awaiting_supplement,
        lambda: supplement_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        returned,
        supplement_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.RETURNED),
    ),
    case(
        "not-awaiting",
        processing,
        supplement_command,
        Code.NOT_AWAITING_SUPPLEMENT,
        status_fact(DossierStatus.PROCESSING),
    ),
    case(
        "not-awaiting-while-stopped",
        stopped,
        supplement_command,
        Code.NOT_AWAITING_SUPPLEMENT,
        status_fact(DossierStatus.STOPPED),
    ),
    case(
        "no-documents",
        awaiting_supplement,
        lambda: supplement_command([]),
        Code.DOCUMENTS_REQUIRED,
        {},
    ),
    case(
        "blank-documents",
        awaiting_supplement,
        lambda: supplement_command([" "]),
        Code.DOCUMENTS_REQUIRED,
        {},
    ),
    case("r11-complete-dossier-back", awaiting_supplement, supplement_command),
]


@pytest.mark.parametrize("c", SUPPLEMENT)
def test_r10_r11_supplement_delivery(c: Case) -> None:
    check(c)


RESUME = [
    case(
        "r2-not-lead-agency",
        stopped,
        lambda: resume_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        withdrawn,
        resume_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.WITHDRAWN),
    ),
    case(
        "not-stopped",
        processing,
        resume_command,
        Code.NOT_STOPPED,
        status_fact(DossierStatus.PROCESSING),
    ),
    case(
        "not-stopped-awaiting-supplement",
        awaiting_supplement,
        resume_command,
        Code.NOT_STOPPED,
        status_fact(DossierStatus.AWAITING_SUPPLEMENT),
    ),
    case("no-reason", stopped, lambda: resume_command(""), Code.REASON_REQUIRED, {}),
    case("r11-resume", stopped, resume_command),
]


@pytest.mark.parametrize("c", RESUME)
def test_r11_resume(c: Case) -> None:
    check(c)


# --- R13: the apology (form 04) --------------------------------------------------------------
def unread() -> Dossier:
    d = dossier()
    d.reading = None
    return d


def stopped_friday_resumed_tuesday() -> Dossier:
    """Due date pushed from Monday 24/3 to Wednesday 26/3 by two working days stopped."""
    d = dossier()
    sos(d, SosAction.STOP, at=vn(2025, 3, 7, 10))
    resume(d, at=vn(2025, 3, 11, 10))
    assert d.due_at == vn(2025, 3, 26, 17)
    return d


def on_the_calendar(d: Dossier, cmd: Command, now: datetime) -> Refusal | None:
    """`decide_apology` with the calendar's answer for the new date, as the workflow asks it."""
    assert isinstance(cmd, ApologyRequest) and cmd.new_due_date is not None
    return rules.decide_apology(d, cmd, now, CALENDAR.is_working_day(cmd.new_due_date))


APOLOGY = [
    case(
        "r2-not-lead-agency",
        processing,
        lambda: apology_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        completed,
        apology_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.COMPLETED),
    ),
    case(
        "not-while-stopped",
        stopped,
        apology_command,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.STOPPED),
    ),
    case(
        "not-while-awaiting-supplement",
        awaiting_supplement,
        apology_command,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.AWAITING_SUPPLEMENT),
    ),
    case(
        "clock-not-read",
        unread,
        apology_command,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.PROCESSING),
    ),
    case(
        "r13-once-per-dossier",
        then(processing, apologise),
        lambda: apology_command(date(2025, 4, 4)),
        Code.APOLOGY_ALREADY_GIVEN,
        {},
    ),
    case(
        "r13-one-second-too-late",
        processing,
        apology_command,
        Code.TOO_LATE_FOR_APOLOGY,
        {"due_at": DUE},
        now=APOLOGY_DEADLINE + timedelta(seconds=1),
    ),
    case(
        "r13-on-the-due-day",
        processing,
        apology_command,
        Code.TOO_LATE_FOR_APOLOGY,
        {"due_at": DUE},
        now=vn(2025, 3, 24, 8),
    ),
    case(
        "r13-after-the-due-date",
        processing,
        apology_command,
        Code.TOO_LATE_FOR_APOLOGY,
        {"due_at": DUE},
        now=vn(2025, 3, 26, 8),
    ),
    case(
        "r13-over-the-weekend-before",
        processing,
        apology_command,
        Code.TOO_LATE_FOR_APOLOGY,
        {"due_at": DUE},
        now=vn(2025, 3, 22, 10),
    ),
    case("no-reason", processing, lambda: apology_command(reason=""), Code.REASON_REQUIRED, {}),
    case("no-new-date", processing, lambda: apology_command(None), Code.NEW_DUE_DATE_REQUIRED, {}),
    case(
        "r13-new-date-is-the-due-date",
        processing,
        lambda: apology_command(date(2025, 3, 24)),
        Code.NEW_DUE_DATE_NOT_LATER,
        {"due_at": DUE},
    ),
    case(
        "r13-new-date-earlier",
        processing,
        lambda: apology_command(date(2025, 3, 21)),
        Code.NEW_DUE_DATE_NOT_LATER,
        {"due_at": DUE},
    ),
    case(
        "r13-new-date-not-later-than-the-pushed-due-date",
        stopped_friday_resumed_tuesday,
        lambda: apology_command(date(2025, 3, 26)),
        Code.NEW_DUE_DATE_NOT_LATER,
        {"due_at": vn(2025, 3, 26, 17)},
    ),
    case(
        "r13-new-date-a-sunday",
        processing,
        lambda: apology_command(date(2025, 3, 30)),
        Code.NEW_DUE_DATE_NOT_WORKING_DAY,
        {"new_due_date": date(2025, 3, 30)},
        judge=on_the_calendar,
    ),
    case(
        "r13-new-date-a-holiday",
        processing,
        lambda: apology_command(date(2025, 4, 30)),  # Reunification Day
        Code.NEW_DUE_DATE_NOT_WORKING_DAY,
        {"new_due_date": date(2025, 4, 30)},
        judge=on_the_calendar,
    ),
    case(
        "r13-new-date-a-working-monday",
        processing,
        lambda: apology_command(date(2025, 3, 31)),
        judge=on_the_calendar,
    ),
    # accepted
    case("r13-early", processing, apology_command, now=LATER),
    case("r13-exactly-one-working-day-before", processing, apology_command, now=APOLOGY_DEADLINE),
    case("r13-new-date-the-next-day", processing, lambda: apology_command(date(2025, 3, 25))),
    case(
        "r13-window-moves-with-a-resume",
        stopped_friday_resumed_tuesday,
        apology_command,
        now=APOLOGY_DEADLINE + timedelta(seconds=1),
    ),
    case("r13-with-result-ready", result_ready, apology_command),
    case("r13-while-consulting", consulting, apology_command),
]


@pytest.mark.parametrize("c", APOLOGY)
def test_r13_apology(c: Case) -> None:
    check(c)


# --- R6: withdrawal ----------------------------------------------------------------------------
WITHDRAWAL = [
    case(
        "r2-not-lead-agency",
        processing,
        lambda: withdrawal_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        withdrawn,
        withdrawal_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.WITHDRAWN),
    ),
    case(
        "r6-already-pending",
        then(processing, request_withdrawal),
        withdrawal_command,
        Code.WITHDRAWAL_PENDING,
        {},
    ),
    case("no-reason", processing, lambda: withdrawal_command(reason=" "), Code.REASON_REQUIRED, {}),
    case(
        "no-application-ref",
        processing,
        lambda: withdrawal_command(application_ref=""),
        Code.APPLICATION_REF_REQUIRED,
        {},
    ),
    *[
        case(f"r6-asked-while-{status.value}", build, withdrawal_command)
        for status, build in IN_STATUS.items()
        if status not in {DossierStatus.COMPLETED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN}
    ],
]


@pytest.mark.parametrize("c", WITHDRAWAL)
def test_r6_withdrawal_request(c: Case) -> None:
    check(c)


pending = then(processing, request_withdrawal)
CONFIRMATION = [
    case(
        "r6-officer-of-lead-agency",
        pending,
        lambda: confirmation_command(by=officer()),
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
        {"lead_agency": LEAD},
    ),
    case(
        "r6-head-of-another-agency",
        pending,
        lambda: confirmation_command(by=head(FIRE)),
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
        {"lead_agency": LEAD},
    ),
    case(
        "r6-head-of-home-affairs",
        pending,
        lambda: confirmation_command(by=head(HOME_AFFAIRS)),
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
        {"lead_agency": LEAD},
    ),
    case(
        "r6-inspector-of-ppc-office",
        pending,
        lambda: confirmation_command(by=actor(PPC_OFFICE, Role.INSPECTOR)),
        Code.HEAD_OF_LEAD_AGENCY_REQUIRED,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        withdrawn,
        confirmation_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.WITHDRAWN),
    ),
    case("r6-nothing-pending", processing, confirmation_command, Code.NO_PENDING_WITHDRAWAL, {}),
    case(
        "r6-no-signature",
        pending,
        lambda: confirmation_command(" "),
        Code.SIGNATURE_REF_REQUIRED,
        {},
    ),
    # accepted
    case("r6-head-of-lead-agency", pending, confirmation_command),
    case(
        "r6-head-confirms-while-consulting",
        then(consulting, request_withdrawal),
        confirmation_command,
    ),
    case("r6-head-confirms-while-stopped", then(stopped, request_withdrawal), confirmation_command),
]


@pytest.mark.parametrize("c", CONFIRMATION)
def test_r6_withdrawal_confirmation(c: Case) -> None:
    check(c)


# --- R5: result and handover -------------------------------------------------------------------
RESULT = [
    case(
        "r2-not-lead-agency",
        processing,
        lambda: result_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        completed,
        result_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.COMPLETED),
    ),
    case(
        "not-while-stopped",
        stopped,
        result_command,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.STOPPED),
    ),
    case(
        "not-twice",
        result_ready,
        result_command,
        Code.NOT_ALLOWED_IN_STATUS,
        status_fact(DossierStatus.RESULT_READY),
    ),
    case(
        "r5-reply-awaited-on-time",
        fire_and_env,
        result_command,
        Code.CONSULTATIONS_AWAITING,
        awaited((FIRE, DEADLINE, False), (ENV, DEADLINE_2, False)),
    ),
    case(
        "r5-reply-overdue",
        fire_and_env,
        result_command,
        Code.CONSULTATIONS_AWAITING,
        awaited((FIRE, DEADLINE, True), (ENV, DEADLINE_2, False)),
        now=OVERDUE,
    ),
    case(
        "r5-awaited-wins-over-no-document-no",
        consulting,
        lambda: result_command(document_no=""),
        Code.CONSULTATIONS_AWAITING,
        awaited((FIRE, DEADLINE, False)),
    ),
    case(
        "no-document-no",
        processing,
        lambda: result_command(document_no=" "),
        Code.DOCUMENT_NO_REQUIRED,
        {},
    ),
    # accepted
    case("r5-all-answered", answered(FIRE, ENV), result_command),
    case("r5-denied", processing, lambda: result_command("denied")),
]


@pytest.mark.parametrize("c", RESULT)
def test_r5_result(c: Case) -> None:
    check(c)


HANDOVER = [
    case(
        "r2-not-lead-agency",
        result_ready,
        lambda: handover_command(by=NOT_LEAD),
        Code.NOT_LEAD_AGENCY,
        {"lead_agency": LEAD},
    ),
    case(
        "closed",
        completed,
        handover_command,
        Code.DOSSIER_CLOSED,
        status_fact(DossierStatus.COMPLETED),
    ),
    case(
        "r5-no-result",
        processing,
        handover_command,
        Code.NO_RESULT,
        status_fact(DossierStatus.PROCESSING),
    ),
    case(
        "r5-no-result-while-consulting",
        consulting,
        handover_command,
        Code.NO_RESULT,
        status_fact(DossierStatus.CONSULTING),
    ),
    case(
        "r5-no-result-while-stopped",
        stopped,
        handover_command,
        Code.NO_RESULT,
        status_fact(DossierStatus.STOPPED),
    ),
    case("r5-result-then-handover", result_ready, handover_command),
]


@pytest.mark.parametrize("c", HANDOVER)
def test_r5_handover(c: Case) -> None:
    check(c)


def test_r5_completed_only_by_result_then_handover() -> None:
    d = consulting(FIRE)
    assert rules.decide_handover(d, handover_command(), LATER) is not None
    refusal = rules.decide_result(d, result_command(), LATER)
    assert refusal is not None and refusal.code is Code.CONSULTATIONS_AWAITING
    reply(d, FIRE)
    record_result(d, at=LATER)
    assert d.status is DossierStatus.RESULT_READY and not d.is_final
    apply(d, handover_command(), LATER)
    assert d.status is DossierStatus.COMPLETED and d.is_final
    assert d.completed_at == LATER


# --- API.md's status matrix --------------------------------------------------------------------
ACTIONS: dict[str, Callable[[], Command]] = {
    "consult": lambda: consultation_request([ENV]),
    "sos-stop": lambda: sos_command(SosAction.STOP),
    "sos-supplement": lambda: sos_command(SosAction.SUPPLEMENT),
    "sos-return": lambda: sos_command(SosAction.RETURN),
    "supplement": supplement_command,
    "resume": resume_command,
    "apology": apology_command,
    "withdrawal": withdrawal_command,
    "confirm-withdrawal": confirmation_command,
    "result": result_command,
    "handover": handover_command,
}
_N = Code.NOT_ALLOWED_IN_STATUS
_R4 = Code.SOS_REJECTED_AWAITING_REPLIES
_NO_SUPPLEMENT_AWAITED = Code.NOT_AWAITING_SUPPLEMENT
# (status) → action → expected code; None: accepted. Codes other than not_allowed_in_status
# are the "more specific" codes of API.md's table.
MATRIX: dict[DossierStatus, dict[str, Code | None]] = {
    DossierStatus.PROCESSING: {
        "consult": None,
        "sos-stop": None,
        "sos-supplement": None,
        "sos-return": None,
        "supplement": _NO_SUPPLEMENT_AWAITED,
        "resume": Code.NOT_STOPPED,
        "apology": None,
        "withdrawal": None,
        "confirm-withdrawal": Code.NO_PENDING_WITHDRAWAL,
        "result": None,
        "handover": Code.NO_RESULT,
    },
    DossierStatus.CONSULTING: {
        "consult": None,
        "sos-stop": _R4,
        "sos-supplement": _R4,
        "sos-return": _R4,
        "supplement": _NO_SUPPLEMENT_AWAITED,
        "resume": Code.NOT_STOPPED,
        "apology": None,
        "withdrawal": None,
        "confirm-withdrawal": Code.NO_PENDING_WITHDRAWAL,
        "result": Code.CONSULTATIONS_AWAITING,
        "handover": Code.NO_RESULT,
    },
    # "While stopped, a dossier allows only resume, a withdrawal and SOS return"
    DossierStatus.STOPPED: {
        "consult": _N,
        "sos-stop": _N,
        "sos-supplement": _N,
        "sos-return": None,
        "supplement": _NO_SUPPLEMENT_AWAITED,
        "resume": None,
        "apology": _N,
        "withdrawal": None,
        "confirm-withdrawal": Code.NO_PENDING_WITHDRAWAL,
        "result": _N,
        "handover": Code.NO_RESULT,
    },
    # "while awaiting_supplement, only supplement, a withdrawal and SOS return"
    DossierStatus.AWAITING_SUPPLEMENT: {
        "consult": _N,
        "sos-stop": _N,
        "sos-supplement": Code.SUPPLEMENT_ALREADY_REQUESTED,
        "sos-return": None,
        "supplement": None,
        "resume": Code.NOT_STOPPED,
        "apology": _N,
        "withdrawal": None,
        "confirm-withdrawal": Code.NO_PENDING_WITHDRAWAL,
        "result": _N,
        "handover": Code.NO_RESULT,
    },
    DossierStatus.RESULT_READY: {
        "consult": _N,
        "sos-stop": _N,
        "sos-supplement": _N,
        "sos-return": _N,
        "supplement": _NO_SUPPLEMENT_AWAITED,
        "resume": Code.NOT_STOPPED,
        "apology": None,
        "withdrawal": None,
        "confirm-withdrawal": Code.NO_PENDING_WITHDRAWAL,
        "result": _N,
        "handover": None,
    },
}
# Refusals that name the dossier's current status in their facts.
_NAMES_STATUS = {
    _N,
    Code.DOSSIER_CLOSED,
    Code.NOT_AWAITING_SUPPLEMENT,
    Code.NOT_STOPPED,
    Code.NO_RESULT,
}


def _matrix() -> list[ParameterSet]:
    return list(_matrix_rows())


def _matrix_rows() -> Iterable[ParameterSet]:
    for status, row in MATRIX.items():
        for action, code in row.items():
            yield pytest.param(status, action, code, id=f"{status.value}-{action}")
    for status in (DossierStatus.COMPLETED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN):
        for action in ACTIONS:
            yield pytest.param(status, action, Code.DOSSIER_CLOSED, id=f"{status.value}-{action}")


@pytest.mark.parametrize("status, action, code", _matrix())
def test_api_status_matrix(status: DossierStatus, action: str, code: Code | None) -> None:
    build = IN_STATUS[status]
    assert build().status is status
    refusal = check(Case(build, ACTIONS[action], code))
    if refusal is not None and code in _NAMES_STATUS:
        assert refusal.facts["status"] == status.value


def test_api_status_matrix_covers_every_status_and_action() -> None:
    assert set(MATRIX) | {
        DossierStatus.COMPLETED,
        DossierStatus.RETURNED,
        DossierStatus.WITHDRAWN,
    } == set(DossierStatus)
    assert all(set(row) == set(ACTIONS) for row in MATRIX.values())


# --- the refusal catalogue -------------------------------------------------------------------
TABLES = [
    RECEIPT,
    ADMISSION,
    EXPIRY,
    CONSULTATION,
    REPLY,
    SOS,
    SUPPLEMENT,
    RESUME,
    APOLOGY,
    WITHDRAWAL,
    CONFIRMATION,
    RESULT,
    HANDOVER,
]


def _cases() -> list[ParameterSet]:
    return [p for table in TABLES for p in table]


def test_every_refusal_code_of_the_domain_is_tabled() -> None:
    tabled = {p.values[0].code for p in _cases()}  # type: ignore[union-attr]
    assert set(Code) - tabled == set()


def test_every_api_code_the_domain_gives_has_the_api_status() -> None:
    for code in Code:
        assert http_status_of(code) == STATUS_OF[code], code
    assert set(STATUS_OF) == set(Code)


def _refusing_cases() -> list[ParameterSet]:
    """Every tabled refusal."""
    return list(_refusing_rows())


def _refusing_rows() -> Iterable[ParameterSet]:
    for p in _cases():
        c = p.values[0]
        assert isinstance(c, Case)
        if c.code is not None:
            yield pytest.param(c, id=f"{c.code.value}-{p.id}")


@pytest.mark.parametrize("c", _refusing_cases())
def test_r9_every_refusal_is_recorded_for_the_audit(c: Case) -> None:
    """Whatever its facts, a refusal goes into the timeline as a `refused` event (R9, R12)."""
    d = c.state()
    cmd = c.command()
    refusal = c.judge(d, cmd, c.now)
    assert refusal is not None and refusal.code is c.code
    event = d.record_refusal(cmd, "action", refusal, c.now, "update")
    assert (event.kind, event.at, event.detail["code"]) == ("refused", c.now, c.code.value)
    assert d.events[-1] is event
    assert Dossier.model_validate(d.model_dump(mode="json")) == d


@pytest.mark.parametrize("c", _refusing_cases())
def test_r12_refusal_messages_are_filled_in_both_languages(c: Case) -> None:
    refusal = check(c)
    assert refusal is not None
    for message in (refusal.message_vi, refusal.message_en):
        assert message.strip()
        assert "…" not in message and "{" not in message, message
    assert refusal.message_vi != refusal.message_en


def test_r4_refusal_message_names_awaited_agencies() -> None:
    refusal = rules.decide_sos(fire_and_env(), sos_command(SosAction.STOP), OVERDUE)
    assert refusal is not None
    for message in (refusal.message_vi, refusal.message_en):
        assert FIRE in message and ENV in message, message


def test_r2_deadline_beyond_maximum_message_says_the_maximum() -> None:
    refusal = refuse(Code.DEADLINE_BEYOND_MAXIMUM, maximum=MAXIMUM, max_days=5)
    assert "17:00 ngày 10/03/2025" in refusal.message_vi
    assert "5 ngày làm việc" in refusal.message_vi
    assert "5 working days" in refusal.message_en


def test_r1_r2_checks_run_in_the_documented_order() -> None:
    """Who, then status, then the request: a stranger's empty request to a closed dossier is
    refused for who it comes from."""
    bad = consultation_request([], content="", deadline=None, by=NOT_LEAD)
    d = completed()
    plan = consultation_plan(d, bad, LATER)
    refusal = rules.decide_consultation(d, bad, LATER, plan)
    assert refusal is not None and refusal.code is Code.NOT_LEAD_AGENCY
    refusal = rules.decide_consultation(d, bad.model_copy(update={"actor": officer()}), LATER, plan)
    assert refusal is not None and refusal.code is Code.DOSSIER_CLOSED


def test_r2_maximum_is_counted_on_the_working_day_calendar() -> None:
    """Asked on Friday 24/1/2025, just before Tết (27/1 to 1/2 off): 5 working days end on
    Friday 7/2/2025, not on Friday 31/1."""
    received = vn(2025, 1, 24, 9)
    d = dossier(at=received)
    cmd = consultation_request(deadline=vn(2025, 2, 7, 17))
    plan = consultation_plan(d, cmd, received)
    assert plan.maximum == vn(2025, 2, 7, 17) == CALENDAR.due_at(received, 5)
    assert rules.decide_consultation(d, cmd, received, plan) is None
    late = cmd.model_copy(update={"deadline": vn(2025, 2, 7, 17, 0, 1)})
    refusal = rules.decide_consultation(d, late, received, plan)
    assert refusal is not None and refusal.facts["maximum"] == vn(2025, 2, 7, 17)


def test_r4_awaiting_facts_list_each_open_consultation_in_order() -> None:
    d = fire_and_env()
    consult(d, [DISTRICT], at=LATER, deadline=DEADLINE)
    reply(d, ENV, at=LATER)
    assert rules.awaiting_facts(d, OVERDUE) == [
        {"agency": FIRE, "deadline": DEADLINE, "overdue": True},
        {"agency": DISTRICT, "deadline": DEADLINE, "overdue": True},
    ]
    assert rules.awaiting_facts(d, DEADLINE) == [
        {"agency": FIRE, "deadline": DEADLINE, "overdue": False},
        {"agency": DISTRICT, "deadline": DEADLINE, "overdue": False},
    ]


def test_r11_supplement_restart_needs_a_read_clock() -> None:
    """After delivery the clock restarts; the builders read it as the workflow does."""
    d = awaiting_supplement()
    assert d.due_at is None
    receive_supplement(d, at=LATER)
    assert read(d).due_at == CALENDAR.due_at(LATER, 15)
    assert rules.decide_apology(d, apology_command(date(2025, 4, 30)), LATER) is None
