"""Dossiers as a citizen finds them, made through the API as the officers would make them."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from domain.localtime import VN
from settings import Settings
from sources.calendar import CalendarSource
from tests.api.http_helpers import act, consult, receive, reply, when
from tests.fixtures.api import APPLICANT, Api

CALENDAR = CalendarSource(Settings().calendar_overrides).calendar()  # the API fixture's
PHONE = APPLICANT["phone"]
DOCUMENT = "Đơn đề nghị cấp giấy phép xây dựng"  # one of DN-XD-001's required documents
SUPPLEMENT = {
    "action": "supplement",
    "reason": "Thiếu đơn có chữ ký",
    "missing_documents": [DOCUMENT],
}
APOLOGY_REASON = "Chờ kết quả thẩm định thiết kế"


async def accepted(response: httpx.Response) -> None:
    assert response.status_code in (200, 201), response.text


async def awaiting_supplement(api: Api) -> str:
    """A dossier SNNMT was consulted on (and answered), now awaiting the applicant's document."""
    code = (await receive(api))["code"]
    await consult(api, code, "SNNMT")
    await reply(api, code, "SNNMT", "snnmt.officer")
    await accepted(await act(api, code, "sos", SUPPLEMENT))
    return code


async def supplemented_and_apologised(api: Api) -> tuple[str, date]:
    """A dossier whose supplement came, then whose lead agency apologised with a new date."""
    code = await awaiting_supplement(api)
    delivered = await act(api, code, "supplement", {"documents": [DOCUMENT]})
    await accepted(delivered)
    new_date = when(delivered.json()["due_at"]).astimezone(VN).date() + timedelta(days=14)
    while not CALENDAR.is_working_day(new_date):
        new_date += timedelta(days=1)
    body = {"reason": APOLOGY_REASON, "new_due_date": new_date.isoformat()}
    await accepted(await act(api, code, "apology", body))
    return code, new_date
