"""The dossier's clock as the dossier page draws it (R11 made visible): a bar of working days from
receipt to the due date in force, with the periods the clock was stopped (SOS stop) or waiting
for a supplement, and every change of the due date with its cause.

Read from the dossier's timeline (the events its workflow recorded: `sos_stop`, `resume`,
`sos_supplement`, `supplement`, `due_changed`, the closing ones) and placed on the working-day
calendar; pure, `now` comes in. The bar's axis counts working days of the calendar since receipt
(`working_days_between`, as delays are counted, R8): a period the clock did not run still takes
its place on it, coloured apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from domain.dossier import Event

PeriodKind = Literal["running", "stopped", "supplement"]

# Events that end the dossier: the clock ends with them.
_CLOSING = frozenset({"sos_return", "withdrawal_confirmed", "handover", "abnormal_close"})
# Events that change what the clock does, and what it does after them.
_TURNS: dict[str, PeriodKind] = {
    "sos_stop": "stopped",
    "resume": "running",
    "sos_supplement": "supplement",
    "supplement": "running",
}


class Calendar(Protocol):
    def working_days_between(self, start: datetime, end: datetime) -> int: ...


@dataclass(frozen=True)
class Period:
    """What the clock did between `start` and `end` (`ongoing`: it still does, `end` is now)."""

    kind: PeriodKind
    start: datetime
    end: datetime
    ongoing: bool
    working_days: int  # the working days it spans (those after start's day up to end's)
    start_day: int  # its place on the bar: working days since receipt
    end_day: int


@dataclass(frozen=True)
class DueChange:
    """The due date moved at `at`, from `previous` to `due_at` (None: no due date while a
    supplement is awaited), because of `cause` (the action, or `calendar_changed`)."""

    at: datetime
    cause: str
    previous: datetime | None
    due_at: datetime | None
    stopped_working_days: int
    day: int | None  # the new due date's place on the bar


@dataclass(frozen=True)
class ClockBar:
    received_at: datetime
    first_due_at: datetime | None  # the due date set at receipt
    due_at: datetime | None  # in force
    due_day: int | None
    today: datetime  # now, or when the dossier closed
    today_day: int
    closed: bool
    total_days: int  # the bar's length: to the due date, or to today if later
    periods: list[Period]
    changes: list[DueChange]

    def percent(self, day: int) -> float:
        """Where working day `day` falls along the bar, in percent of its length."""
        return round(100 * day / self.total_days, 2) if self.total_days else 0.0


def clock_bar(
    received_at: datetime,
    due_at: datetime | None,
    events: Sequence[Event],
    now: datetime,
    calendar: Calendar,
    closed_at: datetime | None = None,
) -> ClockBar:
    """The clock of a dossier received at `received_at`, due at `due_at` now, from its events."""
    today = closed_at or now

    def day(at: datetime) -> int:
        return calendar.working_days_between(received_at, at)

    periods: list[Period] = []
    kind: PeriodKind = "running"
    since = received_at
    changes: list[DueChange] = []
    ended = False

    def close_period(at: datetime, ongoing: bool = False) -> None:
        periods.append(
            Period(
                kind=kind,
                start=since,
                end=at,
                ongoing=ongoing,
                working_days=calendar.working_days_between(since, at),
                start_day=day(since),
                end_day=day(at),
            )
        )

    for event in sorted(events, key=lambda e: (e.at, e.seq)):
        if ended:
            break
        if event.kind == "due_changed":
            new = _instant(event.detail.get("due_at"))
            changes.append(
                DueChange(
                    at=event.at,
                    cause=str(event.detail.get("cause", "")),
                    previous=_instant(event.detail.get("previous")),
                    due_at=new,
                    stopped_working_days=int(event.detail.get("stopped_working_days") or 0),
                    day=day(new) if new else None,
                )
            )
        elif event.kind in _CLOSING:
            close_period(event.at)
            ended = True
        elif (turn := _TURNS.get(event.kind)) is not None and turn != kind:
            close_period(event.at)
            kind, since = turn, event.at
    if not ended:
        close_period(max(today, since), ongoing=closed_at is None)
    first_due = changes[0].previous if changes else due_at
    due_day = day(due_at) if due_at else None
    today_day = day(today)
    ends = [today_day, due_day or 0, *(c.day or 0 for c in changes)]
    return ClockBar(
        received_at=received_at,
        first_due_at=first_due,
        due_at=due_at,
        due_day=due_day,
        today=today,
        today_day=today_day,
        closed=closed_at is not None,
        total_days=max(max(ends), 1),
        periods=periods,
        changes=changes,
    )


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
