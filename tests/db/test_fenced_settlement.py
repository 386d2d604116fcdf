"""Fenced settlements (v8, issue 12) on SQLite and PostgreSQL: a dossier's read-model write made
inside the workflow task that made the change, so a task the server never had (its worker
killed after the write) may have left in the read model what never happened. The task done
again, later, finds it (`conflict`), and its reset must leave exactly what a clean write leaves:
the events, consultations and row of what the history holds, none of the lost task's unsent
notices, and report totals equal to those recomputed from the rows (R8, R9, R11) — the other
dossiers' shares of the same totals kept. A write of the lost task arriving after that
(`overtaken`) changes nothing.

Dossiers are built through the domain's own doors (`tests.unit.builders`) and written through
the real `settle_dossier` activity, as the worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.settlement import SettlementActivities, SettlementReceipt
from db.models import NoticeRecord
from db.read_model import get_dossier
from db.report_totals import (
    CLOSED_DOSSIER_TOTALS,
    CONSULTATION_TOTALS,
    SOS_TOTALS,
    rebuild_report_totals,
)
from domain.commands import SosAction
from domain.dossier import Dossier
from domain.limits import AS_RECORDED
from domain.notices import Notice
from domain.projection import Settlement, SettlementOutcome, projection
from tests.unit.builders import (
    CODE,
    ENV,
    FIRE,
    LATER,
    OVERDUE,
    consult,
    dossier,
    hand_over,
    record_result,
    remind,
    reply,
    sos,
)

Sessions = async_sessionmaker[AsyncSession]

# The times of the workflow tasks: the first, the lost one, the one done again after it.
FIRST = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
LOST = FIRST + timedelta(seconds=5)
AGAIN = FIRST + timedelta(seconds=20)
OTHERS = ("000.00.06.H19-250303-0002", "000.00.06.H19-250303-0003")
LATE_REASON = "Chờ kết quả kiểm tra hiện trường"


async def settle(sessions: Sessions, settlement: Settlement) -> SettlementReceipt:
    """`settle_dossier` as the worker runs it, its input through JSON as Temporal sends it."""
    sent = Settlement.model_validate_json(settlement.model_dump_json(), context=AS_RECORDED)
    return await ActivityEnvironment().run(SettlementActivities(sessions).settle_dossier, sent)


def fenced(
    d: Dossier, since: int, fence: datetime, notices: list[Notice], *, reset: bool = False
) -> Settlement:
    """What the v8 workflow sends after a change: its projection since the confirmed version
    (everything for a reset), fenced by its task's time."""
    return Settlement(
        projection=projection(d, d.events[-1].at, since=0 if reset else since),
        notices=notices,
        fence=fence,
        confirmed=since,
        reset=reset,
    )


# --- what the lost task did, each on a copy of the dossier consulting FIRE and ENV -----------


def replied_and_stopped(d: Dossier) -> list[Notice]:
    return [*reply(d, FIRE), *reply(d, ENV), *sos(d, SosAction.STOP, at=LATER + timedelta(hours=2))]


def replied_and_closed(d: Dossier) -> list[Notice]:
    sent = [*reply(d, FIRE), *reply(d, ENV)]
    sent += record_result(d, at=LATER + timedelta(hours=1))
    return [*sent, *hand_over(d, at=LATER + timedelta(hours=2))]


def reminded_and_answered_late(d: Dossier) -> list[Notice]:
    return [*remind(d, 1), *reply(d, FIRE, at=OVERDUE, late_reason=LATE_REASON)]


LOST_TASKS: dict[str, Callable[[Dossier], list[Notice]]] = {
    "replied-and-stopped": replied_and_stopped,
    "replied-and-closed": replied_and_closed,
    "reminded-and-answered-late": reminded_and_answered_late,
}


async def other_dossiers(sessions: Sessions) -> None:
    """Two dossiers sharing the lost tasks' total rows: consultations of FIRE requested the same
    day, answered on time; an SOS stop and a close on the same day as theirs."""
    stopped, closed = dossier(code=OTHERS[0]), dossier(code=OTHERS[1])
    for d in (stopped, closed):
        consult(d, (FIRE, ENV))
        reply(d, FIRE)
        reply(d, ENV)
    sos(stopped, SosAction.STOP, at=LATER + timedelta(hours=1))
    record_result(closed, at=LATER + timedelta(hours=1))
    hand_over(closed, at=LATER + timedelta(hours=3))
    for d in (stopped, closed):
        assert (await settle(sessions, fenced(d, 0, FIRST, []))).outcome == "written"


async def totals(sessions: Sessions) -> dict[str, list[dict[str, Any]]]:
    async with sessions() as session:
        connection = await session.connection()
        found = {}
        for table in (CONSULTATION_TOTALS, CLOSED_DOSSIER_TOTALS, SOS_TOTALS):
            rows = (await connection.execute(select(table))).mappings().all()
            found[table.name] = sorted((dict(r) for r in rows), key=repr)
        return found


async def recounted(sessions: Sessions) -> dict[str, list[dict[str, Any]]]:
    """The totals as computed again from the rows (`rebuild_report_totals`)."""
    async with sessions() as session, session.begin():
        await rebuild_report_totals(session)
    return await totals(sessions)


async def read_model(sessions: Sessions, code: str) -> dict[str, Any]:
    """What the read model holds of dossier `code` (its row without the write's own time and
    fence), with the keys of its notices."""
    async with sessions() as session:
        found = await get_dossier(session, code)
        keys = await session.exec(select(NoticeRecord.key).where(NoticeRecord.dossier == code))
        notices = sorted(keys.all())
    assert found is not None
    row, consultations, events = found
    return {
        "dossier": row.model_dump(exclude={"updated_at", "fence"}),
        "consultations": [c.model_dump() for c in consultations],
        "events": [e.model_dump() for e in events],
        "notices": notices,
    }


def event_rows(code: str, d: Dossier) -> list[dict[str, Any]]:
    """The rows the dossier's events should have become."""
    return [
        {
            "dossier": code,
            **e.model_dump(exclude={"detail"}),
            "detail": e.model_dump(mode="json")["detail"],
        }
        for e in d.events
    ]


@pytest.mark.parametrize("lost_task", LOST_TASKS)
async def test_a_lost_tasks_write_is_replaced_by_the_task_done_again_as_if_never_written(
    sessions: Sessions, lost_task: str
) -> None:
    await other_dossiers(sessions)
    base = dossier()
    asked = consult(base, (FIRE, ENV))
    assert (await settle(sessions, fenced(base, 0, FIRST, asked))).outcome == "written"
    confirmed = len(base.events)

    lost = base.model_copy(deep=True)
    lost_notices = LOST_TASKS[lost_task](lost)
    written = await settle(sessions, fenced(lost, confirmed, LOST, lost_notices))
    assert written.outcome == "written"  # the worker wrote, then died before the server had it

    again = base.model_copy(deep=True)  # the task done again: only FIRE answers, on time
    answered = reply(again, FIRE)
    redo = fenced(again, confirmed, AGAIN, answered)
    assert (await settle(sessions, redo)).outcome == SettlementOutcome.CONFLICT
    reset = fenced(again, confirmed, AGAIN, answered, reset=True)
    assert (await settle(sessions, reset)).outcome == SettlementOutcome.WRITTEN

    # Exactly what the history holds: the task done again, nothing of the lost one.
    now = await read_model(sessions, CODE)
    assert now["events"] == event_rows(CODE, again)
    assert [(c["number"], c["status"]) for c in now["consultations"]] == [
        (c.number, c.status.value) for c in again.document(LATER).consultations
    ]
    assert (now["dossier"]["version"], now["dossier"]["status"]) == (
        len(again.events),
        again.status.value,
    )
    assert now["dossier"]["closed_at"] is None
    assert now["notices"] == sorted(n.key for n in [*asked, *answered])
    kept = await totals(sessions)
    assert kept == await recounted(sessions)  # nothing of the lost task left in any sum
    now = await read_model(sessions, CODE)  # (the recount sets the marks it reads by)

    # The lost task's write, arriving late (a worker alive but cut off): refused whole.
    zombie = await settle(sessions, fenced(lost, confirmed, LOST, lost_notices))
    assert zombie.outcome == SettlementOutcome.OVERTAKEN
    assert await read_model(sessions, CODE) == now
    assert await totals(sessions) == kept


async def test_fenced_writes_in_order_and_their_retries_write_once(sessions: Sessions) -> None:
    d = dossier()
    asked = consult(d, (FIRE,))
    first = fenced(d, 0, FIRST, asked)
    assert (await settle(sessions, first)).outcome == "written"
    assert (await settle(sessions, first)).outcome == "written"  # retried: nothing twice
    confirmed = len(d.events)
    answered = reply(d, FIRE)
    assert (await settle(sessions, fenced(d, confirmed, LOST, answered))).outcome == "written"

    now = await read_model(sessions, CODE)
    assert [e["seq"] for e in now["events"]] == list(range(1, len(d.events) + 1))
    assert now["dossier"]["version"] == len(d.events)
    assert now["notices"] == sorted(n.key for n in [*asked, *answered])
    assert await totals(sessions) == await recounted(sessions)


async def test_a_notices_only_settlement_of_an_older_task_writes_nothing(
    sessions: Sessions,
) -> None:
    d = dossier()
    asked = consult(d, (FIRE,))
    assert (await settle(sessions, fenced(d, 0, AGAIN, asked))).outcome == "written"
    late = Settlement(notices=remind(d, 1), fence=LOST, confirmed=len(d.events) - 1)
    assert (await settle(sessions, late)).outcome == SettlementOutcome.OVERTAKEN
    assert (await read_model(sessions, CODE))["notices"] == sorted(n.key for n in asked)
