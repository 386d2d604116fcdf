"""The report benchmark (`make bench-reports`): how long each oversight report takes over a
year of a million dossiers on PostgreSQL, against the 100 ms target.

It seeds the database with `bench.seed_reports` (about 3 consultations and 10 events per
dossier, as the workflow's projection writes them), or reuses a database seeded alike, then
times each report of `db.reports` over the whole year (1 January to 31 December, `now` at
17:00 on 31 December, where the data ends), called directly on an `AsyncSession` as the API
calls them: the delays of consulted agencies (R8), the SOS audit with its first 100 refusals
(R9), the on-time categories (R11) and the first 100 dossiers late without
an apology (R13). Each is run once to warm up, then `--runs` times; it prints the median, p90
and minimum, and the median against the target.

Then it does the same through the HTTP API (uvicorn serving `api.app:create_app` on the seeded
database, requests with a development inspector's token): the report's SQL plus
authentication, the session, JSON and the network stack. The reports need no Temporal.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import Any

import asyncpg
import httpx

from bench.seed_reports import (
    DEFAULT_URL,
    add_totals_arguments,
    dsn_of,
    ensure_seeded,
    read_marker,
    totals_options,
)
from bench.stack import API_SECRET, serve_api
from db import reports
from db.engine import create_engine, parse_url, session_factory
from dev.tokens import load_users, mint_token
from domain.localtime import VN

TARGET_MS = 100.0
INSPECTOR = "vpubnd.inspector"  # VPUBND: may read all four reports
PAGE = 100  # rows of the paginated lists, as a page of the API asks

Report = Callable[[Any], Awaitable[Any]]


def direct_reports(year: int) -> dict[str, Report]:
    """Each report of the year, as a call on a session."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    now = datetime.combine(end, clock(17), VN).astimezone(UTC)
    return {
        "agency_delays": lambda s: reports.agency_delays(s, start=start, end=end, now=now),
        "sos_audit": lambda s: reports.sos_audit(s, start=start, end=end, rejected_limit=PAGE),
        "on_time": lambda s: reports.on_time(s, start=start, end=end),
        "late_without_apology": lambda s: reports.late_without_apology(
            s, start=start, end=end, limit=PAGE
        ),
    }


def http_paths(year: int) -> dict[str, str]:
    period = f"from={year}-01-01&to={year}-12-31"
    return {
        "agency_delays": f"/api/v1/reports/agency-delays?{period}",
        "sos_audit": f"/api/v1/reports/sos-audit?{period}&limit={PAGE}",
        "on_time": f"/api/v1/reports/on-time?{period}",
        "late_without_apology": f"/api/v1/reports/late-without-apology?{period}&limit={PAGE}",
    }


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    median = statistics.median(ms)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    ratio = median / TARGET_MS
    verdict = f"{ratio:.2f}x of target" if ratio <= 1 else f"{ratio:.1f}x over target"
    return f"{name:<22}{median:>9.1f}{p90:>9.1f}{ms[0]:>9.1f}   {verdict}"


HEADER = f"{'report':<22}{'median':>9}{'p90':>9}{'min':>9}   (ms; target {TARGET_MS:.0f} ms)"


async def time_direct(url: str, year: int, runs: int) -> list[str]:
    """Each report on a session of its own per run, as the API opens one per request."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    lines = []
    try:
        for name, report in direct_reports(year).items():
            seconds = []
            for run in range(runs + 1):
                async with sessions() as session:
                    started = time.perf_counter()
                    figures = await report(session)
                    took = time.perf_counter() - started
                if run:  # the first run warms the caches and the connection
                    seconds.append(took)
            lines.append(summary(name, seconds) + f"   ({describe(figures)})")
    finally:
        await engine.dispose()
    return lines


def describe(figures: Any) -> str:
    """A few of a report's figures: that it found what the seed put there."""
    if isinstance(figures, reports.SosAudit):
        return f"{figures.rejected_total} refused, {len(figures.by_agency)} agency lines"
    if isinstance(figures, reports.OnTimeReport):
        completed = sum(a.completed for a in figures.by_agency)
        late = sum(a.late for a in figures.by_agency)
        return f"{completed:,} completed, {late:,} late"
    if figures and isinstance(figures[0], reports.AgencyDelayRow):
        late = sum(r.answered_late for r in figures)
        return f"{len(figures)} agencies, {late:,} late answers"
    return f"{len(figures)} rows"


async def time_http(url: str, year: int, runs: int) -> list[str]:
    """The same reports through uvicorn, one process serving the seeded database."""
    user = next(u for u in load_users() if u.id == INSPECTOR)
    headers = {"Authorization": f"Bearer {mint_token(user, API_SECRET, hours=1)}"}
    lines = []
    async with (
        serve_api(url) as api,
        httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60) as http,
    ):
        for name, path in http_paths(year).items():
            seconds = []
            for run in range(runs + 1):
                started = time.perf_counter()
                response = await http.get(path)
                took = time.perf_counter() - started
                response.raise_for_status()
                if run:
                    seconds.append(took)
            size = len(response.content)
            lines.append(summary(name, seconds) + f"   ({size:,} bytes of JSON)")
    return lines


async def row_counts(url: str) -> str:
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        counts = [
            f"{table} {await connection.fetchval(f'SELECT count(*) FROM {table}'):,}"
            for table in ("dossiers", "consultations", "events")
        ]
    finally:
        await connection.close()
    return ", ".join(counts)


async def run(args: argparse.Namespace) -> None:
    url = args.database_url
    await ensure_seeded(
        url,
        dossiers=args.dossiers,
        seed=args.seed,
        year=args.year,
        reseed=args.reseed,
        totals=totals_options(args),
    )
    print(f"\n{await row_counts(url)}; period {args.year}-01-01 to {args.year}-12-31")
    if not (await read_marker(url) or {}).get("totals"):
        print("WARNING: no report totals in the database: the reports that read them are timed")
        print("over empty totals, so these figures are 'before aggregates' at best")
    print(f"\ndb.reports called directly: {args.runs} runs after a warm-up")
    print(HEADER)
    for line in await time_direct(url, args.year, args.runs):
        print(line)
    if args.no_http:
        return
    print(f"\nthrough HTTP (uvicorn, one worker, inspector's token): {args.runs} runs")
    print(HEADER)
    for line in await time_http(url, args.year, args.runs):
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reseed", action="store_true", help="seed even if already seeded")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=448)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--no-http", action="store_true", help="time the SQL calls only")
    add_totals_arguments(parser)
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
