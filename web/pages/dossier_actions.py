"""Every action on a dossier from a page's form (issue 9), the contract other pages post to:

    POST /dossiers/{code}/actions/{action}      {action}: a `domain.commands.Action` value

Form fields are named as the fields of the action's JSON body (`service.dossiers.BODY_OF_ACTION`;
a list as repeated fields; a deadline as `datetime-local` and a date as `date`, in Vietnam's
time), plus `csrf_token`, an `idempotency_key` put in the form when it was rendered (a double
submit is one action), an optional `return_to` (a path of this site; default the dossier page)
and, for a reply, an optional `agency` (default the caller's).

A stranger to the dossier is refused 403 before anything is read (`service.dossiers.admit`).
The action goes through `service.dossiers.act`, so a refusal is recorded exactly as through the
API; a form the body's model refuses (limits, a missing choice) is recorded as the API records
an unreadable request (`api.invalid_requests.record_invalid_attempt`). Then 303 to `return_to`
with a message: done, or the refusal's Vietnamese message with its facts (the agencies awaited
by name, with their deadlines), and what was typed kept for the form to be filled again.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api.deps import ServicesDep, SessionDep
from api.invalid_requests import record_invalid_attempt
from api.problems import Problem, problem_of_errors
from db import catalogue as catalogue_db
from domain.commands import Action, Actor, Reply
from domain.localtime import VN, when
from service import dossiers
from web.errors import FIELD_ERRORS, message_of
from web.i18n import N_
from web.pages.dossier import DossierCode
from web.render import flash, gettext
from web.session import CsrfChecked, PageActor, local_path

router = APIRouter(include_in_schema=False)

# What was typed is kept in the session cookie to fill the form again: at most this much (the
# cookie holds 4 KB in all); a longer text is cut there, said so in the message.
REFILL_MAX_CHARS = 1200
ENVELOPE_FIELDS = frozenset({"csrf_token", "idempotency_key", "return_to", "agency"})

DONE: dict[Action, str] = {
    Action.CONSULT: N_("Đã gửi yêu cầu xin ý kiến."),
    Action.REPLY: N_("Đã gửi ý kiến trả lời."),
    Action.SOS: N_("Đã thực hiện thao tác SOS."),
    Action.SUPPLEMENT: N_("Đã ghi nhận hồ sơ bổ sung; thời hạn được tính lại từ đầu."),
    Action.RESUME: N_("Đã tiếp tục xử lý hồ sơ."),
    Action.APOLOGY: N_("Đã ghi văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết."),
    Action.WITHDRAWAL: N_("Đã ghi nhận đơn rút hồ sơ; chờ thủ trưởng xác nhận."),
    Action.CONFIRM_WITHDRAWAL: N_("Đã xác nhận rút hồ sơ."),
    Action.RESULT: N_("Đã ghi kết quả giải quyết."),
    Action.HANDOVER: N_("Đã trả kết quả; hồ sơ hoàn thành."),
}


def _is_list(annotation: Any) -> bool:
    """Whether a body field holds a list (sent as repeated form fields)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))
    return origin is list or annotation is list


def _is_instant(annotation: Any) -> bool:
    return "datetime" in str(annotation).lower()


def body_fields(form: FormData, body: type[BaseModel]) -> dict[str, Any]:
    """The body's fields as the form sent them: a list from repeated fields (blank ones left
    out), an empty text as not sent, a `datetime-local` as Vietnam's time."""
    data: dict[str, Any] = {}
    for name, info in body.model_fields.items():
        if _is_list(info.annotation):
            values = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
            if values or name in form:
                data[name] = values
            continue
        value = form.get(name)
        if not isinstance(value, str) or value == "":
            continue
        if _is_instant(info.annotation):
            try:
                local = datetime.fromisoformat(value)
            except ValueError:
                data[name] = value  # refused by the model, recorded as sent
                continue
            data[name] = local if local.tzinfo else local.replace(tzinfo=VN)
        else:
            data[name] = value
    return data


def _kept(form: FormData) -> dict[str, Any]:
    """What was typed, to fill the form again, within the cookie's room."""
    kept: dict[str, Any] = {}
    room = REFILL_MAX_CHARS
    for name in dict.fromkeys(form.keys()):
        if name in ENVELOPE_FIELDS:
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        cut = [v[: max(room, 0)] for v in values]
        room -= sum(len(v) for v in cut)
        kept[name] = cut if len(cut) != 1 else cut[0]
    return kept


def _facts(problem: Problem, agency_names: dict[str, str], _: Any) -> list[str]:
    """The refusal's facts for people: the agencies awaited with their deadlines (R4, R5), the
    latest deadline allowed (R2), the documents outside the procedure's list (R10)."""
    facts = problem.extensions
    lines: list[str] = []
    for awaited in facts.get("awaiting") or []:
        if not isinstance(awaited, dict):
            continue
        deadline = _instant(awaited.get("deadline"))
        line = _("Đang chờ ý kiến {agency}: hạn {deadline}").format(
            agency=agency_names.get(str(awaited.get("agency")), str(awaited.get("agency"))),
            deadline=when(deadline) if deadline else "—",
        )
        if awaited.get("overdue"):
            line += " " + _("(đã quá hạn)")
        lines.append(line)
    if (maximum := _instant(facts.get("maximum"))) is not None:
        lines.append(_("Hạn trả lời muộn nhất: {maximum}").format(maximum=when(maximum)))
    for document in facts.get("documents") or []:
        lines.append(_("Không thuộc thành phần hồ sơ: {document}").format(document=document))
    return lines


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@router.post("/dossiers/{code}/actions/{action}", dependencies=[CsrfChecked])
async def take_action(
    request: Request,
    code: DossierCode,
    action: Annotated[str, Path(max_length=40)],
    actor: PageActor,
    services: ServicesDep,
    db: SessionDep,
) -> Response:
    await dossiers.admit(request, actor, db, code)  # a stranger: 403 before anything else
    try:
        chosen = Action(action)
    except ValueError:
        raise Problem("not_found", f"no action {action}") from None
    _ = gettext(request)
    form = await request.form()
    back = local_path(_text(form.get("return_to")), f"/dossiers/{code}")
    key = _text(form.get("idempotency_key"))[:200] or None
    body_model = dossiers.BODY_OF_ACTION[chosen]
    sent = body_fields(form, body_model)
    try:
        body = body_model.model_validate(sent)
    except ValidationError as invalid:
        located = [{**e, "loc": ("body", *e["loc"])} for e in invalid.errors()]
        problem, said = problem_of_errors(located)
        await record_invalid_attempt(
            services, actor, code, chosen, problem.code, said, json.dumps(sent, default=str)
        )
        fields = {
            str(e["loc"][0]): _(FIELD_ERRORS.get(e["type"], N_("Giá trị không hợp lệ.")))
            for e in invalid.errors()
            if e["loc"]
        }
        _keep(request, code, chosen, form, fields)
        flash(request, "error", message_of(request, problem), details=_field_lines(fields, _))
        return RedirectResponse(back, status_code=303)
    command = _command(chosen, actor, body, _text(form.get("agency")))
    try:
        await dossiers.act(services, db, code, chosen, command, key)
    except Problem as refused:
        async with services.sessions() as names_db:  # the action released its connection
            names = await catalogue_db.agency_names(
                names_db, [str(a.get("agency")) for a in refused.extensions.get("awaiting") or []]
            )
        _keep(request, code, chosen, form, {})
        flash(
            request,
            "error",
            message_of(request, refused),
            details=_facts(refused, names, _),
            code=refused.code,
        )
        return RedirectResponse(back, status_code=303)
    flash(request, "ok", _(DONE[chosen]), details=[])
    return RedirectResponse(back, status_code=303)


def _command(action: Action, actor: Actor, body: BaseModel, agency: str) -> Any:
    fields = body.model_dump()
    if action is Action.REPLY:
        return Reply(actor=actor, agency=agency or actor.agency, **fields)
    return dossiers.COMMAND_OF_ACTION[action](actor=actor, **fields)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _keep(
    request: Request, code: str, action: Action, form: FormData, errors: dict[str, str]
) -> None:
    request.session["refill"] = {
        "dossier": code,
        "action": action.value,
        "values": _kept(form),
        "errors": errors,
    }


def _field_lines(fields: dict[str, str], _: Any) -> list[str]:
    return [
        _("Ô “{field}”: {error}").format(field=name, error=error) for name, error in fields.items()
    ]
