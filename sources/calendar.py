"""Where the working-day calendar comes from (R11): holidays.VN plus the province's override file.

The province edits `data/calendar-overrides.toml` during the year; the worker picks the change up
without a restart, because the file is re-read whenever its modification time changes.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from domain.calendar import CalendarOverrides, OfficeHours, WorkingCalendar

log = structlog.get_logger()

_MISSING = -1  # the cache key of an absent file: no real st_mtime_ns is negative here


class CalendarSource:
    """Builds the `WorkingCalendar` from the override file and keeps it until the file changes.

    A missing file means no overrides (with a warning: the province may have lost its edits);
    a malformed file raises ValueError naming the path, so that a bad edit is seen at once
    rather than silently ignored.
    """

    def __init__(
        self,
        overrides_path: Path,
        hours: OfficeHours = OfficeHours(),  # noqa: B008 - a frozen dataclass
    ) -> None:
        self.overrides_path = overrides_path
        self.hours = hours
        self._cached: tuple[int, WorkingCalendar] | None = None
        self._lock = threading.Lock()  # activities may ask from several threads at once

    def calendar(self) -> WorkingCalendar:
        """The current calendar, re-read from the file if its modification time changed."""
        with self._lock:
            try:
                key = self.overrides_path.stat().st_mtime_ns
            except FileNotFoundError:
                key = _MISSING
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            overrides = self._read() if key != _MISSING else self._missing()
            calendar = WorkingCalendar.vietnam(overrides=overrides, hours=self.hours)
            self._cached = (key, calendar)
            return calendar

    def _read(self) -> CalendarOverrides:
        try:
            overrides = CalendarOverrides.from_toml(self.overrides_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{self.overrides_path}: {error}") from error
        log.info(
            "calendar_overrides_loaded",
            path=str(self.overrides_path),
            days_off=len(overrides.days_off),
            working_days=len(overrides.working_days),
            confirmed_years=sorted(overrides.confirmed_years),
            to_confirm=[day.isoformat() for day in sorted(overrides.to_confirm)],
        )
        return overrides

    def _missing(self) -> CalendarOverrides:
        log.warning(
            "calendar_overrides_missing",
            path=str(self.overrides_path),
            detail="using holidays.VN without provincial overrides",
        )
        return CalendarOverrides.empty()
