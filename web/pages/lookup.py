"""The citizens' look-up page: a dossier by its code and the applicant's phone, no sign-in. Form
01's QR code leads here with the code filled in (`/lookup?code=`), so the form is a GET.

What is shown, how a code and a phone are matched and how often one may try are
`service.public`'s, as for `GET /public/v1/dossiers/{code}/progress`: the page shows that and
nothing more. A wrong code and a wrong phone read alike; too many tries is a page with the wait."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, client_address
from api.problems import Problem
from domain.dossier import DossierStatus
from service import public
from web.render import render

router = APIRouter(include_in_schema=False)

# The status's badge (its colour; the status's words always go with it).
BADGE_OF_STATUS = {
    DossierStatus.PROCESSING: "in_time",
    DossierStatus.CONSULTING: "in_time",
    DossierStatus.AWAITING_SUPPLEMENT: "due_soon",
    DossierStatus.STOPPED: "stopped",
    DossierStatus.RESULT_READY: "ok",
    DossierStatus.COMPLETED: "ok",
    DossierStatus.RETURNED: "neutral",
    DossierStatus.WITHDRAWN: "neutral",
}


@router.get("/lookup")
async def lookup(
    request: Request,
    services: ServicesDep,
    db: SessionDep,
    code: Annotated[str, Query(max_length=64)] = "",
    phone: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    code, phone = code.strip(), phone.strip()
    context: dict[str, Any] = {"code": code, "phone": phone, "dossier": None, "refusal": None}
    if not (code and phone):  # the empty form, or the code from the QR code awaiting the phone
        return render(request, "lookup.html", context)
    try:
        found = await public.find(db, services.lookup_limits, client_address(request), code, phone)
        dossier = await public.progress(db, found)
    except Problem as problem:
        if problem.code not in ("dossier_not_found", "rate_limited"):
            raise
        problem.count()
        wait = int((problem.headers or {}).get("Retry-After", "0"))
        context |= {"refusal": problem.code, "wait": wait}
        return render(
            request, "lookup.html", context, status_code=problem.status, headers=problem.headers
        )
    context |= {"dossier": dossier, "badge": BADGE_OF_STATUS[dossier.status]}
    return render(request, "lookup.html", context)
