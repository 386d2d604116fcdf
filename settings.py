"""Settings of every motcua process, read from `MOTCUA_*` environment variables (see API.md)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
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

    @cached_property
    def temporal_target(self) -> str:
        return self.temporal_address or f"localhost:{self.temporal_port}"

    @cached_property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'motcua.db').resolve()}"
