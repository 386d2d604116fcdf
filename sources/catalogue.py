"""Where the catalogue comes from: `data/catalogue.toml`, parsed by `domain.catalogue`.

The file and the files it includes (`include = [...]`, beside it: the generated list of the
province's communes and wards) are re-read when a modification time in their folder changes, so
a corrected catalogue is picked up without a restart; until then every caller shares the one
parsed `Catalogue` (read-only).
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
    siblings = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in resolved.parent.glob("*.toml")))
    return _parsed(resolved, resolved.stat().st_mtime_ns, siblings)


# Keyed on the modification times of the file and of the TOML files beside it (which its
# includes are): old versions fall out as the files change.
@lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, siblings: tuple[tuple[str, int], ...]) -> Catalogue:
    def read_included(name: str) -> str:
        included = (path.parent / name).resolve()
        if included.parent != path.parent:
            raise ValueError(f"include {name!r}: only files beside the catalogue are read")
        return included.read_text(encoding="utf-8")

    try:
        catalogue = parse_catalogue(path.read_text(encoding="utf-8"), read_included)
    except (ValueError, UnicodeDecodeError, FileNotFoundError) as error:
        raise ValueError(f"{path}: {error}") from error
    log.info(
        "catalogue_loaded",
        path=str(path),
        agencies=len(catalogue.agencies),
        procedures=len(catalogue.procedures),
    )
    return catalogue
