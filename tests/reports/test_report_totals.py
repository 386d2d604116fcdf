"""The report totals (`db.report_totals`) on SQLite and PostgreSQL: the sums the reports read
are the same whether a dossier was projected change by change (each projection retried, an old
one arriving late), recomputed from the rows (`rebuild_report_totals`), or built by migration
0005 over rows written before it; and a changed calendar recomputes the delays (R8, R9, R11).

The reports' figures themselves are checked in `test_reports_sql.py`, over the same totals.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import select

from db import reports
from db.migrate import alembic_config, sync_calendar, upgrade
from db.report_totals import (
    CLOSED_DOSSIER_TOTALS,
    CONSULTATION_TOTALS,
    SOS_TOTALS,
    rebuild_report_totals,
)
from domain.commands import SosAction
from domain.dossier import Dossier
from tests.db.test_read_model import project, view
from tests.reports.test_reports_sql import (
    AS_OF,
    Sessions,
    on_time_corpus,
    prepared,  # noqa: F401 (a fixture)
    r8_corpus,
    r9_settled,
    refuse_sos,
    settle,
)
from tests.unit.builders import (
    ENV,
    FIRE,
    LEAD,
    confirm_withdrawal,
    consult,
    dossier,
    hand_over,
    record_result,
    remind,
    reply,
    request_withdrawal,
    resume,
    sos,
    vn,
)

YEAR = {"start": date(2025, 1, 1), "end": date(2025, 12, 31)}


async def everything(sessions: Sessions) -> dict[str, Any]:
    """The three reports read from the totals over 2025, and the totals' rows themselves."""
    async with sessions() as session:
        connection = await session.connection()
        tables = {
            table.name: sorted(map(tuple, await connection.execute(select(table))))
            for table in (CONSULTATION_TOTALS, CLOSED_DOSSIER_TOTALS, SOS_TOTALS)
        }
        return {
            "agency_delays": [
                r.model_dump() for r in await reports.agency_delays(session, now=AS_OF, **YEAR)
            ],
            "sos_audit": (await reports.sos_audit(session, **YEAR)).model_dump(),
            "on_time": (await reports.on_time(session, **YEAR)).model_dump(),
            **tables,
        }


async def rebuilt(sessions: Sessions) -> dict[str, Any]:
    async with sessions() as session:
        await rebuild_report_totals(session)
        await session.commit()
    return await everything(sessions)


class StepByStep:
    """Projects a dossier after each change as its workflow does (the events since the last
    projection), every projection twice: the second is a retry of an activity that committed."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.since: dict[str, int] = {}

    async def __call__(self, d: Dossier) -> None:
        p = view(d, since=self.since.get(d.code, 0))
        await project(self.sessions, p)
        await project(self.sessions, p)
        self.since[d.code] = len(d.events)


async def test_totals_of_changes_projected_one_by_one_and_retried_equal_a_rebuild(
    prepared: Sessions,  # noqa: F811
) -> None:
    step = StepByStep(prepared)
    a = dossier(code="STEP-A", at=vn(2025, 2, 3, 9))
    consult(a, (FIRE, ENV), at=vn(2025, 2, 3, 10), deadline=vn(2025, 2, 6, 17))
    await step(a)
    reply(a, FIRE, at=vn(2025, 2, 5, 10))  # on time
    await step(a)
    remind(a, 2)  # ENV's reminder 1, at the deadline
    early = view(a)  # a projection that will arrive after newer ones (applied=False)
    await step(a)
    refuse_sos(a, SosAction.STOP, vn(2025, 2, 7, 9))  # R4: ENV awaited
    await step(a)
    reply(a, ENV, at=vn(2025, 2, 11, 10), late_reason="Chờ ý kiến thẩm định")  # 3 days late
    await step(a)
    sos(a, SosAction.STOP, at=vn(2025, 2, 12, 9))
    await step(a)
    resume(a, at=vn(2025, 2, 13, 9))
    record_result(a, at=vn(2025, 2, 14, 9))
    await step(a)
    hand_over(a, at=vn(2025, 2, 14, 10))
    await step(a)  # closed
    b = dossier(code="STEP-B", at=vn(2025, 2, 3, 9))
    consult(b, (FIRE,), at=vn(2025, 2, 3, 10), deadline=vn(2025, 2, 6, 17))
    await step(b)
    request_withdrawal(b, at=vn(2025, 2, 4, 9))
    confirm_withdrawal(b, at=vn(2025, 2, 4, 10))  # R6: FIRE's consultation cancelled
    await step(b)
    await project(prepared, early)

    found = await everything(prepared)

    delays = {r["agency"]: r for r in found["agency_delays"]}
    assert {
        agency: (r["consultations"], r["answered_on_time"], r["answered_late"], r["cancelled"])
        for agency, r in delays.items()
    } == {FIRE: (2, 1, 0, 1), ENV: (1, 0, 1, 0)}
    assert (delays[ENV]["reminders_1"], delays[ENV]["delay_working_days_total"]) == (1, 3)
    assert [
        (s["agency"], s["action"], s["accepted"], s["rejected"])
        for s in found["sos_audit"]["by_agency"]
    ] == [(LEAD, "stop", 1, 1)]
    (lead,) = found["on_time"]["by_agency"]
    assert (lead["closed"], lead["completed"], lead["stopped"], lead["withdrawn"]) == (2, 1, 1, 1)
    assert await rebuilt(prepared) == found


async def test_rebuilding_the_totals_of_every_corpus_changes_no_figure(
    prepared: Sessions,  # noqa: F811
) -> None:
    await settle(prepared, *r8_corpus(), now=AS_OF)
    await r9_settled(prepared)  # with a refusal the API records on a closed dossier
    await settle(prepared, *on_time_corpus())
    found = await everything(prepared)
    assert found["consultation_totals"] and found["closed_dossier_totals"]
    assert found["sos_totals"]

    assert await rebuilt(prepared) == found
    assert await rebuilt(prepared) == found  # and again: a rebuild starts from nothing


async def test_migration_0005_sums_the_rows_written_before_it(
    prepared: Sessions,  # noqa: F811
    database_url: str,
) -> None:
    await settle(prepared, *r8_corpus(), now=AS_OF)
    await r9_settled(prepared)
    await settle(prepared, *on_time_corpus())
    found = await everything(prepared)

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0004")
    await asyncio.to_thread(upgrade, database_url)

    assert await everything(prepared) == found


async def test_a_changed_calendar_recomputes_the_delays_in_the_totals(
    prepared: Sessions,  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    a = dossier(code="CAL-A", at=vn(2025, 3, 3, 9))
    consult(a, (ENV,), at=vn(2025, 3, 3, 10), deadline=vn(2025, 3, 5, 17))  # Wednesday
    reply(a, ENV, at=vn(2025, 3, 10, 10), late_reason="Chờ hồ sơ")  # Thu, Fri, Mon: 3 days
    await settle(prepared, a)

    async def delay() -> int:
        async with prepared() as session:
            (row,) = await reports.agency_delays(session, now=AS_OF, **YEAR)
        return row.delay_working_days_total

    assert await delay() == 3
    overrides = tmp_path / "overrides.toml"
    overrides.write_text(
        '[[day_off]]\ndate = 2025-03-07\nname = "Ngày nghỉ của tỉnh"\n'
        'source = "Quyết định của tỉnh"\n'
    )
    written = await sync_calendar(
        database_url, first=date(2025, 1, 1), last=date(2025, 12, 31), overrides=overrides
    )

    assert written > 0
    assert await delay() == 2  # Friday 7/3 is no longer a working day
