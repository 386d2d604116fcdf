"""The desk that received a dossier for its lead agency (issue 10, Decree 118/2025) in the read
model, on SQLite and PostgreSQL: migration 0010 gives every dossier stored before it its lead
agency as receiving desk; a projection stores the desk; the desk reads the dossier (a party
that acts on nothing), and the document read back names it only when it is not the lead."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.views import document_of
from db.migrate import alembic_config, upgrade
from db.read_model import get_dossier, parties
from domain import rules
from domain.dossier import Dossier, receive
from tests.db.test_read_model import project, view
from tests.unit.builders import (
    APPLICANT,
    FIRE,
    HOME_AFFAIRS,
    LEAD,
    NOW,
    PROCEDURE,
    dossier,
    officer,
    read,
)

Sessions = async_sessionmaker[AsyncSession]
DESK = "TTHCC"  # the province's Public Administrative Service Centre


def received_at_desk(code: str = "000.00.01.H19-250303-0001") -> Dossier:
    return read(
        receive(
            code=code,
            procedure=PROCEDURE,
            applicant=APPLICANT,
            home_affairs_agency=HOME_AFFAIRS,
            received_at=NOW,
            received_by=officer(DESK),
            receiving_desk=DESK,
        )
    )


async def desk_column(sessions: Sessions) -> dict[str, str | None]:
    async with sessions() as session:
        connection = await session.connection()
        rows = (await connection.execute(text("SELECT code, receiving_desk FROM dossiers"))).all()
    return {code: desk for code, desk in rows}


async def test_migration_0010_gives_existing_dossiers_their_lead_agency_as_desk(
    database_url: str, sessions: Sessions
) -> None:
    old = dossier()
    await project(sessions, view(old))
    # back to before 0010: the column goes, the dossier stays, as a database of then holds it
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0009")
    async with sessions() as session:
        connection = await session.connection()
        assert (await connection.execute(text("SELECT count(*) FROM dossiers"))).scalar() == 1
    await asyncio.to_thread(upgrade, database_url)
    assert await desk_column(sessions) == {old.code: LEAD}
    async with sessions() as session:
        found = await get_dossier(session, old.code)
        assert found is not None
        assert document_of(*found).receiving_desk is None  # the lead received it itself
        assert await parties(session, old.code) == rules.Parties(LEAD, frozenset(), None)


async def test_a_dossier_received_at_a_desk_names_it_and_the_desk_reads_but_is_no_party(
    database_url: str, sessions: Sessions
) -> None:
    at_desk = received_at_desk()
    assert at_desk.receiving_desk == DESK and at_desk.lead_agency == LEAD
    assert at_desk.events[0].detail["receiving_desk"] == DESK
    await project(sessions, view(at_desk))
    at_lead = dossier()
    assert "receiving_desk" not in at_lead.events[0].detail  # as before issue 10
    await project(sessions, view(at_lead))
    assert await desk_column(sessions) == {at_desk.code: DESK, at_lead.code: LEAD}
    async with sessions() as session:
        found = await get_dossier(session, at_desk.code)
        assert found is not None
        assert document_of(*found).receiving_desk == DESK
        desk_parties = await parties(session, at_desk.code)
    assert desk_parties == rules.Parties(LEAD, frozenset(), DESK)
    assert rules.may_see(officer(DESK), desk_parties)
    assert not rules.is_party(officer(DESK), desk_parties)  # it does not act for the lead
    assert rules.is_party(officer(LEAD), desk_parties)
    assert not rules.may_see(officer(FIRE), desk_parties)
