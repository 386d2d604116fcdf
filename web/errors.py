"""Errors on the pages: the same problems the API answers (same codes, same statuses), shown as a
page in the reader's language instead of a JSON document. Which answers are pages is decided by
the path: everything but the API's own prefixes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import Problem
from web.i18n import N_
from web.render import gettext, render
from web.session import SignInRequired, sign_in_address

# Paths answered by the API (JSON, problem documents) rather than by pages.
API_PREFIXES = ("/api/", "/public/", "/openapi.json", "/docs", "/healthz", "/readyz")

# The API's own codes, for people (refusals of the rules carry their own `detail_vi`).
MESSAGES: dict[str, str] = {
    "forbidden": N_("Bạn không có quyền xem hoặc làm việc này."),
    "unauthenticated": N_("Vui lòng đăng nhập."),
    "not_found": N_("Không có trang này."),
    "method_not_allowed": N_("Trang này không nhận thao tác đó."),
    "dossier_not_found": N_("Không có hồ sơ với mã này."),
    "validation_error": N_("Thông tin gửi lên chưa đúng; vui lòng kiểm tra lại các ô đã nhập."),
    "malformed_json": N_("Thông tin gửi lên không đọc được."),
    "text_too_long": N_("Một ô nhập dài quá mức cho phép."),
    "forbidden_character": N_("Một ô nhập có ký tự không được phép."),
    "too_many_items": N_("Chọn quá nhiều mục."),
    "number_out_of_range": N_("Một số nằm ngoài khoảng cho phép."),
    "payload_too_large": N_("Nội dung gửi lên quá lớn."),
    "csrf_failed": N_(
        "Biểu mẫu đã hết hạn hoặc không gửi từ trang của hệ thống. Vui lòng tải lại trang và "
        "thử lại."
    ),
    "rate_limited": N_("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút."),
    "workflow_busy": N_("Hồ sơ đang được xử lý thao tác khác; vui lòng thử lại sau giây lát."),
    "workflow_unavailable": N_(
        "Hệ thống chưa nhận được thao tác; chưa có gì thay đổi. Vui lòng thử lại sau."
    ),
    "outcome_pending": N_(
        "Thao tác đã được nhận nhưng chưa có kết quả; vui lòng tải lại trang sau ít giây."
    ),
    "temporal_unavailable": N_("Hệ thống xử lý hồ sơ tạm thời không truy cập được."),
    "database_unavailable": N_("Cơ sở dữ liệu tạm thời không truy cập được."),
    "auth_unavailable": N_("Hệ thống xác thực tạm thời không truy cập được."),
    "calendar_not_synced": N_(
        "Lịch ngày làm việc chưa có trong cơ sở dữ liệu; người vận hành cần chạy "
        "python -m db.migrate."
    ),
    "invalid_period": N_("Khoảng thời gian báo cáo không hợp lệ."),
    "invalid_cursor": N_("Liên kết trang không hợp lệ."),
    "internal_error": N_("Đã có lỗi ngoài dự kiến; vui lòng thử lại."),
}


# A field's error, for people (pydantic's error type → message).
FIELD_ERRORS: dict[str, str] = {
    "missing": N_("Bắt buộc nhập."),
    "text_too_long": N_("Dài quá mức cho phép."),
    "string_too_long": N_("Dài quá mức cho phép."),
    "forbidden_character": N_("Có ký tự không được phép."),
    "too_many_items": N_("Chọn quá nhiều mục."),
    "number_out_of_range": N_("Số nằm ngoài khoảng cho phép."),
    "literal_error": N_("Lựa chọn không hợp lệ."),
    "enum": N_("Lựa chọn không hợp lệ."),
    "datetime_from_date_parsing": N_("Ngày giờ không hợp lệ."),
    "datetime_parsing": N_("Ngày giờ không hợp lệ."),
    "date_from_datetime_parsing": N_("Ngày không hợp lệ."),
    "date_parsing": N_("Ngày không hợp lệ."),
    "value_error": N_("Giá trị không hợp lệ."),
}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def message_of(request: Request, problem: Problem) -> str:
    """The problem in the reader's words: the refusal's own Vietnamese message, else ours.
    Every problem a page shows is put in words here once, so it is counted here."""
    problem.count()
    _ = gettext(request)
    said = problem.extensions.get("detail_vi")
    if isinstance(said, str) and request.app.state.services.settings.pages_language == "vi":
        return said
    if problem.code in MESSAGES:
        return str(_(MESSAGES[problem.code]))
    return problem.detail


def error_page(request: Request, problem: Problem) -> Response:
    return render(
        request,
        "error.html",
        {"problem": problem, "message": message_of(request, problem)},
        status_code=problem.status,
        headers=problem.headers,
    )


def install(app: FastAPI) -> None:
    """Wrap the API's error handlers: on a page, the same problem is a page."""
    handlers: dict[Any, Any] = dict(app.exception_handlers)

    def wrapped(kind: Any) -> Any:
        api_handler = handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_page(request):
                response: Response = await api_handler(request, exc)
                return response
            if isinstance(exc, Problem):
                return error_page(request, exc)
            if isinstance(exc, StarletteHTTPException):
                code = {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
                    exc.status_code, "validation_error"
                )
                return error_page(
                    request,
                    Problem(
                        code,
                        str(exc.detail),
                        status=exc.status_code,
                        headers=dict(exc.headers or {}),  # a 405's Allow
                    ),
                )
            if isinstance(exc, RequestValidationError):
                return error_page(request, Problem("validation_error", str(exc.errors())))
            return error_page(request, Problem("internal_error"))

        return handler

    for kind in (Problem, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, wrapped(kind))

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(sign_in_address(exc.next_path), status_code=303)
