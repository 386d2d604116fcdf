"""Calendar and catalogue look-ups for the dossier workflow (R2, R3, R11, R13).

Workflow code never computes on the calendar: the calendar is data that changes each year, and a
computation inside the workflow would change its replay. These activities compute and the history
keeps their answers; the workflow runs them as local activities, since they are quick and pure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

import structlog
from pydantic import BaseModel
from temporalio import activity

from domain import rules
from domain.calendar import Grace, WorkingCalendar
from domain.clock import ClockLedger, ClockReading, read_clock
from domain.dossier import ConsultationPlan

log = structlog.get_logger()


class PlanRequest(BaseModel):
    """Input of the `plan_consultation` activity."""

    requested_at: datetime
    deadline: datetime | None
    max_consultation_days: int
    agencies: list[str]


class PlanningActivities:
    def __init__(
        self,
        calendar: Callable[[], WorkingCalendar],
        unknown_agencies: Callable[[list[str]], Awaitable[list[str]]],
        grace: Grace,
        inactive_agencies: Callable[[list[str]], Awaitable[list[str]]] | None = None,
    ) -> None:
        self._calendar = calendar
        self._unknown_agencies = unknown_agencies  # the catalogue as the read model has it
        self._inactive_agencies = inactive_agencies
        self._grace = grace

    @activity.defn(name="read_clock")
    async def read_clock(self, ledger: ClockLedger) -> ClockReading:
        """The dossier's due date and apology dates on today's calendar (R11, R13)."""
        return read_clock(ledger, self._calendar())

    @activity.defn(name="is_working_day")
    async def is_working_day(self, day: date) -> bool:
        """Whether local `day` is a working day on today's calendar (R13: an apology's date)."""
        return self._calendar().is_working_day(day)

    @activity.defn(name="plan_consultation")
    async def plan_consultation(self, request: PlanRequest) -> ConsultationPlan:
        """The latest deadline the procedure allows (R2), when reminder 2 falls (R3), and which
        of the agencies the catalogue does not know, or knows as no longer existing."""
        calendar = self._calendar()
        maximum = rules.consultation_maximum(
            calendar, request.requested_at, request.max_consultation_days
        )
        deadline = request.deadline
        return ConsultationPlan(
            maximum=maximum,
            # only for a deadline the rules can accept: no arithmetic on one they will refuse
            second_reminder_at=(
                calendar.after_grace(deadline, self._grace)
                if deadline is not None and deadline <= maximum
                else None
            ),
            unknown_agencies=await self._unknown_agencies(request.agencies),
            inactive_agencies=(
                await self._inactive_agencies(request.agencies) if self._inactive_agencies else []
            ),
        )
