"""What DossierWorkflow takes and answers: its input (the dossier as received, or its state
carried through continue-as-new) and the answers of the updates that do not answer with the
dossier's document.

Apart from the workflow's module because the sandbox runs that module afresh for every new run
(and every replay): a pydantic model defined there is built again each time, its schema with it.
Passed through the sandbox (`worker.PASSTHROUGH`), these are built once per process.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel

from domain.commands import Actor
from domain.dossier import Applicant, ConsultationView, Dossier, Procedure
from domain.notices import Notice
from domain.projection import ReadModelFailure


class DossierStart(BaseModel):
    """The workflow's input: the dossier as received, or its whole state carried through
    continue-as-new."""

    # Decoded as recorded (workflows.converter): a state accepted under older limits carries on.
    LIMITS_AS_RECORDED: ClassVar[bool] = True

    code: str
    procedure: Procedure
    applicant: Applicant
    home_affairs_agency: str  # the catalogue's home-affairs agency, copied on reminder 2 (R3)
    received_at: datetime
    received_by: Actor
    # The one-stop desk that received it for the lead agency (issue 10); None: the lead agency
    # itself, as in every history recorded before. State only: no command depends on it.
    receiving_desk: str | None = None
    carried: Dossier | None = None
    projected_through: int = 0  # carried too: the last event seq the read model has
    portal_status: int | None = None  # carried too: the national status last pushed
    # carried too (v6): events the read model has in an older form (refusals counted again),
    # notices not in the outbox yet, and the read-model write failing since
    revised: list[int] = []
    unsettled: list[Notice] = []
    read_model_failure: ReadModelFailure | None = None


class ConsultationsRequested(BaseModel):
    # recorded state, not new input: read without today's limits
    LIMITS_AS_RECORDED: ClassVar[bool] = True
    consultations: list[ConsultationView]


class WithdrawalPending(BaseModel):
    withdrawal: Literal["pending_confirmation"] = "pending_confirmation"
