"""The interactive documentation at /docs: Swagger UI from the vendored files (web.assets), so it
works on a machine without internet. ReDoc is not served: no installed package ships it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from web.assets import vendor_url


def install_docs(app: FastAPI) -> None:
    """GET /docs; needs `web.assets.install_vendor_assets(app)` first and `docs_url=None`."""
    assert app.openapi_url is not None
    page = bytes(
        get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=vendor_url(app, "swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=vendor_url(app, "swagger-ui/swagger-ui.css"),
            swagger_favicon_url=vendor_url(app, "swagger-ui/favicon-32x32.png"),
            # Else Swagger UI sends the document to validator.swagger.io for a badge (when it is
            # served from anywhere but localhost).
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)
