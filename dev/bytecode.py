"""Bytecode written ahead for the service's modules (`make bytecode`; the benchmarks' stacks).

The workflow sandbox imports the workflow's modules again for every new run and every replay
after a cache miss; where no `.pyc` is there (`PYTHONDONTWRITEBYTECODE`, set on this machine and
in the image), each of those imports compiles the source again: about 10 ms of the worker's CPU
per dossier in the lifecycle benchmark (docs/performance.md). The image writes it at build time
(deploy/Containerfile); `make run` and the benchmarks write it here. Files already compiled and
unchanged are skipped."""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "domain", "workflows", "activities", "sources", "api", "service", "web", "db", "dev", "bench",
    "telemetry", "worker.py", "settings.py", "logs.py",
)  # fmt: skip


def write_bytecode() -> bool:
    """Compile every module of `SOURCES` that has no up-to-date `.pyc`; whether all compiled."""
    compiled = True
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            compiled &= bool(compileall.compile_dir(path, quiet=1))
        else:
            compiled &= bool(compileall.compile_file(path, quiet=1))
    return compiled


if __name__ == "__main__":
    raise SystemExit(0 if write_bytecode() else 1)
