"""What the dossier page shows, for whoever may see the dossier (issue 9): the dossier as the API
reads it (`service.dossiers.read`: same 403 and 404), the names of its agencies and people, the
working days left on the calendar the service uses, its clock drawn (`domain.clock_bar`), and
the actions the caller may take now (`rules.actions_open_to`) with what each needs: the
agencies that may be consulted and the latest deadline allowed (R2), the caller's own
consultation to answer (R7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from api.views import procedure_of
from db import catalogue as catalogue_db
from db.read_model import search_key
from domain import rules
from domain.catalogue import AgencyKind
from domain.clock import ClockReading, apology_deadline
from domain.clock_bar import ClockBar, clock_bar
from domain.commands import Action, Actor
from domain.dossier import (
    ConsultationView,
    DossierDocument,
    DossierStatus,
    Procedure,
    state_of_document,
)
from domain.urgency import Calendar, urgency_of, working_days_left
from service import dossiers
from workflows.starter import workflow_id

if TYPE_CHECKING:
    from api.app import Services

# The catalogue's agencies, all of them (the merged Đồng Nai has about 130, 95 of them the
# communes' and wards' committees).
AGENCIES_LISTED = 500


@dataclass(frozen=True)
class AgencyGroup:
    """Agencies offered together in a picker, by name: a `<fieldset>` the page names by `kind`
    (provincial, wards, communes, others); a long one `collapsed` in a `<details>`, so the form
    stays short and one opens the group wanted, without JavaScript."""

    kind: str
    agencies: list[tuple[str, str]]  # (code, name)
    collapsed: bool = False


# The consultation picker's groups: the provincial bodies first, then the wards' and the
# communes' committees (since 1 July 2025, Resolution 202/2025/QH15), then any other kind.
_PICKER_GROUPS: list[tuple[str, frozenset[str], bool]] = [
    (
        "provincial",
        frozenset(
            {
                AgencyKind.DEPARTMENT,
                AgencyKind.HOME_AFFAIRS,
                AgencyKind.PPC_OFFICE,
                AgencyKind.PUBLIC_ADMIN_CENTER,
            }
        ),
        False,
    ),
    ("wards", frozenset({AgencyKind.WARD}), True),
    ("communes", frozenset({AgencyKind.COMMUNE}), True),
    ("others", frozenset(), False),
]


def grouped_by_kind(agencies: Iterable[tuple[str, str, str]]) -> list[AgencyGroup]:
    """(code, name, kind) as the picker's groups, each by name as one reads it (diacritics
    aside, so Đ sorts with D), empty groups left out."""
    found: dict[str, list[tuple[str, str]]] = {}
    for code, name, kind in sorted(agencies, key=lambda a: search_key(a[1])):
        group = next((g for g, kinds, _ in _PICKER_GROUPS if kind in kinds), "others")
        found.setdefault(group, []).append((code, name))
    return [AgencyGroup(g, found[g], folded) for g, _, folded in _PICKER_GROUPS if g in found]


@dataclass(frozen=True)
class DossierView:
    document: DossierDocument
    procedure: Procedure
    agency_names: dict[str, str]
    offers: list[rules.Offer]
    # Working days before the due date (positive) or past it (negative), 0 on the due day;
    # None without a due date (the clock waits for a supplement).
    working_days_left: int | None
    urgency: str  # late | due_today | due_soon | in_time | stopped: a badge, with its word
    clock: ClockBar
    consultable: list[AgencyGroup]  # the agencies that may be consulted, by kind
    consult_maximum: datetime  # R2: the latest reply deadline a consultation asked now may set
    my_consultation: ConsultationView | None  # the caller's agency's, open: its reply form
    reply_late: bool  # R7: that consultation's deadline has passed: the cause is required
    web_ui_url: str
    now: datetime

    def offer(self, action: Action) -> list[rules.Offer]:
        return [o for o in self.offers if o.action is action]

    def name(self, agency: str) -> str:
        return self.agency_names.get(agency, agency)

    def person(self, user_id: str) -> str:
        return self.document.people.get(user_id, user_id)


async def dossier_view(
    services: Services, request: Request, actor: Actor, db: AsyncSession, code: str, now: datetime
) -> DossierView:
    document = await dossiers.read(request, actor, db, code)
    record = await catalogue_db.get_procedure(db, document.procedure_code)
    procedure = (
        procedure_of(record)
        if record
        else Procedure(
            code=document.procedure_code,
            name=document.procedure_name,
            lead_agency=document.lead_agency,
            processing_days=0,
            max_consultation_days=0,
        )
    )
    calendar = services.calendar.calendar()
    due = document.due_at
    reading = ClockReading(
        due_at=due,
        running=document.status is not DossierStatus.STOPPED and due is not None,
        apology_deadline=apology_deadline(due, calendar) if due else None,
    )
    state = state_of_document(document, procedure, reading)
    offers = [] if document.closed_at else rules.actions_open_to(actor, state, now)
    agencies = await catalogue_db.list_agencies(db, limit=AGENCIES_LISTED)
    names = {a.code: a.name for a in agencies}
    mine = state.open_consultation(actor.agency)
    left = working_days_left(due, now, calendar) if due is not None else None
    settings = services.settings
    return DossierView(
        document=document,
        procedure=procedure,
        agency_names=names,
        offers=offers,
        working_days_left=left,
        urgency=_urgency(document, now, calendar),
        clock=clock_bar(
            document.received_at, due, document.events, now, calendar, document.closed_at
        ),
        # Those `rules.decide_consultation` would take: not the lead, not one that no longer
        # exists (`agency_inactive`), none already awaited.
        consultable=grouped_by_kind(
            (a.code, a.name, a.kind)
            for a in agencies
            if a.code != document.lead_agency
            and a.active
            and state.open_consultation(a.code) is None
        ),
        consult_maximum=rules.consultation_maximum(calendar, now, procedure.max_consultation_days),
        my_consultation=next(
            (c for c in document.consultations if mine and c.number == mine.number), None
        ),
        reply_late=mine is not None and now > mine.deadline,
        web_ui_url=(
            f"{settings.web_ui_url}/namespaces/{settings.temporal_namespace}"
            f"/workflows/{workflow_id(code)}"
        ),
        now=now,
    )


def _urgency(document: DossierDocument, now: datetime, calendar: Calendar) -> str:
    """The header's badge: the officers' inbox's group (`domain.urgency`) while the clock runs."""
    if document.closed_at is not None:
        return "neutral"
    if document.status in (DossierStatus.STOPPED, DossierStatus.AWAITING_SUPPLEMENT):
        return "stopped"
    return urgency_of(document.due_at, now, calendar, late=document.late).value
