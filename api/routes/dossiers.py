"""Dossiers (API.md, "Dossiers"): receipt, reading, and every action, each one the workflow's
update. Who may act and what is refused is decided by `domain.rules`, in the workflow; these
handlers translate, and record what the workflow no longer can (an action on a closed dossier).

Only a dossier's parties reach it (`rules.is_party`): anyone else is refused 403 `forbidden`
here, before any workflow call and whatever the dossier's state, and his attempt goes to the
security log, never into the dossier's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field, StrictStr
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import refuse_stranger
from api.deps import (
    ActorDep,
    Cursor,
    Limit,
    ServicesDep,
    SessionDep,
    decode_cursor,
    encode_cursor,
    release_connection,
)
from api.problems import Problem
from api.views import document_of, procedure_of
from api.workflow_calls import WorkflowGone, call, execute, update_id
from db import catalogue as catalogue_db
from db import read_model
from db.dossier_codes import next_dossier_code
from db.idempotency import claim_key, claimed, fingerprint, reused
from db.models import IdempotencyRecord
from domain import limits, rules
from domain.commands import (
    Action,
    Actor,
    ApologyBody,
    ApologyRequest,
    Command,
    ConfirmationBody,
    ConsultationBody,
    ConsultationRequest,
    Handover,
    HandoverBody,
    Reply,
    ReplyBody,
    ResultBody,
    ResultRecord,
    ResumeBody,
    ResumeRequest,
    SosBody,
    SosRequest,
    SupplementBody,
    SupplementDelivery,
    WithdrawalBody,
    WithdrawalConfirmation,
    WithdrawalRequest,
)
from domain.dossier import Applicant, DossierDocument, DossierStatus, refusal_detail
from domain.refusals import Code, refuse
from workflows.dossier import (
    ConsultationsRequested,
    DossierStart,
    DossierWorkflow,
    WithdrawalPending,
)
from workflows.starter import start_dossier, workflow_id

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

DossierCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-_]+$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a retried POST with the same key has the effect of one",
    ),
]


# Generated codes skipped in a row before a receipt gives up (see _free_code).
MAX_TAKEN_CODES = 100


class NewDossier(BaseModel):
    procedure_code: limits.Code
    applicant: Applicant
    code: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-_]+$"
    )


class DossierPage(BaseModel):
    items: list[DossierDocument]
    next_cursor: str | None


# --- receipt and reading ----------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED)
async def receive_dossier(
    body: NewDossier,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """Receive a dossier (officer of the procedure's lead agency): its workflow starts and the
    answer carries its due date. With `Idempotency-Key`, a retry returns the same dossier."""
    record = await catalogue_db.get_procedure(db, body.procedure_code)
    procedure = procedure_of(record) if record else None
    refusal = rules.decide_receipt(procedure, body.procedure_code, actor)
    if refusal or procedure is None:
        raise Problem.of_refusal(refusal or refuse(Code.UNKNOWN_PROCEDURE))
    now = datetime.now(UTC)
    code = None
    if idempotency_key:
        request = fingerprint(body)
        claim = await claimed(db, idempotency_key, actor.user_id)
        if claim is None:
            code = body.code or await _free_code(services, db, procedure.lead_agency, now)
            claim = await claim_key(db, idempotency_key, actor.user_id, code, request)
        _refuse_reused(claim, request)
        code = claim.dossier
    code = code or body.code or await _free_code(services, db, procedure.lead_agency, now)
    home_affairs = await catalogue_db.home_affairs_agency(db)
    start = DossierStart(
        code=code,
        procedure=procedure,
        applicant=body.applicant,
        home_affairs_agency=home_affairs.code,
        received_at=now,
        received_by=actor,
    )
    await release_connection(db)
    try:
        _, document = await call(
            start_dossier(services.client, start, task_queue=services.settings.task_queue)
        )
    except WorkflowAlreadyStartedError as exists:
        if idempotency_key:
            # The key stands for this code, and only ever for it: a twin of this request (a
            # retry, or the same request sent twice at once) started it; its dossier is the answer.
            return await _received(services, db, code)
        raise Problem("dossier_exists", f"dossier {code} exists", code_taken=code) from exists
    return document


async def _received(services: ServicesDep, db: SessionDep, code: str) -> DossierDocument:
    """The dossier as received: from its workflow, or from the read model once it has closed."""
    handle = services.client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(code))
    try:
        document: DossierDocument = await call(
            handle.execute_update(
                DossierWorkflow.receipt,  # type: ignore[arg-type]
                rpc_timeout=timedelta(seconds=services.settings.update_outcome_timeout_seconds),
            )
        )
        return document
    except WorkflowGone:
        if (existing := await _document(db, code)) is not None:
            return existing
        raise Problem("dossier_not_found", f"no dossier {code}") from None


async def _free_code(services: ServicesDep, db: SessionDep, lead_agency: str, now: datetime) -> str:
    """The unit's next code that Temporal has never seen: the counter can be behind it (a
    database restored from a backup, say), and a receipt skips such codes rather than fail."""
    for _ in range(MAX_TAKEN_CODES):
        code = await _new_code(db, lead_agency, now)
        try:
            await call(services.client.get_workflow_handle(workflow_id(code)).describe())
        except WorkflowGone:
            return code
    raise Problem("dossier_exists", f"{MAX_TAKEN_CODES} generated codes in a row were taken")


async def admit_caller(
    request: Request, actor: Actor, db: AsyncSession, code: str, *, reading: bool = False
) -> None:
    """Let through a party of dossier `code` (or, `reading`, anyone who may see it): an unknown
    dossier is a 404, anyone else a 403 logged as a security event (`refuse_stranger`)."""
    parties = await read_model.parties(db, code)
    if parties is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    if not (rules.may_see(actor, parties) if reading else rules.is_party(actor, parties)):
        raise refuse_stranger(request, actor, dossier=code)


async def _party(request: Request, code: DossierCode, actor: ActorDep, db: SessionDep) -> None:
    await admit_caller(request, actor, db, code)


# The actions' route dependency: it runs before their body is validated, so a stranger's
# attempt is refused the same whatever he sent.
PARTIES_ONLY = Depends(_party)


@router.get("/{code}")
async def read_dossier(
    request: Request, code: DossierCode, actor: ActorDep, db: SessionDep
) -> DossierDocument:
    """The dossier document with its timeline (lead agency, consulted agencies, Home Affairs,
    inspectors)."""
    await admit_caller(request, actor, db, code, reading=True)
    document = await _document(db, code)
    if document is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    return document


@router.get("")
async def list_dossiers(
    actor: ActorDep,
    db: SessionDep,
    # One of the statuses (a misspelt one is a 422, not an empty page that looks like "none").
    status_: Annotated[DossierStatus | None, Query(alias="status")] = None,
    lead_agency: str | None = None,
    overdue: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DossierPage:
    """Dossiers the caller may see, newest first; `overdue=true`: not closed and late or past
    their due date."""
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr])
    page = await read_model.list_dossiers(
        db,
        status=status_.value if status_ else None,
        lead_agency=lead_agency,
        overdue=overdue,
        visible_to_agency=None if rules.sees_every_agency(actor) else actor.agency,
        now=datetime.now(UTC),
        limit=limit + 1,
        after=after,
    )
    more = len(page) > limit
    page = page[:limit]
    items = []
    for dossier in page:
        found = await read_model.get_dossier(db, dossier.code)
        if found is not None:
            items.append(document_of(*found))
    last = page[-1] if more and page else None
    return DossierPage(
        items=items,
        next_cursor=encode_cursor([last.received_at.isoformat(), last.code]) if last else None,
    )


# --- actions: each the workflow's update -----------------------------------------------------


@router.post(
    "/{code}/consultations", status_code=status.HTTP_201_CREATED, dependencies=[PARTIES_ONLY]
)
async def request_consultation(
    code: DossierCode,
    body: ConsultationBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> ConsultationsRequested:
    """Ask agencies for their opinion, stating content and deadline (R1, R2)."""
    command = ConsultationRequest(actor=actor, **body.model_dump())
    result: ConsultationsRequested = await _act(
        services,
        db,
        code,
        Action.CONSULT,
        DossierWorkflow.request_consultation,
        command,
        idempotency_key,
    )
    return result


@router.post("/{code}/consultations/{agency}/reply", dependencies=[PARTIES_ONLY])
async def reply(
    code: DossierCode,
    agency: Annotated[str, Path(min_length=1, max_length=64)],
    body: ReplyBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """The consulted agency answers; after the deadline, with its cause (R7)."""
    command = Reply(actor=actor, agency=agency, **body.model_dump())
    return await _act(
        services, db, code, Action.REPLY, DossierWorkflow.reply, command, idempotency_key
    )


@router.post("/{code}/sos", dependencies=[PARTIES_ONLY])
async def sos(
    code: DossierCode,
    body: SosBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """SOS: supplement, stop or return; refused while opinions are awaited (R4), and recorded."""
    command = SosRequest(actor=actor, **body.model_dump())
    return await _act(services, db, code, Action.SOS, DossierWorkflow.sos, command, idempotency_key)


@router.post("/{code}/supplement", dependencies=[PARTIES_ONLY])
async def supplement(
    code: DossierCode,
    body: SupplementBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """The complete dossier is back; its time limit counts afresh (R11)."""
    command = SupplementDelivery(actor=actor, **body.model_dump())
    return await _act(
        services, db, code, Action.SUPPLEMENT, DossierWorkflow.supplement, command, idempotency_key
    )


@router.post("/{code}/resume", dependencies=[PARTIES_ONLY])
async def resume(
    code: DossierCode,
    body: ResumeBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """Resume a stopped dossier; the due date moves by the working days spent stopped (R11)."""
    command = ResumeRequest(actor=actor, **body.model_dump())
    return await _act(
        services, db, code, Action.RESUME, DossierWorkflow.resume, command, idempotency_key
    )


@router.post("/{code}/apology", dependencies=[PARTIES_ONLY])
async def apology(
    code: DossierCode,
    body: ApologyBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """Apology with a new appointment date (form 04), once, a working day ahead (R13)."""
    command = ApologyRequest(actor=actor, **body.model_dump())
    return await _act(
        services, db, code, Action.APOLOGY, DossierWorkflow.apology, command, idempotency_key
    )


@router.post(
    "/{code}/withdrawal", status_code=status.HTTP_202_ACCEPTED, dependencies=[PARTIES_ONLY]
)
async def request_withdrawal(
    code: DossierCode,
    body: WithdrawalBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> WithdrawalPending:
    """Record the applicant's withdrawal; it waits for the head's signed confirmation (R6)."""
    command = WithdrawalRequest(actor=actor, **body.model_dump())
    result: WithdrawalPending = await _act(
        services,
        db,
        code,
        Action.WITHDRAWAL,
        DossierWorkflow.request_withdrawal,
        command,
        idempotency_key,
    )
    return result


@router.post("/{code}/withdrawal/confirm", dependencies=[PARTIES_ONLY])
async def confirm_withdrawal(
    code: DossierCode,
    body: ConfirmationBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """The head of the lead agency confirms the withdrawal (R6)."""
    command = WithdrawalConfirmation(actor=actor, **body.model_dump())
    return await _act(
        services,
        db,
        code,
        Action.CONFIRM_WITHDRAWAL,
        DossierWorkflow.confirm_withdrawal,
        command,
        idempotency_key,
    )


@router.post("/{code}/result", dependencies=[PARTIES_ONLY])
async def record_result(
    code: DossierCode,
    body: ResultBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """Record the result; refused while opinions are awaited (R5)."""
    command = ResultRecord(actor=actor, **body.model_dump())
    return await _act(
        services, db, code, Action.RESULT, DossierWorkflow.record_result, command, idempotency_key
    )


@router.post("/{code}/handover", dependencies=[PARTIES_ONLY])
async def hand_over(
    code: DossierCode,
    body: HandoverBody,
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> DossierDocument:
    """Hand the result over: the dossier is completed (R5)."""
    command = Handover(actor=actor, **body.model_dump())
    return await _act(
        services, db, code, Action.HANDOVER, DossierWorkflow.hand_over, command, idempotency_key
    )


# The dossier actions of API.md, by the handler of their route (an unreadable request is
# recorded as a refused attempt at the action: api.invalid_requests).
ACTION_OF_ENDPOINT: dict[Any, Action] = {
    request_consultation: Action.CONSULT,
    reply: Action.REPLY,
    sos: Action.SOS,
    supplement: Action.SUPPLEMENT,
    resume: Action.RESUME,
    apology: Action.APOLOGY,
    request_withdrawal: Action.WITHDRAWAL,
    confirm_withdrawal: Action.CONFIRM_WITHDRAWAL,
    record_result: Action.RESULT,
    hand_over: Action.HANDOVER,
}


async def _act(
    services: ServicesDep,
    db: SessionDep,
    code: str,
    action: Action,
    update: Any,
    command: Command,
    idempotency_key: str | None,
) -> Any:
    if idempotency_key:
        request = fingerprint(command)
        scoped = f"{code}/{action.value}/{idempotency_key}"
        _refuse_reused(await claim_key(db, scoped, command.actor.user_id, code, request), request)
    await release_connection(db)
    try:
        return await execute(
            services.client,
            workflow_id(code),
            update,
            command,
            update_id(command.actor.user_id, f"{code}/{action.value}", idempotency_key),
            services.settings,
        )
    except WorkflowGone:
        await _refuse_on_closed(db, code, action, command)
    except Problem as refused:
        # Closed, but its workflow still sending the last notices: its validator turned the
        # update away without a trace, so the API records it, as for an ended workflow.
        if refused.code == Code.DOSSIER_CLOSED.value:
            await _refuse_on_closed(db, code, action, command)
        raise


def _refuse_reused(claim: IdempotencyRecord, request: str) -> None:
    if reused(claim, request):
        raise Problem(
            "idempotency_key_reused",
            "this Idempotency-Key was first sent with another request; use a new key",
        )


async def _refuse_on_closed(
    db: SessionDep, code: str, action: Action, command: Command
) -> NoReturn:
    """The workflow no longer runs: an unknown dossier is a 404; a closed one refuses every
    action, and the API records the attempt in its timeline itself (R9, R12)."""
    found = await read_model.get_dossier(db, code)
    if found is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    dossier, consultations, _ = found
    if dossier.closed_at is None:
        # Open in the read model, yet no run answers (the workflow service just restarted, or
        # a run ended from outside that the sweep has not closed yet): nothing is recorded, and
        # nothing said but that it could not be done now.
        raise Problem("workflow_unavailable", f"no run of dossier {code} answers now")
    agency = command.agency if isinstance(command, Reply) else None
    latest = max(
        (c for c in consultations if c.agency == agency), key=lambda c: c.number, default=None
    )
    cancelled_for = agency if latest is not None and latest.status == "cancelled" else None
    refusal = rules.decide_after_close(dossier.status, action, cancelled_for)
    await read_model.record_refusal_after_close(
        db,
        code,
        datetime.now(UTC),
        command.actor.user_id,
        refusal_detail(command, action.value, refusal, via="api"),
    )
    raise Problem.of_refusal(refusal)


async def _new_code(db: SessionDep, lead_agency: str, now: datetime) -> str:
    agency = await catalogue_db.get_agency(db, lead_agency)
    if agency is None:
        raise Problem("agency_not_found", f"the lead agency {lead_agency} is not in the catalogue")
    return await next_dossier_code(db, agency.unit_id, now)


async def _document(db: SessionDep, code: str) -> DossierDocument | None:
    found = await read_model.get_dossier(db, code)
    return document_of(*found) if found else None
