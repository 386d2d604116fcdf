"""The forms of Circular 01/2018 for a dossier, as A5 PDF: `GET
/api/v1/dossiers/{code}/forms/{01..05}.pdf`, to those who may read the dossier (the rule of
`GET /api/v1/dossiers/{code}`). What each form says is `domain.forms`; the layout is
`api.forms_pdf`; `service.forms` builds the answer, for the dossier page too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

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
    db: SessionDep,
) -> Response:
    """Form `form` of Circular 01/2018 for the dossier (lead agency staff, consulted agencies,
    Home Affairs, inspectors), built from the dossier as the read model holds it now."""
    return await form_response(request, actor, db, code, form)
