"""Debian's Prometheus and promtool (`apt-get install prometheus`, .ci/run does it). Missing, the
tests that need them fail, as the browser tests do without Chromium: they are never skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy" / "prometheus"


def tool(name: str) -> Path:
    found = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(found).exists():
        pytest.fail(
            f"`{name}` is missing: `apt-get install --no-install-recommends prometheus` "
            "(.ci/run does it)",
            pytrace=False,
        )
    return Path(found)
