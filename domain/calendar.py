"""The working-day calendar (R11): which days count, and when a dossier's time starts and ends.

Time on a dossier is counted in working days of the Vietnamese civil service, in
`Asia/Ho_Chi_Minh`: weekends off, public holidays off (Labour Code 2019 art. 112, lunar Tết
included), and the yearly official swaps (a worked Saturday for a bridge weekday off). The
baseline is `holidays.VN`; the province adds its own days off and working days on top
(`CalendarOverrides`, read from `data/calendar-overrides.toml` by `sources.calendar`).
For a year whose official schedule the file holds in full (`confirmed_years`), the file alone
decides: holidays.VN is a guess for the years nobody has published yet, and it was wrong on two
days of 2026 (2/1 off, 10/1 worked: Government Office document 12729/VPCP-KGVX, 25/12/2025).

This module is pure: no I/O, no Temporal. Datetimes in and out are timezone-aware (UTC out);
dates are taken in local time because a working day is a local day.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from holidays import HolidayBase

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

# A calendar with a whole year of days off in a row is broken data, not a long holiday.
_MAX_DAYS_OFF_IN_A_ROW = 366
_WEEKEND_NAMES = {5: "Thứ Bảy", 6: "Chủ Nhật"}
_PUBLIC_DAY_OFF = "Ngày nghỉ lễ"


@dataclass(frozen=True)
class OfficeHours:
    """The one-stop desk's day. A due date falls at `closes`; a dossier received after
    `same_day_cutoff` counts from the next working day. Decree 61/2018 before 1 July 2025 (cited
    as art. 19, not re-read); under Decree 118/2025 the procedures published for 2025–2026 keep
    the 15:00 rule, and art. 18 (sending the dossier to the competent agency) is where it would
    sit, its wording not read: to be confirmed, docs/legal-frame.md."""

    opens: time = time(7, 0)
    closes: time = time(17, 0)
    same_day_cutoff: time = time(15, 0)


def _frozen(mapping: Mapping[date, str]) -> Mapping[date, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class CalendarOverrides:
    """Province-editable additions on top of holidays.VN.

    `days_off` are extra days off and `working_days` extra working days (e.g. a worked
    Saturday), each with a name for reports. A date in both is refused: the province must say
    which it is. `sources` names the deciding document of each entry (read from the file, where
    every entry must have one); `to_confirm` lists the entries no official text confirmed yet.
    `confirmed_years` are the years whose official schedule is listed in full: in those years
    holidays.VN is not consulted, and each must list at least one day off.
    """

    days_off: Mapping[date, str] = field(default_factory=dict)
    working_days: Mapping[date, str] = field(default_factory=dict)
    sources: Mapping[date, str] = field(default_factory=dict)
    to_confirm: frozenset[date] = frozenset()
    confirmed_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        both = sorted(set(self.days_off) & set(self.working_days))
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"calendar overrides: {listed} listed both as day_off and working_day")
        years_with_days_off = {day.year for day in self.days_off}
        empty = sorted(set(self.confirmed_years) - years_with_days_off)
        if empty:
            listed = ", ".join(str(year) for year in empty)
            # A confirmed year without its days off would count Tết as working days.
            raise ValueError(
                f"calendar overrides: confirmed_years {listed} without any [[day_off]] entry"
            )
        # Read-only copies: one instance is shared as a default argument.
        object.__setattr__(self, "days_off", _frozen(self.days_off))
        object.__setattr__(self, "working_days", _frozen(self.working_days))
        object.__setattr__(self, "sources", _frozen(self.sources))
        object.__setattr__(self, "to_confirm", frozenset(self.to_confirm))
        object.__setattr__(self, "confirmed_years", frozenset(self.confirmed_years))

    @classmethod
    def empty(cls) -> CalendarOverrides:
        """No additions: holidays.VN as it is."""
        return cls()

    def is_confirmed(self, year: int) -> bool:
        """Whether `year`'s official schedule is in the file (else holidays.VN guesses it)."""
        return year in self.confirmed_years

    @classmethod
    def from_toml(cls, text: str) -> CalendarOverrides:
        """Parse the override file (format in `data/calendar-overrides.toml`).

        Raises ValueError naming the bad entry (`working_day[2]: ...`) for invalid TOML, an
        unknown key, a missing or non-date `date`, a missing or empty `name` or `source`, a
        `to_confirm` that is not true or false, a date listed twice, a date listed both as day
        off and as working day, or a `confirmed_years` that is not a list of years each with
        its days off.
        """
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"calendar overrides: invalid TOML: {error}") from error
        unknown = sorted(set(document) - {"day_off", "working_day", "confirmed_years"})
        if unknown:
            raise ValueError(
                f"calendar overrides: unknown section(s) {', '.join(unknown)}; "
                "expected confirmed_years, [[day_off]] and [[working_day]]"
            )
        days_off = _parse_entries(document, "day_off")
        working_days = _parse_entries(document, "working_day")
        entries = {**days_off, **working_days}
        return cls(
            days_off={day: entry.name for day, entry in days_off.items()},
            working_days={day: entry.name for day, entry in working_days.items()},
            sources={day: entry.source for day, entry in entries.items()},
            to_confirm=frozenset(day for day, entry in entries.items() if entry.to_confirm),
            confirmed_years=_parse_years(document.get("confirmed_years", [])),
        )


@dataclass(frozen=True)
class _Entry:
    name: str
    source: str
    to_confirm: bool


_ENTRY_KEYS = {"date", "name", "source", "to_confirm"}


def _parse_years(value: object) -> frozenset[int]:
    if not isinstance(value, list) or not all(
        isinstance(year, int) and not isinstance(year, bool) and 1900 < year < 3000
        for year in value
    ):
        raise ValueError(
            f"calendar overrides: confirmed_years must be a list of years such as [2025, 2026], "
            f"got {value!r}"
        )
    return frozenset(value)


def _parse_entries(document: Mapping[str, Any], section: str) -> dict[date, _Entry]:
    """The `[[section]]` array of tables as {date: entry}, each entry checked."""
    entries = document.get(section, [])
    if not isinstance(entries, list):
        raise ValueError(f"calendar overrides: {section} must be written as [[{section}]] tables")
    parsed: dict[date, _Entry] = {}
    for index, entry in enumerate(entries):
        where = f"calendar overrides: {section}[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a table with `date`, `name` and `source`")
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(unknown)}; "
                "expected date, name, source, to_confirm"
            )
        day = entry.get("date")
        # TOML gives a datetime for `2025-04-26T00:00:00`; only a bare date names a day.
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"{where}: date must be a TOML date such as 2025-04-26, got {day!r}")
        texts = {}
        for key in ("name", "source"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                # The source is the deciding document: a day without one cannot be checked.
                raise ValueError(f"{where} ({day.isoformat()}): {key} must be a non-empty string")
            texts[key] = value.strip()
        to_confirm = entry.get("to_confirm", False)
        if not isinstance(to_confirm, bool):
            raise ValueError(f"{where} ({day.isoformat()}): to_confirm must be true or false")
        if day in parsed:
            raise ValueError(f"{where}: {day.isoformat()} is listed twice in {section}")
        parsed[day] = _Entry(texts["name"], texts["source"], to_confirm)
    return parsed


@dataclass(frozen=True)
class ScheduleCoverage:
    """Which of this year and next year have their official schedule in the overrides.

    A year not confirmed is counted on holidays.VN's guess, which is what the Government's yearly
    decisions correct (Labour Code 2019 art. 112(3): the Prime Minister fixes Tết and National
    Day each year); the operators are warned until the province adds the published schedule.
    """

    confirmed_years: tuple[int, ...]
    unconfirmed_years: tuple[int, ...]
    to_confirm: tuple[date, ...]

    @classmethod
    def of(cls, overrides: CalendarOverrides, today: date) -> ScheduleCoverage:
        return cls(
            confirmed_years=tuple(sorted(overrides.confirmed_years)),
            unconfirmed_years=tuple(
                year for year in (today.year, today.year + 1) if not overrides.is_confirmed(year)
            ),
            to_confirm=tuple(sorted(overrides.to_confirm)),
        )

    @property
    def warning(self) -> str | None:
        """A message for the operators when this year or next has no confirmed schedule."""
        if not self.unconfirmed_years:
            return None
        years = ", ".join(str(year) for year in self.unconfirmed_years)
        return (
            f"Năm {years} chưa có lịch nghỉ chính thức trong tệp lịch của Đồng Nai "
            "(confirmed_years); ngày làm việc đang tính theo lịch dự kiến của holidays.VN. / "
            f"{years}: no confirmed schedule in the calendar overrides (confirmed_years); "
            "working days follow holidays.VN's guess until Đồng Nai adds the published schedule."
        )


@dataclass(frozen=True)
class Grace:
    """Time between reminder 1 and reminder 2 (R3): either working days or a fixed duration.

    Exactly one is set, and it is positive: a zero grace would send reminder 2 together with
    reminder 1, which leaves the agency no time to answer.
    """

    working_days: int | None = None
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.working_days is None) == (self.duration is None):
            raise ValueError("a grace is either working days or a duration, exactly one of them")
        if self.working_days is not None and self.working_days <= 0:
            raise ValueError(f"grace working days must be positive, got {self.working_days}")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError(f"grace duration must be positive, got {self.duration}")


_GRACE_FORMS = "'2d' (working days) or an ISO 8601 duration such as 'PT5S', 'PT1H30M', 'P1DT2H'"
_WORKING_DAYS = re.compile(r"(?P<days>\d+)D", re.ASCII)
_ISO_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)


def parse_grace(text: str) -> Grace:
    """Parse a grace setting: '2d' → 2 working days; an ISO 8601 duration → a fixed duration.

    Accepted: `<n>d` with n ≥ 1, and `P[nD][T[nH][nM][n[.f]S]]` with a positive total (letters
    in either case). Years, months and weeks are refused (their length depends on the date),
    and so are zero ('0d', 'PT0S'), negative values and anything else, with a ValueError that
    shows the accepted forms.
    """
    normalised = text.strip().upper()
    if match := _WORKING_DAYS.fullmatch(normalised):
        days = int(match["days"])
        if days == 0:
            raise ValueError(f"grace {text!r} is zero; use {_GRACE_FORMS}, greater than zero")
        return Grace(working_days=days)
    match = _ISO_DURATION.fullmatch(normalised)
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"grace {text!r} is not understood; use {_GRACE_FORMS}")
    try:
        duration = timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
            seconds=float((match["seconds"] or "0").replace(",", ".")),
        )
    except OverflowError as error:
        raise ValueError(f"grace {text!r} is too long") from error
    if duration <= timedelta(0):
        raise ValueError(f"grace {text!r} is zero; use {_GRACE_FORMS}, greater than zero")
    return Grace(duration=duration)


def _local(at: datetime) -> datetime:
    """`at` in Asia/Ho_Chi_Minh; a naive datetime is refused, since its instant is unknown."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime {at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(ZONE)


def _at_local(day: date, wall_clock: time) -> datetime:
    """`wall_clock` on local `day`, as aware UTC (Vietnam has no DST: every local time exists)."""
    return datetime.combine(day, wall_clock, tzinfo=ZONE).astimezone(UTC)


class WorkingCalendar:
    """Which local days are working days, and date arithmetic in working days.

    A day is off when the province says so (`overrides.days_off`), else when it is a public day
    off, else when it is a Saturday or Sunday not listed as a working day. A day in
    `overrides.working_days` is always a working day: the province has the last word. In a
    confirmed year (`overrides.confirmed_years`) only the overrides and the weekends count.
    """

    def __init__(
        self,
        is_public_day_off: Callable[[date], bool],
        weekend_working_days: Container[date] = frozenset(),
        overrides: CalendarOverrides = CalendarOverrides.empty(),  # noqa: B008 - immutable
        hours: OfficeHours = OfficeHours(),
        *,
        public_day_off_name: Callable[[date], str | None] | None = None,
    ) -> None:
        """`public_day_off_name` names a public day off in reports; without it, a generic name."""
        self._is_public_day_off = is_public_day_off
        self._weekend_working_days = weekend_working_days
        self._public_day_off_name = public_day_off_name
        self.overrides = overrides
        self.hours = hours

    @classmethod
    def vietnam(
        cls,
        overrides: CalendarOverrides = CalendarOverrides.empty(),  # noqa: B008 - immutable
        hours: OfficeHours = OfficeHours(),
    ) -> WorkingCalendar:
        """holidays.VN (lunar holidays, weekend compensation, the official swaps through its
        `weekend_workdays`), any year, with the province's `overrides` on top."""
        import holidays  # here, so that importing this module stays cheap

        table = _VietnamTable(holidays.VN(language="vi"))
        return cls(
            is_public_day_off=table.is_public_day_off,
            weekend_working_days=table,
            overrides=overrides,
            hours=hours,
            public_day_off_name=table.name,
        )

    def day_off_name(self, day: date) -> str | None:
        """Why `day` is off ("Tết Nguyên Đán", "Thứ Bảy", ...), or None on a working day."""
        if day in self.overrides.working_days:
            return None
        if day in self.overrides.days_off:
            return self.overrides.days_off[day]
        # A confirmed year is listed in full in the overrides: the national guess stays out.
        national = not self.overrides.is_confirmed(day.year)
        if national and self._is_public_day_off(day):
            named = self._public_day_off_name(day) if self._public_day_off_name else None
            return named or _PUBLIC_DAY_OFF
        if day.weekday() in _WEEKEND_NAMES and not (national and day in self._weekend_working_days):
            return _WEEKEND_NAMES[day.weekday()]
        return None

    def is_working_day(self, day: date) -> bool:
        """Mon–Fri that is not a day off, or a listed working Saturday/Sunday."""
        return self.day_off_name(day) is None

    def _step(self, day: date, direction: int) -> date:
        """The nearest working day strictly after (+1) or before (-1) `day`."""
        for offset in range(1, _MAX_DAYS_OFF_IN_A_ROW + 1):
            candidate = day + timedelta(days=direction * offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_DAYS_OFF_IN_A_ROW} days of {day}")

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self._step(day, +1)

    def add_working_days(self, day: date, n: int) -> date:
        """n > 0: the n-th working day after `day`; n < 0: the |n|-th before; n == 0: `day` if
        it is a working day, else the next one. `day` itself never counts when n != 0."""
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        direction = 1 if n > 0 else -1
        for _ in range(abs(n)):
            day = self._step(day, direction)
        return day

    def counting_day(self, received_at: datetime) -> date:
        """The day a dossier is deemed received (the 15:00 rule, `OfficeHours`): its local date if
        that is a working day and the local time is at or before `same_day_cutoff` (15:00:00
        counts that day, 15:00:01 does not); otherwise the next working day."""
        local = _local(received_at)
        day = local.date()
        if self.is_working_day(day) and local.time() <= self.hours.same_day_cutoff:
            return day
        return self.next_working_day(day)

    def due_at(self, received_at: datetime, working_days: int) -> datetime:
        """When `working_days` of processing time run out, as aware UTC: `hours.closes` on the
        `working_days`-th working day after the counting day.

        Civil Code 2015 art. 147: the day of the event is not counted, the period starts on the
        next day; so a dossier counted on Monday with 3 working days is due Thursday at closing.
        Zero working days means due at closing on the counting day.
        """
        if working_days < 0:
            raise ValueError(f"a processing time cannot be negative, got {working_days}")
        day = self.add_working_days(self.counting_day(received_at), working_days)
        return self.end_of_day(day)

    def shift(self, at: datetime, working_days: int) -> datetime:
        """The same local wall-clock time on `add_working_days(local date of at, working_days)`,
        as aware UTC. Used for the reminder grace and "a working day before the due date" (R13).
        From a day off, +1 is the first working day after it and 0 is that same day."""
        local = _local(at)
        return _at_local(self.add_working_days(local.date(), working_days), local.time())

    def after_grace(self, at: datetime, grace: Grace) -> datetime:
        """When the grace after reminder 1 at `at` runs out (R3)."""
        if grace.working_days is not None:
            return self.shift(at, grace.working_days)
        assert grace.duration is not None  # Grace holds exactly one of the two
        return _local(at).astimezone(UTC) + grace.duration

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """The working days d with local(start).date < d <= local(end).date; 0 when end <= start.
        Used for the working days spent stopped (R11) and for delays (R8)."""
        first, last = _local(start), _local(end)
        if last <= first:
            return 0
        days = (last.date() - first.date()).days
        return sum(
            self.is_working_day(first.date() + timedelta(days=offset))
            for offset in range(1, days + 1)
        )

    def end_of_day(self, day: date) -> datetime:
        """`hours.closes` on local `day`, as aware UTC."""
        return _at_local(day, self.hours.closes)

    def opening_of(self, at: datetime) -> datetime:
        """`hours.opens` on the local day of `at`, as aware UTC (R13: the apology-due notice
        comes at the opening of the last working day on which an apology is still accepted)."""
        return _at_local(_local(at).date(), self.hours.opens)


class _VietnamTable:
    """holidays.VN for `WorkingCalendar`: public days off, their names, and the worked weekend
    days of the official swaps (`weekend_workdays`, cross-year swaps included).

    holidays.VN fills a year's table on the first look-up in that year; the lock keeps two
    threads (activities share one calendar) from filling the same year at once.
    """

    def __init__(self, table: HolidayBase) -> None:
        self._table = table
        self._lock = threading.Lock()

    def _filled(self, day: date) -> HolidayBase:
        with self._lock:
            if day.year not in self._table.years:
                self._table.get(day)  # a look-up fills the year
        return self._table

    def name(self, day: date) -> str | None:
        return self._filled(day).get(day)

    def is_public_day_off(self, day: date) -> bool:
        return day in self._filled(day)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._filled(day).weekend_workdays
