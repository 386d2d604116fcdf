"""Where the catalogue comes from: `data/catalogue.toml`, parsed by `domain.catalogue`.

The file is re-read when its modification time changes, so a corrected catalogue is picked up
without a restart; until then every caller shares the one parsed `Catalogue` (read-only).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import structlog

import settings
from domain.catalogue import Catalogue, parse_catalogue

log = structlog.get_logger()

DEFAULT_PATH = settings.REPO_ROOT / "data" / "catalogue.toml"


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue in `path` (default `data/catalogue.toml`), cached until the file changes.

    A missing file raises FileNotFoundError: there is no sensible empty catalogue. A malformed
    one raises ValueError naming the path and the bad entry.
    """
    resolved = (path or DEFAULT_PATH).resolve()
    return _parsed(resolved, resolved.stat().st_mtime_ns)


@lru_cache(maxsize=8)  # keyed on the modification time: old versions fall out as the file changes
def _parsed(path: Path, mtime_ns: int) -> Catalogue:
    try:
        catalogue = parse_catalogue(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: {error}") from error
    log.info(
        "catalogue_loaded",
        path=str(path),
        agencies=len(catalogue.agencies),
        procedures=len(catalogue.procedures),
    )
    return catalogue
