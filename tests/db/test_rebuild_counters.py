"""Issue 11: after a rebuild, the daily counters of dossier codes stand past every code found, so
that the next dossier received never gets a code already given (Circular 03/2025 art. 13)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.dossier_codes import restore_counters
from db.models import DossierCodeCounter

CODES = ["000.00.06.H19-261206-0003", "000.00.06.H19-261206-0007", "H19-261205-12000", "T-4f2a"]


async def test_issue_11_counters_raised_to_the_highest_code_of_each_unit_and_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(DossierCodeCounter(unit_id="000.00.06.H19", day="261206", last=9))
        session.add(DossierCodeCounter(unit_id="H19", day="261205", last=5))

    async with sessions() as session, session.begin():
        assert await restore_counters(session, CODES) == 2
        assert await restore_counters(session, ["T-given-explicitly"]) == 0

    async with sessions() as session:
        rows = (await session.exec(select(DossierCodeCounter))).all()
        counters = {(r.unit_id, r.day): r.last for r in rows}
    # raised, never lowered: a number handed out whose dossier never started stays used
    assert counters == {("000.00.06.H19", "261206"): 9, ("H19", "261205"): 12000}
