"""The pages benchmark (`make bench-pages`): how long the officer's pages take to render over a
read model of tens of thousands of dossiers, against issue 9's target of p95 under 150 ms.

It seeds a PostgreSQL database with `bench.seed_reports` (a year of dossiers with their
consultations and events, as the workflow's projection writes them; reused when seeded alike),
serves it with uvicorn (`api.app:create_app`, one process, the development secret; the pages
read only the read model, so no Temporal is needed), signs in through the development sign-in
page like a person, then fetches each page `--runs` times after a warm-up: the inbox of the
busiest lead agency (first page, a search by applicant name, the late group), the page of
dossiers with the longest timelines, the one-stop desk's inbox of what it received for other lead
agencies (Decree 118/2025), the consulted agency's inbox and the oversight reports page.
It prints p50, p95 and max per page, the pages per second, and p95 against the target."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time

import asyncpg
import httpx

from bench.seed_reports import dsn_of, ensure_seeded, seeded_bench_parser
from bench.stack import serve_api
from db.engine import parse_url
from dev.tokens import load_users
from domain.commands import Role

TARGET_P95_MS = 150.0
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/motcua_bench_pages"


async def sign_in(http: httpx.AsyncClient, user: str) -> None:
    """Through the development sign-in page, as a person would (CSRF token included)."""
    http.cookies.clear()
    form = await http.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no CSRF token on /signin"
    answer = await http.post("/signin/dev", data={"user": user, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text[:300]


def officers() -> dict[str, str]:
    """The development officers (dev/users.toml) by agency: who signs in for an agency."""
    return {u.agency: u.id for u in load_users() if Role.OFFICER in u.roles}


async def sample(url: str) -> tuple[str, str, list[str], str | None]:
    """Among the agencies with a development officer: the one leading most open dossiers, the
    one consulted most, the dossiers of the former with the longest timelines, and the desk that
    received most open dossiers for other lead agencies (None: no such desk)."""
    agencies = list(officers())
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        lead = await connection.fetchval(
            "SELECT lead_agency FROM dossiers WHERE closed_at IS NULL "
            "AND lead_agency = ANY($1::text[]) GROUP BY lead_agency ORDER BY count(*) DESC LIMIT 1",
            agencies,
        )
        consulted = await connection.fetchval(
            "SELECT agency FROM consultations WHERE agency = ANY($1::text[]) "
            "GROUP BY agency ORDER BY count(*) DESC LIMIT 1",
            agencies,
        )
        codes = await connection.fetch(
            "SELECT d.code FROM dossiers d JOIN events e ON e.dossier = d.code "
            "WHERE d.lead_agency = $1 GROUP BY d.code ORDER BY count(*) DESC LIMIT 20",
            lead,
        )
        desk = await connection.fetchval(
            "SELECT receiving_desk FROM dossiers WHERE closed_at IS NULL "
            "AND receiving_desk <> lead_agency AND receiving_desk = ANY($1::text[]) "
            "GROUP BY receiving_desk ORDER BY count(*) DESC LIMIT 1",
            agencies,
        )
    finally:
        await connection.close()
    return lead, consulted, [row["code"] for row in codes], desk


def summary(name: str, seconds: list[float], size: int) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    rate = len(ms) / (sum(ms) / 1000)
    return (
        f"{name:<34}{p50:>8.1f}{p95:>8.1f}{ms[-1]:>8.1f}{rate:>9.1f}"
        f"   p95 {p95 / TARGET_P95_MS:.2f}x of target   ({size:,} bytes)"
    )


HEADER = (
    f"{'page':<34}{'p50':>8}{'p95':>8}{'max':>8}{'pages/s':>9}"
    f"   (ms; target p95 < {TARGET_P95_MS:.0f} ms)"
)


async def time_pages(
    http: httpx.AsyncClient, user: str, pages: dict[str, list[str]], runs: int
) -> list[str]:
    await sign_in(http, user)
    lines = []
    for name, paths in pages.items():
        seconds = []
        size = 0
        for run in range(runs + 1):
            path = paths[run % len(paths)]
            started = time.perf_counter()
            answer = await http.get(path)
            took = time.perf_counter() - started
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
            size = len(answer.content)
            if run:  # the first run warms the caches and the connection
                seconds.append(took)
        lines.append(summary(name, seconds, size))
    return lines


async def run(args: argparse.Namespace) -> None:
    url = args.database_url
    await ensure_seeded(
        url, dossiers=args.dossiers, seed=args.seed, year=args.year, reseed=args.reseed
    )
    lead, consulted, codes, desk = await sample(url)
    async with serve_api(url) as api, httpx.AsyncClient(base_url=api.url, timeout=60) as http:
        print(
            f"\n{args.dossiers:,} dossiers of {args.year}; lead agency {lead}, consulted "
            f"agency {consulted}; {args.runs} runs per page after a warm-up"
        )
        print(HEADER)
        officer = {
            f"inbox {lead}": ["/inbox"],
            "inbox search 'nguyen'": ["/inbox?q=nguyen"],
            "inbox late group": ["/inbox?urgency=late"],
            f"dossier page ({len(codes)} longest)": [f"/dossiers/{c}" for c in codes],
        }
        for line in await time_pages(http, officers()[lead], officer, args.runs):
            print(line)
        if desk is not None:
            received = {f"inbox received here {desk}": ["/inbox?received_here=true"]}
            for line in await time_pages(http, officers()[desk], received, args.runs):
                print(line)
        agency = {f"consultations of {consulted}": ["/consultations"]}
        for line in await time_pages(http, officers()[consulted], agency, args.runs):
            print(line)
        oversight = {"reports (this month)": ["/reports"]}
        for line in await time_pages(http, "snv.home_affairs", oversight, args.runs):
            print(line)


def main(argv: list[str] | None = None) -> int:
    parser = seeded_bench_parser(
        "python -m bench.pages",
        __doc__.split("\n\n")[0],
        dossiers=20_000,
        runs=100,
        database_url=DEFAULT_URL,
    )
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
