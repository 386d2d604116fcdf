"""Dossiers (API.md, "Dossiers"): receipt, reading, and every action, each one the workflow's
update. The handlers translate HTTP to `service.dossiers`, which the pages call too: who may act
and what is refused is decided there and in `domain.rules`, not here.

Only a dossier's parties reach it (`rules.is_party`): anyone else is refused 403 `forbidden`
before any workflow call and whatever the dossier's state, and his attempt goes to the security
log, never into the dossier's events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status

from api.deps import ActorDep, Cursor, Limit, ServicesDep, SessionDep
from domain.actions import ACTIONS
from domain.commands import (
    Action,
    ApologyBody,
    ApologyRequest,
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
from domain.dossier import DossierDocument, DossierStatus
from service import dossiers
from service.dossiers import CODE_PATTERN, DossierPage, NewDossier
from workflows.dossier import ConsultationsRequested, WithdrawalPending

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

DossierCode = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a retried POST with the same key has the effect of one",
    ),
]


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
    return await dossiers.receive(services, db, actor, body, idempotency_key)


# Kept under this name for the routes that admit a dossier's parties (forms, invalid requests).
admit_caller = dossiers.admit


async def _party(request: Request, code: DossierCode, actor: ActorDep, db: SessionDep) -> None:
    await dossiers.admit(request, actor, db, code)


# The actions' route dependency: it runs before their body is validated, so a stranger's
# attempt is refused the same whatever he sent.
PARTIES_ONLY = Depends(_party)


@router.get("/{code}")
async def read_dossier(
    request: Request, code: DossierCode, actor: ActorDep, db: SessionDep
) -> DossierDocument:
    """The dossier document with its timeline (lead agency, consulted agencies, Home Affairs,
    inspectors)."""
    return await dossiers.read(request, actor, db, code)


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
    return await dossiers.list_visible(
        db,
        actor,
        status=status_,
        lead_agency=lead_agency,
        overdue=overdue,
        limit=limit,
        cursor=cursor,
    )


# --- actions: each the workflow's update -----------------------------------------------------


def _route(action: Action) -> str:
    """The path of `action`'s route, under the router's prefix."""
    return "/{code}" + ACTIONS[action].path


@router.post(
    _route(Action.CONSULT), status_code=status.HTTP_201_CREATED, dependencies=[PARTIES_ONLY]
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
    result: ConsultationsRequested = await dossiers.act(
        services, db, code, Action.CONSULT, command, idempotency_key
    )
    return result


@router.post(_route(Action.REPLY), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.REPLY, command, idempotency_key)


@router.post(_route(Action.SOS), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.SOS, command, idempotency_key)


@router.post(_route(Action.SUPPLEMENT), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.SUPPLEMENT, command, idempotency_key)


@router.post(_route(Action.RESUME), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.RESUME, command, idempotency_key)


@router.post(_route(Action.APOLOGY), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.APOLOGY, command, idempotency_key)


@router.post(
    _route(Action.WITHDRAWAL), status_code=status.HTTP_202_ACCEPTED, dependencies=[PARTIES_ONLY]
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
    result: WithdrawalPending = await dossiers.act(
        services, db, code, Action.WITHDRAWAL, command, idempotency_key
    )
    return result


@router.post(_route(Action.CONFIRM_WITHDRAWAL), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(
        services, db, code, Action.CONFIRM_WITHDRAWAL, command, idempotency_key
    )


@router.post(_route(Action.RESULT), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.RESULT, command, idempotency_key)


@router.post(_route(Action.HANDOVER), dependencies=[PARTIES_ONLY])
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
    return await dossiers.act(services, db, code, Action.HANDOVER, command, idempotency_key)


# The dossier actions of API.md by their route's path (domain.actions): an unreadable request
# at one is recorded as a refused attempt at the action (api.invalid_requests).
_ACTION_OF_PATH: dict[str, Action] = {router.prefix + _route(a): a for a in ACTIONS}


def action_of(route: Any) -> Action | None:
    """The dossier action `route` takes (a route, or the OpenAPI generator's view of one), or
    None if it takes none."""
    if "POST" not in (getattr(route, "methods", None) or ()):
        return None
    return _ACTION_OF_PATH.get(getattr(route, "path_format", None) or "")
