"""R9 with refused attempts counted on one event (issue 8, `Dossier.record_refused`): the SOS
audit counts every attempt, whether the event was counted again before or after the totals took
it, the same as a rebuild of the totals from the rows; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from db import reports
from db.report_totals import rebuild_report_totals
from domain.commands import SosAction
from domain.projection import DossierProjection, projection
from tests.db.test_read_model import project, view
from tests.reports.test_reports_sql import Sessions, prepared, refuse_sos  # noqa: F401
from tests.unit.builders import FIRE, consult, dossier, vn

FEBRUARY = {"start": date(2025, 2, 1), "end": date(2025, 2, 28)}


async def audit(sessions: Sessions) -> tuple[int, list[tuple[int, int]]]:
    async with sessions() as session:
        found = await reports.sos_audit(session, **FEBRUARY)
    return found.rejected_total, [(r.seq, r.repeated) for r in found.rejected]


async def test_r9_sos_audit_counts_each_attempt_counted_again_on_a_written_event(
    prepared: Sessions,  # noqa: F811
) -> None:
    d = dossier(code="R9-R", at=vn(2025, 2, 3, 9))
    consult(d, (FIRE,), at=vn(2025, 2, 3, 10), deadline=vn(2025, 2, 6, 17))
    refuse_sos(d, SosAction.STOP, vn(2025, 2, 4, 9))
    await project(prepared, view(d))  # written and counted once
    written, seq = len(d.events), d.events[-1].seq
    older = view(d)
    refuse_sos(d, SosAction.STOP, vn(2025, 2, 4, 10))  # identical: counted on that event
    refuse_sos(d, SosAction.STOP, vn(2025, 2, 5, 9))
    assert len(d.events) == written and d.events[-1].detail["repeated"] == 3
    revised = projection(d, vn(2025, 2, 5, 9), since=written, revised=[seq])
    await project(prepared, DossierProjection.model_validate_json(revised.model_dump_json()))
    await project(prepared, older)  # a late retry of the older write changes nothing

    assert await audit(prepared) == (3, [(seq, 3)])
    async with prepared() as session:
        await rebuild_report_totals(session)
        await session.commit()
    assert await audit(prepared) == (3, [(seq, 3)])


async def test_r9_an_event_counted_again_before_the_totals_took_it_is_counted_whole(
    prepared: Sessions,  # noqa: F811
) -> None:
    d = dossier(code="R9-S", at=vn(2025, 2, 3, 9))
    consult(d, (FIRE,), at=vn(2025, 2, 3, 10), deadline=vn(2025, 2, 6, 17))
    refuse_sos(d, SosAction.STOP, vn(2025, 2, 4, 9))
    refuse_sos(d, SosAction.STOP, vn(2025, 2, 4, 10))
    await project(prepared, view(d))
    assert await audit(prepared) == (2, [(d.events[-1].seq, 2)])
