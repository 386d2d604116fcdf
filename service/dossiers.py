"""Dossiers: receipt, reading, listing and every action, each action the workflow's update.

The JSON API (`api.routes.dossiers`) and the pages (`web`) both call these, so a rule, a
permission check or a query has one place. Who may act and what is refused is decided by
`domain.rules`, in the workflow; what the workflow no longer can (an action on a closed dossier)
is recorded here.

Only a dossier's parties reach it (`rules.is_party`): anyone else is refused 403 `forbidden`
before any workflow call and whatever the dossier's state, and his attempt goes to the security
log, never into the dossier's events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import AwareDatetime, BaseModel, Field, StrictStr
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import refuse_stranger
from api.deps import decode_cursor, encode_cursor, release_connection
from api.problems import Problem
from api.views import document_of, procedure_of
from api.workflow_calls import WorkflowGone, call, execute, update_id
from db import catalogue as catalogue_db
from db import read_model
from db.dossier_codes import next_dossier_code
from db.idempotency import claim_key, claimed, fingerprint, reused
from db.models import AgencyRecord, IdempotencyRecord
from db.pages import Page, beyond
from domain import limits, rules
from domain.actions import ACTIONS
from domain.catalogue import is_one_stop_desk
from domain.commands import (
    Action,
    Actor,
    ApologyBody,
    Command,
    ConfirmationBody,
    ConsultationBody,
    HandoverBody,
    Reply,
    ReplyBody,
    ResultBody,
    ResumeBody,
    SosBody,
    SupplementBody,
    WithdrawalBody,
)
from domain.dossier import (
    Applicant,
    DossierDocument,
    DossierStatus,
    Procedure,
    refusal_detail,
)
from domain.refusals import Code, refuse
from workflows.dossier import DossierStart, DossierWorkflow
from workflows.starter import start_dossier, workflow_id

if TYPE_CHECKING:
    from api.app import Services

# Generated codes skipped in a row before a receipt gives up (see _free_code).
MAX_TAKEN_CODES = 100

CODE_PATTERN = r"^[A-Za-z0-9.\-_]+$"

# Each action of API.md and the workflow's update that takes it (named in domain.actions).
UPDATE_OF_ACTION: Mapping[Action, Any] = {
    action: getattr(DossierWorkflow, rule.update) for action, rule in ACTIONS.items()
}

# Each action's request body (API.md) and the command it makes with its caller: the pages' forms
# carry the body's fields (`web.pages.dossier_actions`).
BODY_OF_ACTION: Mapping[Action, type[BaseModel]] = {
    Action.CONSULT: ConsultationBody,
    Action.REPLY: ReplyBody,
    Action.SOS: SosBody,
    Action.SUPPLEMENT: SupplementBody,
    Action.RESUME: ResumeBody,
    Action.APOLOGY: ApologyBody,
    Action.WITHDRAWAL: WithdrawalBody,
    Action.CONFIRM_WITHDRAWAL: ConfirmationBody,
    Action.RESULT: ResultBody,
    Action.HANDOVER: HandoverBody,
}
COMMAND_OF_ACTION: Mapping[Action, type[Command]] = {
    action: rule.command for action, rule in ACTIONS.items()
}


class NewDossier(BaseModel):
    procedure_code: limits.Code
    applicant: Applicant
    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)


class DossierPage(BaseModel):
    items: list[DossierDocument]
    next_cursor: str | None


# --- receipt --------------------------------------------------------------------------------


async def receive(
    services: Services,
    db: AsyncSession,
    actor: Actor,
    new: NewDossier,
    idempotency_key: str | None = None,
) -> DossierDocument:
    """Receive a dossier (officer of the procedure's lead agency, or of a one-stop desk on its
    behalf, Decree 118/2025): its workflow starts and the answer carries its due date. With an
    idempotency key, a retry returns the same dossier."""
    record = await catalogue_db.get_procedure(db, new.procedure_code)
    procedure = procedure_of(record) if record else None
    lead = await catalogue_db.get_agency(db, procedure.lead_agency) if procedure else None
    # An officer of the lead agency (most receipts): its row, read once.
    own = (
        lead
        if procedure and actor.agency == procedure.lead_agency
        else await catalogue_db.get_agency(db, actor.agency)
    )
    refusal = rules.decide_receipt(
        procedure,
        new.procedure_code,
        actor,
        lead_active=lead is None or lead.active,
        at_desk=own is not None and is_one_stop_desk(own),
    )
    if refusal or procedure is None:
        raise Problem.of_refusal(refusal or refuse(Code.UNKNOWN_PROCEDURE))
    desk = None if actor.agency == procedure.lead_agency else actor.agency
    # The code carries the receiving unit's identifier (Circular 01/2018 art. 19, kept under
    # Circular 03/2025: docs/legal-frame.md): the desk's when a desk received it.
    receiving_unit = desk or procedure.lead_agency
    unit_record = own if desk else lead  # the receiving unit's row, read above
    now = datetime.now(UTC)
    code = None
    if idempotency_key:
        request = fingerprint(new)
        claim = await claimed(db, idempotency_key, actor.user_id)
        if claim is None:
            code = new.code or await _free_code(services, db, receiving_unit, unit_record, now)
            claim = await claim_key(db, idempotency_key, actor.user_id, code, request)
        _refuse_reused(claim, request)
        code = claim.dossier
    code = code or new.code or await _free_code(services, db, receiving_unit, unit_record, now)
    home_affairs = await catalogue_db.home_affairs_agency(db)
    start = DossierStart(
        code=code,
        procedure=procedure,
        applicant=new.applicant,
        home_affairs_agency=home_affairs.code,
        received_at=now,
        received_by=actor,
        receiving_desk=desk,
    )
    await release_connection(db)
    try:
        _, started = await call(
            start_dossier(
                services.client,
                start,
                task_queue=services.settings.task_queue,
                pages_url=services.settings.pages_address,
            )
        )
    except WorkflowAlreadyStartedError as exists:
        if idempotency_key:
            # The key stands for this code, and only ever for it: a twin of this request (a
            # retry, or the same request sent twice at once) started it; its dossier is the answer.
            return await _received(services, db, code)
        raise Problem("dossier_exists", f"dossier {code} exists", code_taken=code) from exists
    return started


async def receivable_procedures(db: AsyncSession, actor: Actor) -> list[Procedure]:
    """The procedures of the catalogue whose dossiers `actor` may receive (the receipt's own
    rule, `rules.decide_receipt`), by code: its agency's own, or every active lead agency's
    at a one-stop desk."""
    found: list[Procedure] = []
    after: str | None = None
    agency = await catalogue_db.get_agency(db, actor.agency)
    at_desk = agency is not None and is_one_stop_desk(agency)
    while page := await catalogue_db.list_procedures(db, limit=200, after=after):
        procedures = list(map(procedure_of, page))
        inactive = set(
            await catalogue_db.inactive_agencies(db, [p.lead_agency for p in procedures])
        )
        found += [
            procedure
            for procedure in procedures
            if rules.decide_receipt(
                procedure,
                procedure.code,
                actor,
                lead_active=procedure.lead_agency not in inactive,
                at_desk=at_desk,
            )
            is None
        ]
        after = page[-1].code
    return found


async def _received(services: Services, db: AsyncSession, code: str) -> DossierDocument:
    """The dossier as received: from its workflow, or from the read model once it has closed."""
    handle = services.client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(code))
    try:
        received: DossierDocument = await call(
            handle.execute_update(
                DossierWorkflow.receipt,  # type: ignore[arg-type]
                rpc_timeout=timedelta(seconds=services.settings.update_outcome_timeout_seconds),
            )
        )
        return received
    except WorkflowGone:
        if (existing := await document(db, code)) is not None:
            return existing
        raise Problem("dossier_not_found", f"no dossier {code}") from None


async def _free_code(
    services: Services, db: AsyncSession, unit: str, record: AgencyRecord | None, now: datetime
) -> str:
    """The next code of receiving unit `unit` (its catalogue row `record`) that Temporal has
    never seen: the counter can be behind it (a database restored from a backup, say), and a
    receipt skips such codes rather than fail."""
    for _ in range(MAX_TAKEN_CODES):
        code = await _new_code(db, unit, record, now)
        try:
            await call(services.client.get_workflow_handle(workflow_id(code)).describe())
        except WorkflowGone:
            return code
    raise Problem("dossier_exists", f"{MAX_TAKEN_CODES} generated codes in a row were taken")


async def _new_code(db: AsyncSession, unit: str, record: AgencyRecord | None, now: datetime) -> str:
    if record is None:
        raise Problem("agency_not_found", f"the receiving unit {unit} is not in the catalogue")
    return await next_dossier_code(db, record.unit_id, now)


# --- who may reach a dossier, and reading it --------------------------------------------------


async def admit(
    request: Request, actor: Actor, db: AsyncSession, code: str, *, reading: bool = False
) -> None:
    """Let through a party of dossier `code` (or, `reading`, anyone who may see it): an unknown
    dossier is a 404, anyone else a 403 logged as a security event (`refuse_stranger`)."""
    parties = await read_model.parties(db, code)
    if parties is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    if not (rules.may_see(actor, parties) if reading else rules.is_party(actor, parties)):
        raise refuse_stranger(request, actor, dossier=code)


async def document(db: AsyncSession, code: str) -> DossierDocument | None:
    """The dossier's document as the read model has it (None: no such dossier)."""
    found = await read_model.get_dossier(db, code)
    return document_of(*found) if found else None


async def read(request: Request, actor: Actor, db: AsyncSession, code: str) -> DossierDocument:
    """The dossier document with its timeline, for whoever may see it."""
    await admit(request, actor, db, code, reading=True)
    found = await document(db, code)
    if found is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    return found


async def list_visible(
    db: AsyncSession,
    actor: Actor,
    *,
    status: DossierStatus | None = None,
    lead_agency: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DossierPage:
    """Dossiers the caller may see, newest first; `overdue`: not closed and late or past their
    due date."""
    after = decode_cursor(cursor, tuple[AwareDatetime, StrictStr])
    rows = await read_model.list_dossiers(
        db,
        status=status.value if status else None,
        lead_agency=lead_agency,
        overdue=overdue,
        visible_to_agency=None if rules.sees_every_agency(actor) else actor.agency,
        now=datetime.now(UTC),
        limit=beyond(limit),
        after=after,
    )
    page = Page.of(rows, limit)
    items = [document_of(*found) for found in await read_model.with_timelines(db, page.rows)]
    last = page.last
    return DossierPage(
        items=items,
        next_cursor=encode_cursor([last.received_at.isoformat(), last.code]) if last else None,
    )


# --- actions ----------------------------------------------------------------------------------


async def act(
    services: Services,
    db: AsyncSession,
    code: str,
    action: Action,
    command: Command,
    idempotency_key: str | None = None,
) -> Any:
    """Take `action` on dossier `code` by its workflow's update; the caller was admitted
    (`admit`). A refusal is a `Problem` with the refusal's code, recorded by the workflow (or
    here, once the dossier is closed)."""
    if idempotency_key:
        request = fingerprint(command)
        scoped = f"{code}/{action.value}/{idempotency_key}"
        _refuse_reused(await claim_key(db, scoped, command.actor.user_id, code, request), request)
    await release_connection(db)
    try:
        return await execute(
            services.client,
            workflow_id(code),
            UPDATE_OF_ACTION[action],
            command,
            update_id(command.actor.user_id, f"{code}/{action.value}", idempotency_key),
            services.settings,
        )
    except WorkflowGone:
        await _refuse_on_closed(db, code, action, command)
    except Problem as refused:
        # Closed, but its workflow still sending the last notices: its validator turned the
        # update away without a trace, so it is recorded here, as for an ended workflow.
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
    db: AsyncSession, code: str, action: Action, command: Command
) -> NoReturn:
    """The workflow no longer runs: an unknown dossier is a 404; a closed one refuses every
    action, and the attempt is recorded in its timeline here (R9, R12)."""
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
