"""The reads benchmark (`make bench-reads`, issue 12): how long `GET /api/v1/dossiers` takes for a
page of 50 and of 200 over a read model of 10,000 dossiers, and how many SQL statements each
request makes (a constant per page, whatever its size).

It seeds a PostgreSQL database with `bench.seed_reports` (reused when seeded alike), serves it
with uvicorn in this process (`api.app:create_app`, the development secret; the list reads only
the read model, so no Temporal is needed) so that the statements can be counted on the API's
own engine (`before_cursor_execute`), then fetches each page `--runs` times after a warm-up,
following no cursor: the newest dossiers, as Home Affairs (every agency's) and as the officer
of the agency leading most dossiers (its own and those it was consulted on). It prints p50, p95
and max per case, the statements per request and the load average, so that figures taken before
and after a change on this shared machine can be read side by side."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from bench.pages import officers
from bench.seed_reports import dsn_of, ensure_seeded, seeded_bench_parser
from bench.stack import API_SECRET, serve_api
from db.engine import parse_url
from dev.tokens import load_users, mint_token

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/motcua_bench_reads"
LIMITS = (50, 200)
HOME_AFFAIRS = "snv.home_affairs"


async def busiest_lead(url: str) -> str:
    """The agency with a development officer that leads most dossiers."""
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        lead: str = await connection.fetchval(
            "SELECT lead_agency FROM dossiers WHERE lead_agency = ANY($1::text[]) "
            "GROUP BY lead_agency ORDER BY count(*) DESC LIMIT 1",
            list(officers()),
        )
    finally:
        await connection.close()
    return lead


def summary(name: str, seconds: list[float], statements: set[int], items: int) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    counted = ", ".join(map(str, sorted(statements)))
    return (
        f"{name:<36}{statistics.median(ms):>8.1f}{p95:>8.1f}{ms[-1]:>8.1f}{counted:>12}{items:>7}"
    )


HEADER = f"{'GET /api/v1/dossiers':<36}{'p50':>8}{'p95':>8}{'max':>8}{'statements':>12}{'items':>7}"


async def time_lists(url: str, runs: int) -> list[str]:
    counted: list[int] = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    users = {user.id: user for user in load_users()}
    lead = await busiest_lead(url)
    callers = {f"as {HOME_AFFAIRS}": HOME_AFFAIRS, f"as {lead} officer": officers()[lead]}
    lines = []
    async with (
        serve_api(url, in_process=True) as api,
        httpx.AsyncClient(base_url=api.url, timeout=120) as http,
    ):
        assert api.app is not None
        event.listen(api.app.state.services.engine.sync_engine, "before_cursor_execute", count)
        for label, user in callers.items():
            headers = {"Authorization": f"Bearer {mint_token(users[user], API_SECRET, hours=2)}"}
            for limit in LIMITS:
                seconds, statements, items = [], set(), 0
                for run in range(runs + 1):
                    counted[0] = 0
                    started = time.perf_counter()
                    answer = await http.get(
                        "/api/v1/dossiers", params={"limit": limit}, headers=headers
                    )
                    took = time.perf_counter() - started
                    if answer.status_code != 200:
                        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
                    if run:  # the first run warms the pool and the caches
                        seconds.append(took)
                        statements.add(counted[0])
                        items = len(answer.json()["items"])
                lines.append(summary(f"limit={limit} {label}", seconds, statements, items))
    return lines


async def run(args: argparse.Namespace) -> None:
    await ensure_seeded(
        args.database_url,
        dossiers=args.dossiers,
        seed=args.seed,
        year=args.year,
        reseed=args.reseed,
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{args.dossiers:,} dossiers of {args.year}; {args.runs} runs per case after a warm-up")
    print(f"load average before: {load} ({os.cpu_count()} cores)")
    print(HEADER)
    for line in await time_lists(args.database_url, args.runs):
        print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> int:
    parser = seeded_bench_parser(
        "python -m bench.reads",
        __doc__.split("\n\n")[0],
        dossiers=10_000,
        runs=50,
        database_url=DEFAULT_URL,
    )
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
