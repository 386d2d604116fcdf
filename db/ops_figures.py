"""The figures ops staff watch, read from the read model at each metrics scrape (one cheap query
each, on the indexes the inbox and the outbox already have), so they are right whatever the
number of API processes; and the record of the last sweep run they come with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ConsultationRecord, DossierRecord, NoticeRecord, SweepRunRecord
from domain.dossier import ConsultationStatus
from domain.notices import NoticeKind

ENDED_RUNS_SWEEP = "ended_runs"  # the sweep of `activities.ended_runs`
REMINDERS = (NoticeKind.REMINDER_1.value, NoticeKind.REMINDER_2.value)
AWAITED = (ConsultationStatus.AWAITING.value, ConsultationStatus.OVERDUE.value)
# A delivery not yet done: not tried yet, or tried and to be retried (`activities.delivery`).
UNDELIVERED = ("pending", "failed_attempt")


@dataclass(frozen=True)
class OpsFigures:
    """What the metrics scrape publishes of the read model, as of `now`."""

    open_dossiers: dict[tuple[str, str], int]  # by (status, lead agency)
    overdue_consultations: dict[str, int]  # by consulted agency
    reminders_sent: dict[str, int]  # by kind, ever
    undelivered_notices: dict[str, int]  # by delivery status
    oldest_undelivered_at: datetime | None
    sweep_finished_at: datetime | None


async def read_ops_figures(session: AsyncSession, now: datetime) -> OpsFigures:
    d, c, n = DossierRecord, ConsultationRecord, NoticeRecord
    open_dossiers = await session.exec(
        select(d.status, d.lead_agency, func.count())
        .where(col(d.closed_at).is_(None))
        .group_by(d.status, d.lead_agency)
    )
    overdue = await session.exec(
        select(c.agency, func.count())
        .where(col(c.status).in_(AWAITED), col(c.deadline) < now)
        .group_by(c.agency)
    )
    reminders = await session.exec(
        select(n.kind, func.count()).where(col(n.kind).in_(REMINDERS)).group_by(n.kind)
    )
    undelivered = (
        await session.exec(
            select(n.delivery_status, func.count(), func.min(n.recorded_at))
            .where(col(n.delivery_status).in_(UNDELIVERED))
            .group_by(n.delivery_status)
        )
    ).all()
    sweep = await session.get(SweepRunRecord, ENDED_RUNS_SWEEP)
    oldest = [at for _, _, at in undelivered if at is not None]
    return OpsFigures(
        open_dossiers={(status, agency): k for status, agency, k in open_dossiers},
        overdue_consultations=dict(overdue.all()),
        reminders_sent=dict(reminders.all()),
        undelivered_notices={status: k for status, k, _ in undelivered},
        oldest_undelivered_at=min(oldest, default=None),
        sweep_finished_at=sweep.finished_at if sweep else None,
    )


async def record_sweep_run(
    session: AsyncSession, name: str, finished_at: datetime, listed: int, closed: int
) -> None:
    """Record that the sweep `name` finished at `finished_at`, and commit."""
    await session.merge(
        SweepRunRecord(name=name, finished_at=finished_at, listed=listed, closed=closed)
    )
    await session.commit()
