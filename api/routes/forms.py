"""The forms of Circular 01/2018 for a dossier, as A5 PDF: `GET
/api/v1/dossiers/{code}/forms/{01..05}.pdf`, to those who may read the dossier (the rule of
`GET /api/v1/dossiers/{code}`). What each form says is `domain.forms`; the layout is
`api.forms_pdf`; this handler reads the dossier and the catalogue and translates refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, ServicesDep, SessionDep
from api.forms_pdf import MEDIA_TYPE, render_pdf
from api.problems import MEDIA_TYPE as PROBLEM
from api.problems import Problem
from api.routes.dossiers import DossierCode, admit_caller
from api.views import document_of
from db import catalogue as catalogue_db
from db import read_model
from domain.forms import FormNotApplicable, FormNumber, build_form

router = APIRouter(prefix="/api/v1/dossiers", tags=["forms"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {}}}


@router.get(
    "/{code}/forms/{form}.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "the form as an A5 PDF document",
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        403: _problem("`forbidden`: the dossier is not the caller's agency's"),
        404: _problem("`dossier_not_found`; `not_found` for a form other than 01..05"),
        409: _problem(
            "`form_not_applicable`: the form has nothing to say about this dossier (02 without a "
            "supplement request, 03 for a dossier not returned, 04 without an apology)"
        ),
    },
)
async def dossier_form(
    request: Request,
    code: DossierCode,
    form: Annotated[
        str,
        Path(
            description="01 receipt and appointment, 02 supplement request, 03 refusal, "
            "04 apology and new date, 05 process control slip",
            examples=["01"],
        ),
    ],
    actor: ActorDep,
    services: ServicesDep,
    db: SessionDep,
) -> Response:
    """Form `form` of Circular 01/2018 for the dossier (lead agency staff, consulted agencies,
    Home Affairs, inspectors), built from the dossier as the read model holds it now."""
    try:
        number = FormNumber(form)
    except ValueError:
        raise Problem("not_found", f"no form {form}: the forms are 01 to 05") from None
    await admit_caller(request, actor, db, code, reading=True)
    found = await read_model.get_dossier(db, code)
    if found is None:
        raise Problem("dossier_not_found", f"no dossier {code}")
    document = document_of(*found)
    procedure = await catalogue_db.get_procedure(db, document.procedure_code)
    names = await catalogue_db.agency_names(
        db, [document.lead_agency, *(c.agency for c in document.consultations)]
    )
    try:
        content = build_form(
            number,
            document,
            required_documents=procedure.required_documents if procedure else [],
            agency_names=names,
            pages_url=services.settings.pages_address,
            now=datetime.now(UTC),
        )
    except FormNotApplicable as refusal:
        raise Problem(
            "form_not_applicable",
            refusal.message_en,
            status=409,
            title="The form does not apply to this dossier",
            detail_vi=refusal.message_vi,
            form=number.value,
            dossier_status=document.status.value,
        ) from None
    pdf = await run_in_threadpool(render_pdf, content)
    return Response(
        pdf,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{code}-mau-{number.value}.pdf"',
            "Cache-Control": "private, no-store",  # personal data of the applicant
        },
    )
