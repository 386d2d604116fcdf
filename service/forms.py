"""The forms of Circular 01/2018 for a dossier as A5 PDF, for those who may read the dossier (the
rule of `GET /api/v1/dossiers/{code}`): the API's form route and the dossier page's both answer
with this. What each form says is `domain.forms`; the layout is `api.forms_pdf`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Response
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.forms_pdf import MEDIA_TYPE, render_pdf
from api.problems import Problem
from db import catalogue as catalogue_db
from domain.commands import Actor
from domain.forms import FormNotApplicable, FormNumber, build_form
from service import dossiers


async def form_response(
    request: Request, actor: Actor, db: AsyncSession, code: str, form: str
) -> Response:
    """Form `form` (01..05) of dossier `code`, built from the dossier as the read model holds it
    now; `not_found` for another number, `form_not_applicable` (409) when the form has nothing
    to say about this dossier."""
    try:
        number = FormNumber(form)
    except ValueError:
        raise Problem("not_found", f"no form {form}: the forms are 01 to 05") from None
    document = await dossiers.read(request, actor, db, code)
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
            pages_url=request.app.state.services.settings.pages_address,  # form 01's QR code
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
