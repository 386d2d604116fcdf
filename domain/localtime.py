"""Vietnam's local time, for dates and messages. Vietnam has kept UTC+7 since 1975, so a fixed
offset is exact and needs no tz database (which the workflow sandbox would have to read)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VN = timezone(timedelta(hours=7), "ICT")


def local_date(at: datetime) -> date:
    return at.astimezone(VN).date()


def when(at: datetime) -> str:
    """`17:00 ngày 06/01/2027`: how a time reads in a Vietnamese message."""
    local = at.astimezone(VN)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


def when_zoned(at: datetime) -> str:
    """`17:00 06/01/2027 (UTC+7)`: a Vietnam time that says its zone, for screens whose other
    times are UTC (the Temporal Web UI)."""
    local = at.astimezone(VN)
    return f"{local:%H:%M %d/%m/%Y} (UTC+7)"
