"""The HTTP API of API.md: FastAPI translating HTTP to dossier workflow updates and read-model
queries, nothing more. Served by `uvicorn --factory api.app:process_app`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api import metrics, openapi, problems
from api.auth import Authenticator
from api.boundary import BodyCap, refuse_forbidden_characters
from api.deps import dossier_log_context
from api.docs import install_docs
from api.invalid_requests import record_invalid_request
from api.rate_limits import RateLimiter
from api.routes import catalogue, dossiers, forms, inbox, notices, operations, public, reports
from db.engine import create_engine, session_factory
from domain.limits import BODY_MAX_BYTES
from logs import configure_logging
from settings import Settings
from sources.calendar import CalendarSource
from telemetry.tracing import API_SERVICE, configure_tracing, fastapi_telemetry, temporal_plugins
from web import app as web_app
from web.assets import install_vendor_assets
from workflows.converter import data_converter

log = structlog.get_logger()

# Stopping (README, "Stopping"): on SIGTERM uvicorn waits this long for the requests in flight
# (`--timeout-graceful-shutdown`, see `uvicorn_argv`), then cancels them; the lifespan then
# closes the database pool within CLOSE_TIMEOUT_S, even with the database gone.
GRACEFUL_SHUTDOWN_S = 5
CLOSE_TIMEOUT_S = 3
API_SHUTDOWN_S = GRACEFUL_SHUTDOWN_S + CLOSE_TIMEOUT_S


def uvicorn_argv(host: str, port: int) -> list[str]:
    """How the API process is run (`make run`, production): uvicorn with the shutdown bound."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:process_app",
        "--host", host, "--port", str(port),
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
    ]  # fmt: skip


@dataclass
class LookupLimits:
    """The citizens' look-up's rate limits (api.routes.public)."""

    by_address: RateLimiter
    by_dossier: RateLimiter

    @classmethod
    def of(cls, settings: Settings) -> LookupLimits:
        window = settings.public_lookup_window_seconds
        return cls(
            RateLimiter(settings.public_lookups_per_address, window),
            RateLimiter(settings.public_lookups_per_dossier, window),
        )


@dataclass
class Services:
    """What every request may use; built once at start-up."""

    settings: Settings
    client: Client
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    lookup_limits: LookupLimits
    # The worker's working-day calendar (holidays.VN and the province's file, re-read when it
    # changes), for what the API counts itself: the inbox's urgency and working days left.
    calendar: CalendarSource


def create_app(
    settings: Settings | None = None, authenticator: Authenticator | None = None
) -> FastAPI:
    """The app on `settings`; tokens checked by `authenticator` (default: as the `MOTCUA_JWT_*`
    variables say, which refuses to start with no way to check them)."""
    settings = settings or Settings()
    authenticator = authenticator or Authenticator.from_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database)
        # Lazy: the API starts (and answers /healthz, and 503 with a code) while Temporal is down.
        client = await Client.connect(
            settings.temporal_target,
            namespace=settings.temporal_namespace,
            data_converter=data_converter,
            lazy=True,
            plugins=temporal_plugins(),  # traces, when configured (telemetry.tracing)
        )
        app.state.services = Services(
            settings=settings,
            client=client,
            engine=engine,
            sessions=session_factory(engine),
            authenticator=authenticator,
            lookup_limits=LookupLimits.of(settings),
            calendar=CalendarSource(settings.calendar_overrides),
        )
        app.state.authenticator = app.state.services.authenticator
        try:
            yield
        finally:
            try:
                await asyncio.wait_for(engine.dispose(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                log.warning("database_pool_not_closed", timeout_s=CLOSE_TIMEOUT_S)

    app = FastAPI(
        title="motcua",
        version="1.0.0",
        summary="Đồng Nai's one-stop dossiers under letter 448/UBND-HCC, on Temporal",
        description=(
            "Errors are RFC 9457 problem documents (`application/problem+json`, schema "
            "`Problem`) with a stable `code`. A request body holds at most "
            f"{BODY_MAX_BYTES} bytes (413 `payload_too_large`); each text states its "
            "`maxLength` and the characters it refuses (`pattern`: no control character), each "
            "list its `maxItems`, each number its range; beyond them, 422 `text_too_long`, "
            "`forbidden_character`, `too_many_items` or `number_out_of_range`, with the `field`."
        ),
        lifespan=lifespan,
        docs_url=None,  # ours, offline: api.docs
        redoc_url=None,
        dependencies=[Depends(refuse_forbidden_characters), Depends(dossier_log_context)],
        telemetry=fastapi_telemetry(),  # traced once a tracer provider is installed
    )
    app.add_middleware(BodyCap)
    # AuthError is a Problem: 401/403/503 documents too. Unreadable actions are recorded.
    problems.install(app, record_invalid=record_invalid_request)
    for router in (operations, catalogue, dossiers, inbox, forms, notices, reports, public):
        app.include_router(router.router)
    openapi.install(app)
    install_vendor_assets(app)  # before the pages' /static mount, which would hide it
    install_docs(app)
    # The pages (web/): the same services behind HTML for every role; installed last so that
    # their error pages wrap the problem handlers above.
    web_app.install(app, settings, authenticator)
    app.include_router(metrics.router)
    app.add_middleware(metrics.RequestMetrics)  # last, so outermost: it sees every answer
    return app


def process_app() -> FastAPI:
    """The API process's app (uvicorn's factory, `uvicorn_argv`): its logs and traces set up as
    the worker's, then the app on the environment's settings."""
    settings = Settings()
    configure_logging(settings.log_format)
    configure_tracing(settings, API_SERVICE)
    return create_app(settings)
