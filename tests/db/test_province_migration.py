"""Migration 0009 and the merged province's seed (issue 10) on SQLite and PostgreSQL: a database
that holds dossiers led by and consulting the district committees abolished on 1 July 2025 moves
to the new catalogue without losing one; the districts become inactive, the dossiers stay
readable, listed and reported under their names."""

from __future__ import annotations

import asyncio
from datetime import date

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import catalogue as catalogue_db
from db import reports
from db.calendar_days import sync_calendar_days
from db.migrate import alembic_config, seed, upgrade
from db.read_model import get_dossier, list_dossiers
from domain.dossier import Procedure
from tests.db.test_read_model import project, view
from tests.unit.builders import (
    CALENDAR,
    LATER,
    SOON,
    consultation_plan,
    consultation_request,
    dossier,
    officer,
)

Sessions = async_sessionmaker[AsyncSession]

BIEN_HOA, LONG_THANH = "UBND-BIENHOA", "UBND-LONGTHANH"  # districts until 30 June 2025
# The agencies as a database seeded before migration 0009 holds them (its own columns only).
OLD_AGENCIES = [
    ("SNV", "Sở Nội vụ tỉnh Đồng Nai", "home_affairs", "000.00.02.H19"),
    ("SXD", "Sở Xây dựng tỉnh Đồng Nai", "department", "000.00.07.H19"),
    (BIEN_HOA, "Ủy ban nhân dân thành phố Biên Hòa", "district", "000.00.21.H19"),
    (LONG_THANH, "Ủy ban nhân dân huyện Long Thành", "district", "000.00.24.H19"),
]
SPIRITS = Procedure(
    code="DN-TM-002-BIENHOA",
    name="Cấp Giấy phép bán lẻ rượu",
    lead_agency=BIEN_HOA,
    processing_days=10,
    max_consultation_days=3,
    required_documents=["Văn bản đề nghị cấp Giấy phép bán lẻ rượu", "Bản sao hợp đồng thuê"],
)


async def test_a_database_with_district_dossiers_moves_to_the_merged_province(
    database_url: str, sessions: Sessions
) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0008")
    async with sessions() as session:
        for code, name, kind, unit_id in OLD_AGENCIES:
            await (await session.connection()).execute(
                text("INSERT INTO agencies (code, name, kind, unit_id) VALUES (:c, :n, :k, :u)"),
                {"c": code, "n": name, "k": kind, "u": unit_id},
            )
        await session.commit()
    # received by Biên Hòa in March 2025, Long Thành consulted: as the workflow projected it
    led = dossier(procedure=SPIRITS, code="000.00.21.H19-250303-0001")
    ask = consultation_request([LONG_THANH], by=officer(BIEN_HOA))
    led.consult(
        ask, SOON, consultation_plan(led, ask, SOON).model_copy(update={"unknown_agencies": []})
    )
    await asyncio.to_thread(upgrade, database_url)
    # projected by today's code, whose rows have the columns of later migrations (0010)
    await project(sessions, view(led))
    async with sessions() as session:
        connection = await session.connection()
        flags = (await connection.execute(text("SELECT code, active FROM agencies"))).all()
    assert {code: bool(active) for code, active in flags} == dict.fromkeys(
        (a[0] for a in OLD_AGENCIES), True
    )  # the column's default keeps every agency already stored active

    report = await seed(database_url)
    assert {BIEN_HOA, LONG_THANH} <= set(report.agencies_updated)
    assert "UBND-PHUONG-TRANBIEN" in report.agencies_added

    async with sessions() as session:
        bien_hoa = await catalogue_db.get_agency(session, BIEN_HOA)
        assert bien_hoa is not None and not bien_hoa.active
        assert bien_hoa.inactive_since == "2025-07-01"
        assert await catalogue_db.inactive_agencies(
            session, ["SXD", LONG_THANH, "UBND-PHUONG-TRANBIEN", BIEN_HOA]
        ) == [LONG_THANH, BIEN_HOA]
        found = await get_dossier(session, led.code)
        assert found is not None
        row, consultations, _ = found
        assert row.lead_agency == BIEN_HOA and [c.agency for c in consultations] == [LONG_THANH]
        listed = await list_dossiers(session, lead_agency=BIEN_HOA, now=LATER)
        assert [d.code for d in listed] == [led.code]
        assert await catalogue_db.agency_names(session, [BIEN_HOA, LONG_THANH]) == {
            BIEN_HOA: "Ủy ban nhân dân thành phố Biên Hòa",
            LONG_THANH: "Ủy ban nhân dân huyện Long Thành",
        }  # the forms and reports still name them
        assert await catalogue_db.agency_names(session, ["SXD"]) == {
            "SXD": "Sở Xây dựng thành phố Đồng Nai"
        }  # the same seed gives the city's name (30/4/2026) to a body stored by the province's
        await sync_calendar_days(session, CALENDAR, date(2025, 1, 1), date(2025, 12, 31))
        delays = await reports.agency_delays(
            session, start=date(2025, 3, 1), end=date(2025, 3, 31), now=LATER
        )
    assert [(r.agency, r.agency_name, r.consultations) for r in delays] == [
        (LONG_THANH, "Ủy ban nhân dân huyện Long Thành", 1)
    ]
