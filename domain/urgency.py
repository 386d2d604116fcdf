"""How one-stop officers group their open dossiers: late, due today, due within the next two
working days, or in time (issue 9's inbox), and how many working days a dossier has left.

Pure: the instants that separate the groups are computed here from `now` and the working-day
calendar (R11), in Vietnam's days (`domain.localtime.VN`); the database compares `due_at` with
them (`db.inbox`), and `urgency_of` classes one dossier the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from domain.localtime import VN, local_date

# "Sắp đến hạn": due within this many working days after today.
SOON_WORKING_DAYS = 2


class Urgency(StrEnum):
    """The groups of the officers' inbox, most urgent first."""

    LATE = "late"
    DUE_TODAY = "due_today"
    DUE_SOON = "due_soon"
    IN_TIME = "in_time"

    @property
    def label_vi(self) -> str:
        return URGENCY_LABELS_VI[self]


URGENCY_LABELS_VI: dict[Urgency, str] = {
    Urgency.LATE: "Quá hạn",
    Urgency.DUE_TODAY: "Đến hạn hôm nay",
    Urgency.DUE_SOON: "Sắp đến hạn",
    Urgency.IN_TIME: "Trong hạn",
}


class Calendar(Protocol):
    """What the groups need of the calendar (`domain.calendar.WorkingCalendar`)."""

    def add_working_days(self, day: date, n: int) -> date: ...
    def is_working_day(self, day: date) -> bool: ...
    def working_days_between(self, start: datetime, end: datetime) -> int: ...


@dataclass(frozen=True)
class UrgencyBounds:
    """The instants (UTC) that separate the groups at `now`.

    A dossier is late when the read model marks it so, whatever its date (the workflow's clock
    decided), or when its due time is before `now`; otherwise due today when it falls before
    `today_ends` (the next local midnight); due soon before `soon_ends` (the local midnight that
    ends the second working day after today, R11: a weekend or a holiday between does not
    count); else in time. A dossier without a due date is in time: its clock is suspended while
    the applicant supplies the missing documents (R11, it restarts from zero), so nothing is due.
    """

    now: datetime
    today_ends: datetime
    soon_ends: datetime

    @classmethod
    def at(cls, now: datetime, calendar: Calendar) -> UrgencyBounds:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"datetime {now.isoformat()} has no time zone; pass an aware one")
        today = local_date(now)
        last_soon_day = calendar.add_working_days(today, SOON_WORKING_DAYS)
        return cls(
            now=now.astimezone(UTC),
            today_ends=_midnight_after(today),
            soon_ends=_midnight_after(last_soon_day),
        )

    def urgency_of(self, due_at: datetime | None, late: bool) -> Urgency:
        """The group of a dossier due at `due_at` (None: no due date), marked `late` or not."""
        if late or (due_at is not None and due_at < self.now):
            return Urgency.LATE
        if due_at is None:
            return Urgency.IN_TIME
        if due_at < self.today_ends:
            return Urgency.DUE_TODAY
        if due_at < self.soon_ends:
            return Urgency.DUE_SOON
        return Urgency.IN_TIME


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN).astimezone(UTC)


def urgency_of(
    due_at: datetime | None, now: datetime, calendar: Calendar, *, late: bool = False
) -> Urgency:
    """The group of one dossier at `now` (`UrgencyBounds.urgency_of`)."""
    return UrgencyBounds.at(now, calendar).urgency_of(due_at, late)


def working_days_left(due_at: datetime, now: datetime, calendar: Calendar) -> int:
    """Working days left before `due_at` (positive), or overdue by (negative), counted as the
    calendar counts delays (R8, R11: the working days after the earlier instant's local day up
    to the later one's). 0 is the due day itself: due later today, or missed earlier today."""
    if due_at >= now:
        return calendar.working_days_between(now, due_at)
    return -calendar.working_days_between(due_at, now)


def working_days_left_of(
    due_ats: Sequence[datetime], now: datetime, calendar: Calendar
) -> list[int]:
    """`working_days_left` of each of `due_ats`, walking the calendar once over the days they
    span with today rather than once per dossier: a page of 500 dossiers overdue for a year
    would otherwise look a day up hundreds of thousands of times."""
    if not due_ats:
        return []
    today = local_date(now)
    days = [local_date(due_at) for due_at in due_ats]
    first, last = min(*days, today), max(*days, today)
    # index[d]: the working days after `first` up to and including d, so the working days after
    # a's day up to b's day are index[b] - index[a] (`working_days_between`).
    index: dict[date, int] = {first: 0}
    day, count = first, 0
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
        index[day] = count
    return [
        index[day] - index[today] if due_at >= now else -(index[today] - index[day])
        for due_at, day in zip(due_ats, days, strict=True)
    ]
