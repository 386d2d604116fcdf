"""The report benchmark's seeder (`bench.seed_reports`) on a small year: rows shaped as the
projection writes them, in the proportions the benchmark relies on, and every report finding
what the seed put there. On a PostgreSQL database of its own (the seeder drops and creates it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time

import asyncpg
import pytest
import pytest_asyncio

from bench.seed_reports import drop_database, dsn_of, ensure_seeded, read_marker, seed_database
from db import reports
from db.engine import create_engine, parse_url, session_factory
from domain.dossier import ConsultationStatus, DossierStatus
from domain.localtime import VN
from tests.fixtures.databases import DEFAULT_POSTGRES_URL, POSTGRES_URL_VARIABLE

pytestmark = pytest.mark.postgres

DOSSIERS, SEED, YEAR = 2000, 448, 2025


@pytest_asyncio.fixture(loop_scope="session")
async def seeded() -> AsyncIterator[str]:
    """A database of its own on the tests' server, seeded small, in chunks of a few days."""
    server = parse_url(os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL))
    url = server.set(database=f"motcua_bench_{secrets.token_hex(4)}")
    rendered = url.render_as_string(hide_password=False)
    await seed_database(rendered, dossiers=DOSSIERS, seed=SEED, year=YEAR, jobs=2, chunk=700)
    try:
        yield rendered
    finally:
        await drop_database(rendered)


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        return await connection.fetch(sql)
    finally:
        await connection.close()


async def test_seed_writes_a_year_of_dossiers_in_the_projections_shapes(seeded: str) -> None:
    (counts,) = await fetch(
        seeded,
        "SELECT (SELECT count(*) FROM dossiers) AS dossiers,"
        " (SELECT count(*) FROM consultations) AS consultations,"
        " (SELECT count(*) FROM events) AS events",
    )
    assert counts["dossiers"] == DOSSIERS
    assert 2.8 <= counts["consultations"] / DOSSIERS <= 3.2

    # Seqs 1..n per dossier; the row's version is its last projected event's (a refusal the
    # API appends after the close comes after it, as `record_refusal_after_close` writes it).
    (seqs,) = await fetch(
        seeded,
        "SELECT count(*) FILTER (WHERE e.n <> e.last OR e.first <> 1) AS gaps,"
        " count(*) FILTER (WHERE d.version NOT BETWEEN e.last - e.after_close AND e.last)"
        " AS versions"
        " FROM dossiers d JOIN (SELECT dossier, count(*) n, min(seq) first, max(seq) last,"
        " count(*) FILTER (WHERE detail->>'via' = 'api') after_close FROM events GROUP BY 1) e"
        " ON e.dossier = d.code",
    )
    assert (seqs["gaps"], seqs["versions"]) == (0, 0)

    statuses = {r[0] for r in await fetch(seeded, "SELECT DISTINCT status FROM dossiers")}
    assert statuses <= {s.value for s in DossierStatus}
    assert {"completed", "returned", "withdrawn", "consulting"} <= statuses
    states = {r[0] for r in await fetch(seeded, "SELECT DISTINCT status FROM consultations")}
    assert states == {s.value for s in ConsultationStatus}

    # Every consultation to an agency other than the lead, numbered 1..n per dossier.
    (wrong,) = await fetch(
        seeded,
        "SELECT count(*) FILTER (WHERE c.agency = d.lead_agency) AS own,"
        " count(*) FILTER (WHERE c.status = 'answered_late' AND c.reminder_1_at IS NULL)"
        " AS unreminded"
        " FROM consultations c JOIN dossiers d ON d.code = c.dossier",
    )
    assert (wrong["own"], wrong["unreminded"]) == (0, 0)

    # The merged province: no abolished district leads a dossier or is consulted; about one
    # dossier in five received at another desk (Decree 118/2025), its code under the desk's
    # unit, its `received` event naming the desk as `domain.dossier.receive` records it.
    (province,) = await fetch(
        seeded,
        "SELECT count(*) AS with_a_desk, count(*) FILTER (WHERE NOT lead.active) AS inactive_leads,"
        " (SELECT count(*) FROM consultations c JOIN agencies a ON a.code = c.agency"
        "  WHERE NOT a.active) AS inactive_consulted,"
        " count(*) FILTER (WHERE d.receiving_desk <> d.lead_agency) AS at_a_desk,"
        " count(*) FILTER (WHERE desk.kind = 'public_admin_center') AS at_the_centre,"
        " count(*) FILTER (WHERE desk.kind IN ('commune', 'ward')"
        "  AND d.receiving_desk <> d.lead_agency) AS at_a_local_desk,"
        " count(*) FILTER (WHERE d.code NOT LIKE desk.unit_id || '-%') AS codes_elsewhere,"
        " count(*) FILTER (WHERE e.detail->>'receiving_desk' IS DISTINCT FROM"
        "  nullif(d.receiving_desk, d.lead_agency)) AS events_apart"
        " FROM dossiers d JOIN agencies lead ON lead.code = d.lead_agency"
        " JOIN agencies desk ON desk.code = d.receiving_desk"
        " JOIN events e ON e.dossier = d.code AND e.seq = 1",
    )
    assert province["with_a_desk"] == DOSSIERS  # every row names its desk, as 0010 wants
    assert (province["inactive_leads"], province["inactive_consulted"]) == (0, 0)
    assert 0.15 * DOSSIERS <= province["at_a_desk"] <= 0.25 * DOSSIERS
    assert province["at_the_centre"] > 0 and province["at_a_local_desk"] > 0
    assert (province["codes_elsewhere"], province["events_apart"]) == (0, 0)

    # What the benchmark reuses the database by: the same seed is not loaded twice.
    marker = await read_marker(seeded)
    assert marker is not None
    assert (marker["dossiers"], marker["seed"], marker["year"]) == (DOSSIERS, SEED, YEAR)
    assert await ensure_seeded(seeded, dossiers=DOSSIERS, seed=SEED, year=YEAR) is None


async def test_every_report_finds_what_the_seed_put_there(seeded: str) -> None:
    start, end = date(YEAR, 1, 1), date(YEAR, 12, 31)
    now = datetime.combine(end, time(17), VN).astimezone(UTC)
    engine = create_engine(seeded)
    try:
        async with session_factory(engine)() as session:
            delays = await reports.agency_delays(session, start=start, end=end, now=now)
            audit = await reports.sos_audit(session, start=start, end=end, rejected_limit=100)
            on_time = await reports.on_time(session, start=start, end=end)
            late = await reports.late_without_apology(session, start=start, end=end, limit=100)
    finally:
        await engine.dispose()

    consultations = sum(r.consultations for r in delays)
    answered_late = sum(r.answered_late for r in delays)
    assert 0.08 <= answered_late / consultations <= 0.2
    assert sum(r.late_without_cause for r in delays) > 0
    assert sum(r.overdue_unanswered for r in delays) > 0
    assert sum(r.reminders_2 for r in delays) > 0
    assert sum(r.cancelled for r in delays) > 0

    assert 0.02 * DOSSIERS <= audit.rejected_total <= 0.05 * DOSSIERS
    actions = {r.action for r in audit.rejected}
    assert actions == {"stop", "supplement", "return"}
    assert any(r.awaiting for r in audit.rejected)
    assert {s.action for s in audit.by_agency} == {"stop", "supplement", "return"}
    assert audit.withdrawals_without_head_confirmation > 0

    totals = reports.OnTimeCounts()
    for agency in on_time.by_agency:
        totals.add(agency)
    for category in ("early", "on_time", "late", "stopped", "supplemented"):
        assert getattr(totals, category) > 0, category
    assert totals.returned > 0 and totals.withdrawn > 0 and totals.apologised > 0
    assert totals.on_time_share is not None and 0.6 <= totals.on_time_share <= 0.95

    assert late and all(row.due_at < row.late_at for row in late)

    desks = {row.receiving_desk: row.closed for row in on_time.by_desk}
    assert desks.get("TTHCC", 0) > 0 and any(desk.startswith("UBND-") for desk in desks)
    assert sum(desks.values()) == totals.closed
