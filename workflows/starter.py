"""Starting a dossier's workflow: its id, and what ops staff see in the Web UI from the first
second (summary, details, search attributes). The API, tests and tools all start dossiers here."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from domain.dossier import DossierDocument
from domain.localtime import when_zoned
from workflows import search_attributes as sa
from workflows.dossier import WORKFLOW_NAME, DossierStart, DossierWorkflow
from workflows.ops_view import static_summary

WORKFLOW_ID_PREFIX = "dossier-"


def workflow_id(code: str) -> str:
    """The id of dossier `code`'s workflow."""
    return f"{WORKFLOW_ID_PREFIX}{code}"


def dossier_code(workflow_id: str) -> str | None:
    """The code of the dossier whose workflow this is; None for another workflow's id."""
    code = workflow_id.removeprefix(WORKFLOW_ID_PREFIX)
    return code if code != workflow_id and code else None


def dossier_runs(task_queue: str) -> str:
    """The visibility query of the dossier runs of `task_queue`, for callers to add to with
    `AND`."""
    return f"WorkflowType = '{WORKFLOW_NAME}' AND TaskQueue = '{task_queue}'"


def visibility_time(at: datetime) -> str:
    """`at` as visibility queries compare times (`CloseTime > '…'`): UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dossier_page_url(pages_url: str, code: str) -> str:
    return f"{pages_url.rstrip('/')}/dossiers/{quote(code, safe='')}"


async def start_dossier(
    client: Client, start: DossierStart, *, task_queue: str, pages_url: str | None = None
) -> tuple[WorkflowHandle[DossierWorkflow, DossierDocument], DossierDocument]:
    """Start the dossier's workflow and return it with the dossier as received, due date
    included (update-with-start: one round trip, and read-your-writes for the creator). A second
    start with the same code fails with `WorkflowAlreadyStartedError`, even after the first has
    closed: dossier codes are never reused. With `pages_url`, the Web UI's details link to the
    dossier's page there (start options, not workflow logic: replay is untouched)."""
    procedure = start.procedure
    page = (
        f"\n- Dossier page: [{start.code}]({dossier_page_url(pages_url, start.code)})"
        if pages_url
        else ""
    )
    operation = WithStartWorkflowOperation(
        DossierWorkflow.run,
        start,
        id=workflow_id(start.code),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=static_summary(start.code, procedure.name),
        static_details=(
            f"**{start.code}** · {procedure.name}\n\n"
            f"- Procedure: `{procedure.code}`, {procedure.processing_days} working days; "
            f"consultations at most {procedure.max_consultation_days} working days (R2)\n"
            f"- Lead agency: **{procedure.lead_agency}**\n"
            f"- Received: {when_zoned(start.received_at)} by `{start.received_by.user_id}`"
            f"{page}"
        ),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.DOSSIER_STATUS, "processing"),
                SearchAttributePair(sa.LEAD_AGENCY, procedure.lead_agency),
                SearchAttributePair(sa.PROCEDURE, procedure.code),
                SearchAttributePair(sa.LATE, False),
            ]
        ),
    )
    document: DossierDocument = await client.execute_update_with_start_workflow(
        DossierWorkflow.receipt,  # type: ignore[arg-type]  # the SDK overloads miss no-arg updates
        start_workflow_operation=operation,
    )
    return await operation.workflow_handle(), document
