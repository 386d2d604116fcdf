"""The forms of Circular 03/2025/TT-VPCP for a dossier as A5 PDF, for those who may read the
dossier (the rule of `GET /api/v1/dossiers/{code}`): the API's form route and the dossier page's
both answer with this. What each form says is `domain.forms`; the layout is `api.forms_pdf`."""

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
from domain.forms import FormNotApplicable, NoSuchStop, build_form
from domain.legal_frame import TRACKING_BOOK, FormNumber
from service import dossiers


async def form_response(
    request: Request,
    actor: Actor,
    db: AsyncSession,
    code: str,
    form: str,
    stop: int | None = None,
) -> Response:
    """Form `form` (01..06) of dossier `code`, built from the dossier as the read model holds it
    now; for form 05, the notice of accepted stop `stop` (1 the first, the latest by default).
    `not_found` for another number (07, the tracking book, is not a form of one dossier) or a
    stop the dossier does not have; `form_not_applicable` (409) when the form has nothing to say
    about this dossier."""
    try:
        number = FormNumber(form)
    except ValueError:
        why = (
            "form 07, the tracking book, is the desk's register of all its dossiers"
            if form == TRACKING_BOOK
            else "the forms of a dossier are 01 to 06"
        )
        raise Problem("not_found", f"no form {form}: {why}") from None
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
            stop=stop,
        )
    except NoSuchStop as missing:
        raise Problem("not_found", str(missing), stops=missing.stops) from None
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
    suffix = f"-lan-{stop}" if stop is not None and number is FormNumber.STOP_NOTICE else ""
    return Response(
        pdf,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{code}-mau-{number.value}{suffix}.pdf"',
            "Cache-Control": "private, no-store",  # personal data of the applicant
        },
    )
