"""The forms of Circular 03/2025/TT-VPCP for a dossier, as A5 PDF: `GET
/api/v1/dossiers/{code}/forms/{01..06}.pdf` (form 05 per stop: `?stop=<n>`), to those who may
read the dossier (the rule of `GET /api/v1/dossiers/{code}`). What each form says is
`domain.forms`; the layout is `api.forms_pdf`; `service.forms` builds the answer, for the dossier
page too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import ActorDep, SessionDep
from api.forms_pdf import MEDIA_TYPE
from api.problems import MEDIA_TYPE as PROBLEM
from api.routes.dossiers import DossierCode
from service.forms import form_response

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
        404: _problem(
            "`dossier_not_found`; `not_found` for a form other than 01..06 (07, the tracking "
            "book, is a register of all dossiers) or a `stop` the dossier does not have"
        ),
        409: _problem(
            "`form_not_applicable`: the form has nothing to say about this dossier (02 without a "
            "supplement request, 03 for a dossier not returned, 04 without an apology, 05 "
            "without an accepted stop)"
        ),
    },
)
async def dossier_form(
    request: Request,
    code: DossierCode,
    form: Annotated[
        str,
        Path(
            description="Circular 03/2025/TT-VPCP, Appendix I: 01 receipt and appointment, "
            "02 supplement request, 03 refusal, 04 apology with a request to extend the time, "
            "05 notice that processing is stopped, 06 process control slip",
            examples=["01"],
        ),
    ],
    actor: ActorDep,
    db: SessionDep,
    stop: Annotated[
        int | None,
        Query(ge=1, description="form 05: which accepted stop, 1 the first (default: the latest)"),
    ] = None,
) -> Response:
    """Form `form` of Circular 03/2025/TT-VPCP for the dossier (lead agency staff, consulted
    agencies, Home Affairs, inspectors), built from the dossier as the read model holds it now;
    a dossier received before 1 July 2025 prints the numbers and basis of Circular 01/2018."""
    return await form_response(request, actor, db, code, form, stop)
