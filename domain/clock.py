"""The dossier's clock (R11, R13): a ledger of what happened to it, and its reading on a calendar.

The ledger is plain data kept in the workflow's state; reading it needs the working-day calendar,
which changes every year, so the workflow asks an activity to read it (`read_clock`) and keeps the
answer. Re-reading the same ledger on an updated calendar recomputes the dates of a running
dossier without touching the replay of its history.

- A consultation never pauses the clock (it is not in the ledger at all).
- A supplement request suspends it; when the complete dossier is back it restarts from zero.
- An SOS stop pauses it; the resume pushes the due date back by the working days spent stopped.
- An apology (form 04) sets a new due date, once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, Field


class Calendar(Protocol):
    """What reading the clock needs of the calendar (domain.calendar.WorkingCalendar)."""

    def due_at(self, received_at: datetime, working_days: int) -> datetime: ...
    def shift(self, at: datetime, working_days: int) -> datetime: ...
    def working_days_between(self, start: datetime, end: datetime) -> int: ...
    def end_of_day(self, day: date) -> datetime: ...
    def opening_of(self, at: datetime) -> datetime: ...


class Start(BaseModel):
    """The clock starts at receipt, or restarts from zero when the complete dossier is back."""

    kind: Literal["start"] = "start"
    at: datetime
    working_days: int


class Suspension(BaseModel):
    """A supplement was requested: no due date until the clock restarts."""

    kind: Literal["suspension"] = "suspension"
    at: datetime


class Pause(BaseModel):
    """An SOS stop; `resumed_at` is set by the resume."""

    kind: Literal["pause"] = "pause"
    stopped_at: datetime
    resumed_at: datetime | None = None


class Reschedule(BaseModel):
    """The apology's new appointment date (R13)."""

    kind: Literal["reschedule"] = "reschedule"
    due_date: date


Entry = Annotated[Start | Suspension | Pause | Reschedule, Field(discriminator="kind")]


class ClockLedger(BaseModel):
    entries: list[Entry] = Field(default_factory=list)

    def start(self, at: datetime, working_days: int) -> None:
        self.entries.append(Start(at=at, working_days=working_days))

    def suspend(self, at: datetime) -> None:
        self.entries.append(Suspension(at=at))

    def pause(self, at: datetime) -> None:
        self.entries.append(Pause(stopped_at=at))

    def resume(self, at: datetime) -> None:
        last = self.entries[-1]
        if not (isinstance(last, Pause) and last.resumed_at is None):
            raise ValueError("the clock is not paused")
        last.resumed_at = at

    def reschedule(self, due_date: date) -> None:
        self.entries.append(Reschedule(due_date=due_date))


class ClockReading(BaseModel):
    """The ledger read on a calendar. The workflow keeps the latest reading in its state."""

    due_at: datetime | None
    running: bool
    # working days the due date was pushed back by stops since the clock last (re)started
    stopped_working_days: int = 0
    # the working days of the latest closed stop, for the resume's event
    last_stop_working_days: int = 0
    # R13: an apology is accepted until one working day before the due date...
    apology_deadline: datetime | None = None
    # ...and the lead agency is told at the opening of that working day
    apology_notice_at: datetime | None = None


def read_clock(ledger: ClockLedger, calendar: Calendar) -> ClockReading:
    due: datetime | None = None
    running = False
    stopped = last_stop = 0
    for entry in ledger.entries:
        if isinstance(entry, Start):
            due, running, stopped = calendar.due_at(entry.at, entry.working_days), True, 0
        elif isinstance(entry, Suspension):
            due, running = None, False
        elif isinstance(entry, Pause):
            if entry.resumed_at is None:
                running = False
            else:
                last_stop = calendar.working_days_between(entry.stopped_at, entry.resumed_at)
                stopped += last_stop
                running = True
                if due is not None:
                    due = calendar.shift(due, last_stop)
        else:
            due = calendar.end_of_day(entry.due_date)
    deadline = apology_deadline(due, calendar) if due is not None else None
    return ClockReading(
        due_at=due,
        running=running,
        stopped_working_days=stopped,
        last_stop_working_days=last_stop,
        apology_deadline=deadline,
        apology_notice_at=calendar.opening_of(deadline) if deadline is not None else None,
    )


def apology_deadline(due_at: datetime, calendar: Calendar) -> datetime:
    """R13: the last moment an apology is accepted, one working day before the due date."""
    return calendar.shift(due_at, -1)
