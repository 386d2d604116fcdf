"""Receiving a dossier at the desk (the lead agency's officer, or a one-stop desk's for any lead
agency, grouped by it: Decree 118/2025): the applicant and the procedure,
then the dossier's page with its receipt (form 01). The receipt is `service.dossiers.receive`,
the API's `POST /api/v1/dossiers`: the same rule decides who may receive what, and the code
comes from the unit's daily sequence."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import ServicesDep, SessionDep
from api.problems import Problem
from db import catalogue as catalogue_db
from domain.dossier import Procedure
from service import dossiers
from web.errors import FIELD_ERRORS, message_of
from web.i18n import N_
from web.render import flash, gettext, render
from web.session import CsrfChecked, PageActor

router = APIRouter(include_in_schema=False)

APPLICANT_FIELDS = ("name", "phone", "id_number", "email", "address")


async def _form(
    request: Request,
    actor: Any,
    db: Any,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    procedures = await dossiers.receivable_procedures(db, actor)
    # A one-stop desk receives for every lead agency (Decree 118/2025): grouped by it, by name.
    names = await catalogue_db.agency_names(db, {p.lead_agency for p in procedures})
    grouped: dict[str, list[Procedure]] = {}
    for procedure in procedures:
        grouped.setdefault(names.get(procedure.lead_agency, procedure.lead_agency), []).append(
            procedure
        )
    return render(
        request,
        "receipt.html",
        {
            "procedures": procedures,
            "groups": sorted(grouped.items()),
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal,
            "key": (values or {}).get("idempotency_key") or uuid.uuid4().hex,
        },
        status_code=status_code,
    )


@router.get("/receive")
async def receipt_form(request: Request, actor: PageActor, db: SessionDep) -> Response:
    return await _form(request, actor, db)


@router.post("/receive", dependencies=[CsrfChecked])
async def receive(
    request: Request, actor: PageActor, services: ServicesDep, db: SessionDep
) -> Response:
    _ = gettext(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    applicant = {k: values[k].strip() for k in APPLICANT_FIELDS if values.get(k, "").strip()}
    try:
        new = dossiers.NewDossier.model_validate(
            {"procedure_code": values.get("procedure_code", ""), "applicant": applicant}
        )
    except ValidationError as invalid:
        errors = {
            str(error["loc"][-1]): _(FIELD_ERRORS.get(error["type"], N_("Giá trị không hợp lệ.")))
            for error in invalid.errors()
        }
        return await _form(request, actor, db, values=values, errors=errors, status_code=422)
    try:
        document = await dossiers.receive(
            services, db, actor, new, values.get("idempotency_key") or None
        )
    except Problem as refused:
        if refused.status >= 500:
            raise
        return await _form(
            request,
            actor,
            db,
            values=values,
            refusal=message_of(request, refused),
            status_code=refused.status,
        )
    flash(
        request,
        "ok",
        _(
            "Đã tiếp nhận hồ sơ {code}. In Giấy tiếp nhận và hẹn trả kết quả (mẫu 01) cho người "
            "nộp."
        ).format(code=document.code),
    )
    return RedirectResponse(f"/dossiers/{document.code}", status_code=303)
