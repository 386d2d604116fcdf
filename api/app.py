"""Placeholder ASGI app so that `make run` has an API process to start and supervise.

Only `GET /healthz` exists. The real API of API.md (auth, dossiers, notices, reports, `/readyz`)
replaces this module in a later issue."""

from fastapi import FastAPI

app = FastAPI(title="motcua", version="0.1.0")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up; says nothing about Temporal or the database (that is `/readyz`)."""
    return {"status": "ok"}
