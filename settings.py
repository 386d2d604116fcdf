"""Settings of every motcua process, read from `MOTCUA_*` environment variables (see API.md)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    temporal_address: str | None = None  # default: localhost:<temporal_port>
    temporal_namespace: str = "default"
    task_queue: str = "motcua-dossiers"
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: an SQLite file under data_dir
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    jwt_secret: str | None = None
    # Between reminder 1 and reminder 2 (R3): working days such as "2d", or ISO 8601 such as "PT5S".
    reminder_grace: str = "2d"
    # The dev server's SQLite `synchronous` pragma (journal_mode is always WAL): "normal" survives a
    # process crash but may lose the last writes on power loss; "full" survives both, slower.
    temporal_sqlite_synchronous: Literal["normal", "full"] = "normal"
    calendar_overrides: Path = Field(default=REPO_ROOT / "data" / "calendar-overrides.toml")
    log_format: Literal["pretty", "json"] = "pretty"
    # Which of several worker processes this is (`make run` numbers them 1..N): in its identity,
    # and its metrics port is `worker_metrics_address`'s + this index.
    worker_index: int | None = Field(default=None, ge=0)
    # Traces (telemetry.tracing): the OTLP/HTTP collector's base address (http://jaeger:4318);
    # unset, the standard OTEL_EXPORTER_OTLP_ENDPOINT is honoured; neither, nothing is traced.
    otlp_endpoint: str | None = None
    # Notices that reach people (activities.delivery). E-mail goes through this SMTP server: the
    # defaults are the local catcher of `make run` (dev.mailcatcher); production names its relay.
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_starttls: bool = False  # upgrade the connection with STARTTLS (production relays)
    smtp_username: str | None = None  # SMTP AUTH, when the relay asks for it
    smtp_password: str | None = None
    mail_from: str = "motcua@localhost"  # the From of every notice, "Name <addr>" or "addr"
    # The HMAC-SHA256 key of every webhook (agencies' and the national portal's): at least 32
    # bytes; without it no webhook is sent (the delivery fails and is retried until it is set).
    webhook_secret: str | None = None
    # The national portal's status webhook; unset: each status change is recorded, not pushed.
    portal_url: str | None = None
    mail_dir: Path | None = None  # where dev.mailcatcher writes mails; default <data_dir>/mail
    # An action not taken by the dossier's workflow within this window expires: the API answers
    # 503 workflow_unavailable (nothing was changed) once it can no longer be taken.
    update_accept_window_seconds: float = Field(default=5.0, gt=0)
    # An action taken whose outcome takes longer: 503 outcome_pending (retry with the same key).
    update_outcome_timeout_seconds: float = Field(default=20.0, gt=0)
    # The citizens' look-up, per API process: attempts per client address and per dossier code
    # within the window (429 rate_limited with Retry-After beyond).
    public_lookups_per_address: int = Field(default=30, ge=1)
    public_lookups_per_dossier: int = Field(default=10, ge=1)
    public_lookup_window_seconds: float = Field(default=60.0, gt=0)

    # The pages (web/). Their public address, for the QR code of form 01 and the Web UI's link
    # back to a dossier; default: http://localhost:<api_port> (`pages_address`).
    pages_url: str | None = None
    # The Temporal Web UI ops staff use, for the dossier page's link; default: the dev server's.
    temporal_ui_url: str | None = None
    # The pages' session cookie: signed with this key (at least 32 bytes; in development, when
    # unset, derived from the development JWT secret), sent over HTTPS only when `secure_cookies`.
    session_secret: str | None = None
    secure_cookies: bool = False
    session_hours: float = Field(default=8.0, gt=0, le=24)
    # Sign-in on the pages in production: OpenID Connect, authorization code with PKCE, against
    # MOTCUA_JWT_ISSUER (the issuer the API trusts), as this client.
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    pages_language: Literal["vi", "en"] = "vi"
    # Metrics (telemetry.metrics, deploy/README.md "Monitoring"). The worker's Temporal SDK
    # metrics are served at this host:port (unset: none), port + `worker_index` for the n-th
    # worker process of a host, so that several never ask for the same port.
    worker_metrics_address: str | None = None
    # The API's /metrics: when set, only with `Authorization: Bearer <metrics_token>`.
    metrics_token: str | None = None
    # Worker versioning (README, "Upgrades"): the worker polls as build `build_id` of the worker
    # deployment `deployment_name`; both or neither (unset: an unversioned worker, as before).
    deployment_name: str | None = None
    build_id: str | None = None

    @model_validator(mode="after")
    def _deployment_whole(self) -> Settings:
        if (self.deployment_name is None) != (self.build_id is None):
            raise ValueError("MOTCUA_DEPLOYMENT_NAME and MOTCUA_BUILD_ID go together")
        return self

    @cached_property
    def pages_address(self) -> str:
        """The pages' public address, without a trailing slash."""
        return (self.pages_url or f"http://localhost:{self.api_port}").rstrip("/")

    @cached_property
    def temporal_target(self) -> str:
        return self.temporal_address or f"localhost:{self.temporal_port}"

    @cached_property
    def mail_folder(self) -> Path:
        return self.mail_dir or self.data_dir / "mail"

    @cached_property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'motcua.db').resolve()}"

    @cached_property
    def web_ui_url(self) -> str:
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")
