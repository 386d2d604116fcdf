"""Read-model rows as the documents of API.md: the same `DossierDocument` the workflow returns
from its updates, so a GET after a POST shows the very shape the POST answered."""

from __future__ import annotations

from collections.abc import Sequence

from db.models import AgencyRecord, ConsultationRecord, DossierRecord, EventRecord, ProcedureRecord
from domain.catalogue import Agency
from domain.dossier import (
    Applicant,
    ConsultationView,
    DossierDocument,
    DossierStatus,
    Event,
    Procedure,
    Reminder,
)
from domain.limits import AS_RECORDED  # rows hold what was accepted, perhaps before the limits
from domain.national_status import national_status


def desk_apart(dossier: DossierRecord) -> str | None:
    """The desk that received the dossier when it is not its lead agency (the document's
    `receiving_desk`); None when the lead agency received it itself."""
    desk = dossier.receiving_desk
    return None if desk is None or desk == dossier.lead_agency else desk


def document_of(
    dossier: DossierRecord,
    consultations: Sequence[ConsultationRecord],
    events: Sequence[EventRecord],
) -> DossierDocument:
    status = DossierStatus(dossier.status)
    return DossierDocument(
        code=dossier.code,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        lead_agency=dossier.lead_agency,
        receiving_desk=desk_apart(dossier),
        applicant=Applicant.model_validate(dossier.applicant, context=AS_RECORDED),
        status=status,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        completed_at=dossier.completed_at,
        closed_at=dossier.closed_at,
        late=dossier.late,
        national_status=national_status(status.value),
        consultations=[
            ConsultationView(
                number=c.number,
                agency=c.agency,
                content=c.content,
                deadline=c.deadline,
                status=c.status,
                requested_at=c.requested_at,
                replied_at=c.replied_at,
                opinion=c.opinion,
                late_reason=c.late_reason,
                reminders=[Reminder.model_validate(r) for r in c.reminders],
            )
            for c in sorted(consultations, key=lambda c: c.number)
        ],
        withdrawal=dossier.withdrawal,  # type: ignore[arg-type]
        people=dossier.people,
        events=[
            Event(seq=e.seq, at=e.at, kind=e.kind, actor=e.actor, detail=e.detail)
            for e in sorted(events, key=lambda e: (e.at, e.seq))
        ],
    )


def procedure_of(record: ProcedureRecord) -> Procedure:
    return Procedure.model_validate(record, from_attributes=True, context=AS_RECORDED)


def agency_of(record: AgencyRecord) -> Agency:
    return Agency.model_validate(record, from_attributes=True, context=AS_RECORDED)
