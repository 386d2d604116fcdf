"""The oversight reports (API.md, "Oversight reports"; R8, R9, R11, R13), as SQL aggregations.

The figures come from daily sums the projections keep as they write (`db.report_totals`):
`consultation_totals` for the final consultations, `closed_dossier_totals` for the closed
dossiers, `sos_totals` for SOS events. A year of a million dossiers is then a few thousand sums
read by day (each report well under 100 ms at that size, `make bench-reports`), plus the live
part that moves with the clock: the open consultations, overdue or not at `now`, found by a
partial index. The lists (refused SOS attempts, dossiers late without an apology) read the
events by kind and time, a page at a time.

How they count:

- **A period** is a range of local dates (Asia/Ho_Chi_Minh), both ends included; it becomes the
  half-open range of instants [from 00:00, the day after `to` 00:00) in local time, which the
  indexes on the instants serve as they are.
- **Working days** (R11) come from `calendar_days` (`db.calendar_days`): the delay from instant
  a to instant b is `index(local date of b) - index(local date of a)`, at least 0, which is
  `WorkingCalendar.working_days_between(a, b)`: the working days after a's day up to b's day.
- **Delays of consulted agencies** (R8): a late answer's delay runs from its deadline to its
  answer; an unanswered consultation past its deadline, from the deadline to `now`. A
  consultation cancelled (by a confirmed withdrawal, R6) counts apart, with no delay and not as
  overdue: it no longer awaited anything. Its reminders still count: they were sent.
- **The R11 categories** (early / on time / late: Circular 01/2018 art. 13 and the marks of the
  control slip, form 06 of Circular 03/2025/TT-VPCP; docs/legal-frame.md): a completed dossier
  is early, on time or late by the local date of its handover against the local date it was due
  (same day: on time), late as well when it went late (its `late` event). One that was stopped
  (SOS stop) or supplemented and is not late is never counted early or on time: it shows apart,
  as the letter asks, because the stop and the fresh clock of a supplement move its due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, computed_field
from sqlalchemy import (
    ColumnElement,
    Executable,
    Result,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    AgencyRecord,
    CalendarDayRecord,
    ClosedDossierTotal,
    ConsultationRecord,
    ConsultationTotal,
    DossierRecord,
    EventRecord,
    SosTotal,
)
from db.types import local_date
from domain.localtime import VN
from domain.localtime import local_date as local_date_of

_dossiers = DossierRecord.__table__  # type: ignore[attr-defined]
_consultations = ConsultationRecord.__table__  # type: ignore[attr-defined]
_events = EventRecord.__table__  # type: ignore[attr-defined]
_calendar = CalendarDayRecord.__table__  # type: ignore[attr-defined]
# The daily sums the reports add up (kept by db.report_totals).
_consultation_totals = ConsultationTotal.__table__  # type: ignore[attr-defined]
_closed_totals = ClosedDossierTotal.__table__  # type: ignore[attr-defined]
_sos_totals = SosTotal.__table__  # type: ignore[attr-defined]
_agencies = AgencyRecord.__table__  # type: ignore[attr-defined]

# The accepted SOS actions, by the kind of their event (domain.dossier.Dossier.sos).
SOS_EVENT_KINDS = {"sos_supplement": "supplement", "sos_stop": "stop", "sos_return": "return"}
REFUSED = "refused"


class CalendarNotSynced(LookupError):
    """`calendar_days` lacks a day a report needs: the database was not prepared by
    `python -m db.migrate` (which writes the calendar), or not for this long."""


@dataclass(frozen=True)
class Period:
    """Local dates `start` to `end`, both included (a report's `from` and `to`)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def lower(self) -> datetime:
        """The first instant of the period: 00:00 on `start` in Vietnam."""
        return datetime.combine(self.start, time(), VN).astimezone(UTC)

    @property
    def upper(self) -> datetime:
        """The first instant after the period: 00:00 on the day after `end` in Vietnam."""
        return datetime.combine(self.end + timedelta(days=1), time(), VN).astimezone(UTC)

    def holds(self, at: Any) -> ColumnElement[bool]:
        """SQL: the instant column `at` falls in the period (a range its index serves)."""
        return and_(at >= self.lower, at < self.upper)


def working_days(start_index: Any, end_index: Any) -> ColumnElement[int]:
    """SQL: the working days after the day of `start_index` up to the day of `end_index` (the
    `working_index` of two `calendar_days` rows), 0 when the end is not later; NULL when either
    day is missing from the calendar (sums and maxima leave it out rather than count 0)."""
    return case((end_index > start_index, end_index - start_index), (end_index <= start_index, 0))


def day_of(at: Any, alias: str) -> tuple[Any, ColumnElement[bool]]:
    """The `calendar_days` row of the local date of instant column `at`: the aliased table to
    outer-join and its join condition."""
    day = _calendar.alias(alias)
    return day, day.c.day == local_date(at)


async def working_index_of(session: AsyncSession, day: date) -> int:
    """The `working_index` of local `day`; CalendarNotSynced if the table lacks it."""
    found = (
        await _run(session, select(_calendar.c.working_index).where(_calendar.c.day == day))
    ).scalar_one_or_none()
    if found is None:
        raise CalendarNotSynced(
            f"calendar_days has no row for {day.isoformat()}: run `python -m db.migrate`"
        )
    return int(found)


async def plan_for_each_period(session: AsyncSession) -> None:
    """PostgreSQL: plan the transaction's statements for their own parameters. After five runs
    of a prepared statement it may switch to a generic plan, blind to how many rows a period
    holds: the SOS audit's page of refusals went from 4 to 22 ms so at a million dossiers."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


async def _run(session: AsyncSession, query: Executable) -> Result[*tuple[Any, ...]]:
    """Run a Core statement in the session's transaction (its rows are figures, not objects)."""
    return await (await session.connection()).execute(query)


def count_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SQL: how many rows meet `condition` (0 for none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- R8: consulted agencies' delays ------------------------------------------------------------


class AgencyDelayRow(BaseModel):
    """One consulted agency's consultations requested in the period (R8; API.md's fields, then
    `agency_name`, `awaiting`, `cancelled` and `on_time_share`)."""

    agency: str
    consultations: int  # every consultation requested in the period, cancelled ones included
    answered_on_time: int  # answered by the deadline
    answered_late: int
    overdue_unanswered: int  # past the deadline at `now`, no answer, not cancelled
    reminders_1: int
    reminders_2: int
    delay_working_days_total: int  # of late answers and overdue unanswered consultations
    delay_working_days_max: int
    late_without_cause: int  # late answers that state no cause (R7)
    agency_name: str | None
    awaiting: int  # not answered, deadline not passed yet
    cancelled: int  # cancelled by a confirmed withdrawal (R6): no delay, not overdue

    @computed_field  # type: ignore[prop-decorator]
    @property
    def on_time_share(self) -> float | None:
        """DOMAIN.md's figure of the unit's own time against its allotted time: answered on
        time over those answered or due by now; None when none was."""
        due = self.answered_on_time + self.answered_late + self.overdue_unanswered
        return _share(self.answered_on_time, due)


async def agency_delays(
    session: AsyncSession, *, start: date, end: date, now: datetime
) -> list[AgencyDelayRow]:
    """Per consulted agency, its consultations requested from `start` to `end` (local dates),
    as they stand at `now` (R8), by agency code. Raises CalendarNotSynced if the working-day
    calendar lacks `now`'s day.

    The final consultations come from `consultation_totals`; the open ones (not yet counted
    there) are counted live, since their state and delay move with `now`."""
    period = Period(start, end)
    await plan_for_each_period(session)
    now_index = await working_index_of(session, local_date_of(now))
    t = _consultation_totals.c
    counted = (
        select(
            t.agency,
            *(func.sum(t[name]).label(name) for name in _SUMMED_CONSULTATION_FIGURES),
            func.max(t.delay_working_days_max).label("delay_working_days_max"),
        )
        .where(t.day >= start, t.day <= end)
        .group_by(t.agency)
    )
    figures: dict[str, dict[str, int]] = {}
    for query in (counted, _open_consultations(period, now, now_index)):
        for row in (await _run(session, query)).mappings():
            into = figures.setdefault(row["agency"], dict(_NO_CONSULTATIONS))
            for name, value in row.items():
                if name == "delay_working_days_max":
                    into[name] = max(into[name], int(value))
                elif name != "agency":
                    into[name] += int(value)
    names = await _agency_names(session)
    return [
        AgencyDelayRow(agency=agency, agency_name=names.get(agency), **figures[agency])
        for agency in sorted(figures)
    ]


_SUMMED_CONSULTATION_FIGURES = (
    "consultations",
    "answered_on_time",
    "answered_late",
    "cancelled",
    "reminders_1",
    "reminders_2",
    "delay_working_days_total",
    "late_without_cause",
)
_NO_CONSULTATIONS = dict.fromkeys(
    (*_SUMMED_CONSULTATION_FIGURES, "delay_working_days_max", "overdue_unanswered", "awaiting"), 0
)


@dataclass(frozen=True)
class ConsultationTerms:
    """R8's terms on a consultation row, named once for the totals (`db.report_totals`) and for
    the live count of the open ones: `rows` is the consultations with the calendar days of their
    deadline and of their answer joined, which the other terms read."""

    rows: Any
    final: ColumnElement[bool]  # answered or cancelled: nothing of it changes any more
    cancelled: ColumnElement[bool]  # by a confirmed withdrawal (R6)
    on_time: ColumnElement[bool]  # answered by the deadline
    late: ColumnElement[bool]  # answered after it
    without_cause: ColumnElement[bool]  # answered late with no cause (R7)
    late_delay: ColumnElement[int]  # working days from the deadline to a late answer
    deadline_index: ColumnElement[int]  # the deadline's day's `working_index`


def consultation_terms() -> ConsultationTerms:
    c = _consultations.c
    deadline_day, on_deadline_day = day_of(c.deadline, "deadline_day")
    reply_day, on_reply_day = day_of(c.replied_at, "reply_day")
    answered, cancelled = c.replied_at.is_not(None), c.status == "cancelled"
    late = and_(answered, c.replied_at > c.deadline)
    return ConsultationTerms(
        rows=_consultations.outerjoin(deadline_day, on_deadline_day).outerjoin(
            reply_day, on_reply_day
        ),
        final=or_(answered, cancelled),
        cancelled=cancelled,
        on_time=and_(answered, c.replied_at <= c.deadline),
        late=late,
        without_cause=and_(late, or_(c.late_reason.is_(None), func.trim(c.late_reason) == "")),
        late_delay=working_days(deadline_day.c.working_index, reply_day.c.working_index),
        deadline_index=deadline_day.c.working_index,
    )


def _open_consultations(period: Period, now: datetime, now_index: int) -> Select[Any]:
    """The consultations requested in `period` that the totals do not hold yet (the open ones,
    found by a partial index), summed per agency as they stand at `now`."""
    c, t = _consultations.c, consultation_terms()
    unanswered = and_(c.replied_at.is_(None), not_(t.cancelled))
    overdue = and_(unanswered, c.deadline < now)
    delay = case(
        (t.late, t.late_delay),
        (overdue, working_days(t.deadline_index, literal(now_index))),
        else_=None,
    )
    # Plain conditions per count: cheaper than a state column computed once (which would cost a
    # fence against inlining, and with it the parallel scan).
    return (
        select(
            c.agency,
            func.count().label("consultations"),
            count_of(t.on_time).label("answered_on_time"),
            count_of(t.late).label("answered_late"),
            count_of(overdue).label("overdue_unanswered"),
            count_of(and_(unanswered, c.deadline >= now)).label("awaiting"),
            count_of(t.cancelled).label("cancelled"),
            func.count(c.reminder_1_at).label("reminders_1"),
            func.count(c.reminder_2_at).label("reminders_2"),
            func.coalesce(func.sum(delay), 0).label("delay_working_days_total"),
            func.coalesce(func.max(delay), 0).label("delay_working_days_max"),
            count_of(t.without_cause).label("late_without_cause"),
        )
        .select_from(t.rows)
        .where(period.holds(c.requested_at), not_(c.counted))
        .group_by(c.agency)
    )


async def _agency_names(session: AsyncSession) -> dict[str, str]:
    """The catalogue's agency names by code (a few dozen rows), for the reports' readers."""
    agencies = await _run(session, select(_agencies.c.code, _agencies.c.name))
    return {code: name for code, name in agencies}


# --- R9: the SOS audit ---------------------------------------------------------------------------


class SosByAgency(BaseModel):
    """SOS actions of one agency and one kind in the period: accepted (events of the dossiers
    it leads) and refused (attempts by its staff)."""

    agency: str
    action: str
    accepted: int
    rejected: int


class AwaitedAgency(BaseModel):
    """An agency whose opinion was awaited when an SOS was refused (R4), as the refusal named
    it."""

    agency: str
    deadline: datetime
    overdue: bool


class RejectedSos(BaseModel):
    """One refused SOS attempt (R9): who, when, what, why, and what was awaited (API.md's
    fields, then `actor_agency`, `code`, `request_reason` and `seq`)."""

    dossier: str
    at: datetime
    actor: str
    action: str | None  # the SOS action attempted: supplement, stop or return
    reason: str | None  # why it was refused (the refusal's message)
    awaiting: list[AwaitedAgency]
    actor_agency: str | None
    code: str | None  # the refusal's code, e.g. sos_rejected_awaiting_replies
    request_reason: str | None  # the reason the officer gave for the SOS
    repeated: int = 1  # identical attempts counted on this one (the first at `at`)
    seq: int


class SosAudit(BaseModel):
    """The audit of the period (R9): SOS actions per agency, the refused attempts, and counts of
    dossiers closed against the rules (API.md's fields, then `rejected_total`)."""

    by_agency: list[SosByAgency]
    rejected: list[RejectedSos]
    closed_without_result: int  # completed without a `result` event (R5: should be 0)
    withdrawals_without_head_confirmation: int  # withdrawn without `withdrawal_confirmed` (R6)
    abnormal_closes: int  # ended from outside the rules (R5), as the workflow recorded it
    rejected_total: int  # all refused SOS attempts of the period; `rejected` may be one page


def _refused_sos(period: Period) -> Select[Any]:
    """The period's refused SOS attempts, their facts pulled out of the event's detail."""
    e = _events.c
    return (
        select(
            e.dossier,
            e.seq,
            e.at,
            e.actor,
            e.detail["actor_agency"].as_string().label("actor_agency"),
            e.detail[("request", "action")].as_string().label("action"),
            e.detail["code"].as_string().label("code"),
            e.detail["reason"].as_string().label("reason"),
            e.detail[("request", "reason")].as_string().label("request_reason"),
            e.detail["awaiting"].label("awaiting"),
            func.coalesce(e.detail["repeated"].as_integer(), 1).label("repeated"),
        )
        .where(e.kind == REFUSED, period.holds(e.at))
        .where(e.detail["action"].as_string() == "sos")
    )


async def sos_audit(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    rejected_limit: int | None = None,
    rejected_after: tuple[datetime, str, int] | None = None,
) -> SosAudit:
    """The SOS audit of `start` to `end` (local dates; R9). `rejected` lists the refused
    attempts by time, then dossier and seq: all of them, or `rejected_limit` after the
    (at, dossier, seq) `rejected_after`, for pages.

    The counts of dossiers closed against the rules take the dossiers closed in the period.
    """
    period = Period(start, end)
    await plan_for_each_period(session)
    e, t = _events.c, _sos_totals.c
    per_agency = (
        select(t.agency, t.action, func.sum(t.accepted), func.sum(t.rejected))
        .where(t.day >= start, t.day <= end)
        .group_by(t.agency, t.action)
        .order_by(t.agency, t.action)
    )
    by_agency = [
        SosByAgency(agency=agency, action=action, accepted=accepted, rejected=rejected)
        for agency, action, accepted, rejected in await _run(session, per_agency)
    ]

    listed = _refused_sos(period).order_by(e.at, e.dossier, e.seq)
    if rejected_after is not None:
        at, dossier, seq = rejected_after
        listed = listed.where(
            or_(
                e.at > at,
                and_(e.at == at, or_(e.dossier > dossier, and_(e.dossier == dossier, e.seq > seq))),
            )
        )
    if rejected_limit is not None:
        listed = listed.limit(rejected_limit)
    rejected = [
        RejectedSos.model_validate({**row, "awaiting": row["awaiting"] or []})
        for row in (await _run(session, listed)).mappings()
    ]

    k = _closed_totals.c
    closes = (
        await _run(
            session,
            select(
                func.coalesce(func.sum(k.without_result), 0),
                func.coalesce(func.sum(k.withdrawn_unconfirmed), 0),
                func.coalesce(func.sum(k.abnormal), 0),
            ).where(k.day >= start, k.day <= end),
        )
    ).one()
    return SosAudit(
        by_agency=by_agency,
        rejected=rejected,
        closed_without_result=closes[0],
        withdrawals_without_head_confirmation=closes[1],
        abnormal_closes=closes[2],
        rejected_total=sum(row.rejected for row in by_agency),
    )


# --- R11: on time: early, on time or late, stopped and supplemented apart ---------------------


class OnTimeCounts(BaseModel):
    """Dossiers closed in the period, by how they closed and, if completed, how on time.

    `closed` = `completed` + `returned` + `withdrawn` + `abnormal`; `completed` = `early` +
    `on_time` + `late` + `stopped` + `supplemented`. A stopped or supplemented dossier that was
    not late is counted there, never as early or on time (R11).
    """

    closed: int = 0
    completed: int = 0
    early: int = 0  # handed over before the day it was due
    on_time: int = 0  # on the day it was due
    late: int = 0  # after that day, or marked late at its due time
    stopped: int = 0  # not late, but stopped by an SOS stop on the way
    supplemented: int = 0  # not late, not stopped, but its clock restarted for a supplement
    returned: int = 0
    withdrawn: int = 0
    abnormal: int = 0  # ended from outside the rules (R5)
    apologised: int = 0  # of those closed, how many had an apology and a new date (R13)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def on_time_share(self) -> float | None:
        """(early + on_time) / completed; None when none was completed."""
        return _share(self.early + self.on_time, self.completed)

    def add(self, other: OnTimeCounts) -> None:
        """Add `other`'s counts to these."""
        for name in _COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTED = list(OnTimeCounts.model_fields)
# The R11 categories of a completed dossier.
CATEGORIES = ("early", "on_time", "late", "stopped", "supplemented")


class OnTimeByAgency(OnTimeCounts):
    lead_agency: str
    agency_name: str | None = None


class OnTimeByProcedure(OnTimeCounts):
    lead_agency: str
    procedure_code: str
    procedure_name: str


class OnTimeByDesk(OnTimeCounts):
    """The dossiers received at one desk (Decree 118/2025: receipt at any desk), whoever led
    them; a lead agency's own receipts count under it as a desk too."""

    receiving_desk: str
    desk_name: str | None = None


class OnTimeReport(BaseModel):
    by_agency: list[OnTimeByAgency]
    by_procedure: list[OnTimeByProcedure]
    by_desk: list[OnTimeByDesk] = []


async def on_time(session: AsyncSession, *, start: date, end: date) -> OnTimeReport:
    """The dossiers closed from `start` to `end` (local dates), per lead agency and per
    procedure, and per receiving desk, in the R11 categories (see the module's docstring), added
    up from `closed_dossier_totals`."""
    Period(start, end)  # refuses a period that ends before it starts
    k = _closed_totals.c
    query = (
        select(
            k.lead_agency,
            k.procedure_code,
            func.max(k.procedure_name).label("procedure_name"),
            *(func.sum(k[name]).label(name) for name in _COUNTED),
        )
        .where(k.day >= start, k.day <= end)
        .group_by(k.lead_agency, k.procedure_code)
        .order_by(k.lead_agency, k.procedure_code)
    )
    names = await _agency_names(session)
    by_procedure: list[OnTimeByProcedure] = []
    by_agency: dict[str, OnTimeByAgency] = {}
    for row in (await _run(session, query)).mappings():
        counts = {name: int(row[name]) for name in _COUNTED}
        procedure = OnTimeByProcedure(
            lead_agency=row["lead_agency"],
            procedure_code=row["procedure_code"],
            procedure_name=row["procedure_name"],
            **counts,
        )
        by_procedure.append(procedure)
        lead = row["lead_agency"]
        agency = by_agency.setdefault(
            lead, OnTimeByAgency(lead_agency=lead, agency_name=names.get(lead))
        )
        agency.add(procedure)
    desks = (
        select(k.receiving_desk, *(func.sum(k[name]).label(name) for name in _COUNTED))
        .where(k.day >= start, k.day <= end)
        .group_by(k.receiving_desk)
        .order_by(k.receiving_desk)
    )
    by_desk = [
        OnTimeByDesk(
            receiving_desk=row["receiving_desk"],
            desk_name=names.get(row["receiving_desk"]),
            **{name: int(row[name]) for name in _COUNTED},
        )
        for row in (await _run(session, desks)).mappings()
    ]
    return OnTimeReport(
        by_agency=list(by_agency.values()), by_procedure=by_procedure, by_desk=by_desk
    )


# --- R13: late without an apology -----------------------------------------------------------------


class LateWithoutApology(BaseModel):
    """A dossier that went late in the period with no apology and new date ever given (R13)."""

    dossier: str
    lead_agency: str
    procedure_code: str
    procedure_name: str
    status: str  # as it stands now
    due_at: datetime  # the due time it missed
    late_at: datetime  # when the service marked it late
    apology_reminder_sent: bool  # whether the lead agency had the R13 notice a working day before


async def late_without_apology(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    limit: int | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[LateWithoutApology]:
    """The dossiers marked late from `start` to `end` (local dates) that never had an apology
    (R13), by the time they went late, then code: all, or `limit` after the (late_at, dossier)
    `after`, for pages."""
    period = Period(start, end)
    await plan_for_each_period(session)
    e, d = _events.c, _dossiers.c
    apology = _events.alias("apology")
    reminder = _events.alias("apology_due")
    query = (
        select(
            e.dossier,
            d.lead_agency,
            d.procedure_code,
            d.procedure_name,
            d.status,
            e.detail["due_at"].as_string().label("due_at"),
            e.at.label("late_at"),
            exists()
            .where(reminder.c.dossier == e.dossier, reminder.c.kind == "apology_due")
            .label("apology_reminder_sent"),
        )
        .select_from(_events.join(_dossiers, d.code == e.dossier))
        .where(e.kind == "late", period.holds(e.at))
        .where(not_(exists().where(apology.c.dossier == e.dossier, apology.c.kind == "apology")))
        .order_by(e.at, e.dossier)
    )
    if after is not None:
        at, dossier = after
        query = query.where(or_(e.at > at, and_(e.at == at, e.dossier > dossier)))
    if limit is not None:
        query = query.limit(limit)
    return [
        LateWithoutApology.model_validate(dict(row))
        for row in (await _run(session, query)).mappings()
    ]
