"""R11: the working-day calendar on real dates.

Every expected day off below was checked against `holidays.VN` (holidays 0.109) for 2025 and
2026, e.g. `sorted(holidays.VN(years=2025, language="vi").items())`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from domain.calendar import (
    ZONE,
    CalendarOverrides,
    Grace,
    OfficeHours,
    WorkingCalendar,
    parse_grace,
)
from sources.calendar import CalendarSource

REPO = Path(__file__).resolve().parents[2]


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A local Asia/Ho_Chi_Minh time."""
    return datetime(y, mo, d, h, mi, s, tzinfo=ZONE)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.vietnam()


# --- which days are off -------------------------------------------------------------------------

DAYS = [
    # (day, expected day_off_name; None = working day)
    (date(2025, 1, 1), "Tết Dương lịch"),
    (date(2025, 1, 24), None),  # Friday before Tết 2025
    (date(2025, 1, 25), "Thứ Bảy"),
    (date(2025, 1, 26), "Chủ Nhật"),
    (date(2025, 1, 27), "29 Tết"),
    (date(2025, 1, 28), "Giao thừa Tết Nguyên Đán"),
    (date(2025, 1, 29), "Tết Nguyên Đán"),
    (date(2025, 1, 30), "Mùng hai Tết Nguyên Đán"),
    (date(2025, 1, 31), "Mùng ba Tết Nguyên Đán"),
    (date(2025, 2, 1), "Mùng bốn Tết Nguyên Đán"),  # a Saturday, listed by holidays.VN too
    (date(2025, 2, 3), None),
    (date(2026, 2, 13), None),  # Friday before Tết 2026
    (date(2026, 2, 16), "Giao thừa Tết Nguyên Đán"),
    (date(2026, 2, 17), "Tết Nguyên Đán"),
    (date(2026, 2, 18), "Mùng hai Tết Nguyên Đán"),
    (date(2026, 2, 19), "Mùng ba Tết Nguyên Đán"),
    (date(2026, 2, 20), "Mùng bốn Tết Nguyên Đán"),
    (date(2026, 2, 23), None),
    (date(2025, 4, 7), "Ngày Giỗ Tổ Hùng Vương"),
    (date(2026, 4, 26), "Ngày Giỗ Tổ Hùng Vương"),  # a Sunday ...
    (date(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"),  # ... observed on Monday
    (date(2026, 4, 28), None),
    (date(2025, 4, 26), None),  # Saturday worked for Friday 2/5/2025
    (date(2025, 4, 30), "Ngày Chiến thắng"),
    (date(2025, 5, 1), "Ngày Quốc tế Lao động"),
    (date(2025, 5, 2), "Ngày nghỉ (thay cho ngày 26/04/2025)"),
    (date(2025, 5, 5), None),
    (date(2026, 4, 30), "Ngày Chiến thắng"),
    (date(2026, 5, 1), "Ngày Quốc tế Lao động"),
    (date(2025, 9, 1), "Quốc khánh"),
    (date(2025, 9, 2), "Quốc khánh"),
    (date(2025, 9, 3), None),
    (date(2026, 8, 22), None),  # Saturday worked for Monday 31/8/2026
    (date(2026, 8, 31), "Ngày nghỉ (thay cho ngày 22/08/2026)"),
    (date(2026, 9, 1), "Quốc khánh"),
    (date(2026, 9, 2), "Quốc khánh"),
    (date(2026, 9, 3), None),
]


@pytest.mark.parametrize(("day", "name"), DAYS, ids=[d.isoformat() for d, _ in DAYS])
def test_r11_day_off_names_follow_holidays_vn(
    cal: WorkingCalendar, day: date, name: str | None
) -> None:
    assert cal.day_off_name(day) == name
    assert cal.is_working_day(day) is (name is None)


def test_r11_swaps_listed_in_a_neighbouring_year_are_found() -> None:
    # holidays.VN lists the worked 27/12/2014 under 2015 and 5/1/2019 under 2018; a fresh
    # calendar asked about those days first must still see them as working Saturdays, and a
    # far year must be filled on demand.
    assert WorkingCalendar.vietnam().is_working_day(date(2014, 12, 27))
    assert WorkingCalendar.vietnam().is_working_day(date(2019, 1, 5))
    assert not WorkingCalendar.vietnam().is_working_day(date(2019, 1, 12))
    assert WorkingCalendar.vietnam().day_off_name(date(2040, 9, 2)) == "Quốc khánh"


def test_r11_plain_calendar_from_a_predicate() -> None:
    # The constructor works with any holiday source; unnamed public days off get a generic name.
    plain = WorkingCalendar(
        is_public_day_off=lambda day: day == date(2025, 3, 12),
        weekend_working_days={date(2025, 3, 15)},
    )
    assert plain.day_off_name(date(2025, 3, 12)) == "Ngày nghỉ lễ"
    assert plain.is_working_day(date(2025, 3, 15))
    assert plain.day_off_name(date(2025, 3, 16)) == "Chủ Nhật"
    assert plain.add_working_days(date(2025, 3, 11), 4) == date(2025, 3, 17)


def test_r11_importing_the_domain_does_not_import_holidays() -> None:
    code = "import sys, domain.calendar; sys.exit('holidays' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


# --- stepping in working days -------------------------------------------------------------------

STEPS = [
    # (day, n, expected)
    (date(2025, 1, 24), 1, date(2025, 2, 3)),  # over Tết 2025
    (date(2025, 1, 24), 2, date(2025, 2, 4)),
    (date(2025, 2, 3), -1, date(2025, 1, 24)),
    (date(2025, 1, 24), 0, date(2025, 1, 24)),
    (date(2025, 1, 25), 0, date(2025, 2, 3)),  # a day off, n = 0: the next working day
    (date(2025, 4, 25), 1, date(2025, 4, 26)),  # the worked Saturday
    (date(2025, 4, 29), 1, date(2025, 5, 5)),  # 30/4, 1/5, 2/5 and the weekend
    (date(2025, 5, 5), -1, date(2025, 4, 29)),
    (date(2025, 5, 5), -2, date(2025, 4, 28)),
    (date(2025, 5, 5), -3, date(2025, 4, 26)),
    (date(2026, 2, 13), 1, date(2026, 2, 23)),  # over Tết 2026
    (date(2026, 4, 24), 1, date(2026, 4, 28)),  # Hùng Kings' day observed on Monday
    (date(2026, 8, 21), 1, date(2026, 8, 22)),
    (date(2026, 8, 28), 1, date(2026, 9, 3)),  # 31/8, 1/9, 2/9/2026
]


@pytest.mark.parametrize(("day", "n", "expected"), STEPS)
def test_r11_add_working_days(cal: WorkingCalendar, day: date, n: int, expected: date) -> None:
    assert cal.add_working_days(day, n) == expected


def test_r11_next_working_day_is_strictly_after(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(date(2025, 3, 10)) == date(2025, 3, 11)
    assert cal.next_working_day(date(2025, 8, 29)) == date(2025, 9, 3)


# --- when a dossier counts as received ----------------------------------------------------------

RECEIPTS = [
    # (received_at, counting day)
    (vn(2025, 8, 29, 15, 0, 0), date(2025, 8, 29)),  # 15:00:00 still counts the same day
    (vn(2025, 8, 29, 15, 0, 1), date(2025, 9, 3)),  # then Sat, Sun, 1/9 and 2/9 are off
    (vn(2025, 8, 29, 15, 1), date(2025, 9, 3)),
    (utc(2025, 8, 29, 8, 0, 0), date(2025, 8, 29)),  # 15:00 local
    (utc(2025, 8, 29, 8, 0, 1), date(2025, 9, 3)),
    (vn(2025, 8, 29, 6, 30), date(2025, 8, 29)),  # before opening: still that day
    (vn(2025, 3, 9, 10, 0), date(2025, 3, 10)),  # a Sunday
    (utc(2025, 3, 9, 17, 30), date(2025, 3, 10)),  # Sunday in UTC, Monday 00:30 local
    (vn(2025, 4, 26, 10, 0), date(2025, 4, 26)),  # the worked Saturday
    (vn(2025, 5, 2, 9, 0), date(2025, 5, 5)),  # the swapped Friday off
    (vn(2026, 2, 12, 16, 0), date(2026, 2, 13)),
]


@pytest.mark.parametrize(("received_at", "expected"), RECEIPTS)
def test_r11_counting_day(cal: WorkingCalendar, received_at: datetime, expected: date) -> None:
    assert cal.counting_day(received_at) == expected


DUES = [
    # (received_at, working days, due at (UTC); 17:00 local is 10:00 UTC)
    (vn(2025, 8, 29, 15, 1), 3, utc(2025, 9, 8, 10)),  # counted Wed 3/9: Thu, Fri, Mon
    (vn(2025, 8, 29, 15, 0), 3, utc(2025, 9, 5, 10)),  # counted Fri 29/8: Wed, Thu, Fri
    (vn(2025, 1, 23, 10, 0), 5, utc(2025, 2, 6, 10)),  # over Tết 2025
    (vn(2026, 2, 12, 16, 0), 3, utc(2026, 2, 25, 10)),  # counted Fri 13/2, over Tết 2026
    (vn(2025, 3, 10, 9, 0), 0, utc(2025, 3, 10, 10)),
    (vn(2025, 3, 9, 9, 0), 1, utc(2025, 3, 11, 10)),  # a Sunday: counted Monday
]


@pytest.mark.parametrize(("received_at", "working_days", "expected"), DUES)
def test_r11_due_at(
    cal: WorkingCalendar, received_at: datetime, working_days: int, expected: datetime
) -> None:
    due = cal.due_at(received_at, working_days)
    assert due == expected
    assert due.utcoffset() == timedelta(0)


def test_r11_due_at_refuses_a_negative_time(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.due_at(vn(2025, 3, 10, 9), -1)


def test_r11_end_of_day(cal: WorkingCalendar) -> None:
    assert cal.end_of_day(date(2025, 9, 8)) == utc(2025, 9, 8, 10)


# --- shifting a time by working days -------------------------------------------------------------

SHIFTS = [
    # (at, working days, expected)
    (vn(2025, 3, 7, 10), 1, vn(2025, 3, 10, 10)),  # Friday → Monday
    (vn(2025, 3, 10, 10), -1, vn(2025, 3, 7, 10)),  # Monday → Friday
    (vn(2025, 3, 8, 10), 1, vn(2025, 3, 10, 10)),  # from a Saturday
    (vn(2025, 3, 8, 10), 0, vn(2025, 3, 10, 10)),
    (vn(2025, 3, 8, 10), -1, vn(2025, 3, 7, 10)),
    (vn(2025, 4, 29, 14, 30), 1, vn(2025, 5, 5, 14, 30)),  # over 30/4–2/5
    (vn(2025, 5, 5, 14, 30), -1, vn(2025, 4, 29, 14, 30)),
    (vn(2025, 1, 24, 9), 2, vn(2025, 2, 4, 9)),  # over Tết 2025
    (vn(2025, 9, 8, 17), -1, vn(2025, 9, 5, 17)),  # a working day before a due date
    (utc(2025, 3, 7, 20), 1, utc(2025, 3, 9, 20)),  # Saturday 03:00 local → Monday 03:00
]


@pytest.mark.parametrize(("at", "working_days", "expected"), SHIFTS)
def test_r11_shift(
    cal: WorkingCalendar, at: datetime, working_days: int, expected: datetime
) -> None:
    shifted = cal.shift(at, working_days)
    assert shifted == expected
    assert shifted.tzinfo is UTC


def test_r11_after_grace_in_working_days_or_a_duration(cal: WorkingCalendar) -> None:
    reminder_1 = vn(2025, 8, 29, 10)
    assert cal.after_grace(reminder_1, Grace(working_days=2)) == vn(2025, 9, 4, 10)
    assert cal.after_grace(reminder_1, Grace(duration=timedelta(seconds=5))) == utc(
        2025, 8, 29, 3, 0, 5
    )
    # A duration is wall-clock time: it runs over weekends and holidays.
    assert cal.after_grace(reminder_1, parse_grace("P1D")) == vn(2025, 8, 30, 10)


# --- working days between two times --------------------------------------------------------------

BETWEEN = [
    # (start, end, working days)
    (vn(2025, 3, 10, 9), vn(2025, 3, 10, 9), 0),
    (vn(2025, 3, 10, 9), vn(2025, 3, 10, 16), 0),  # same day
    (vn(2025, 3, 7, 10), vn(2025, 3, 10, 9), 1),  # Friday → Monday
    (vn(2025, 3, 10, 9), vn(2025, 3, 7, 10), 0),  # end before start
    (vn(2025, 1, 24, 10), vn(2025, 2, 3, 10), 1),  # across Tết 2025
    (vn(2025, 1, 24, 10), vn(2025, 2, 7, 10), 5),
    (vn(2026, 2, 13, 10), vn(2026, 2, 23, 8), 1),  # across Tết 2026
    (vn(2025, 4, 29, 10), vn(2025, 5, 6, 10), 2),  # across 30/4–2/5
    (vn(2025, 4, 25, 10), vn(2025, 4, 28, 10), 2),  # the worked Saturday counts
    (utc(2025, 3, 7, 18), utc(2025, 3, 9, 17, 30), 1),  # local Sat 01:00 → Mon 00:30
]


@pytest.mark.parametrize(("start", "end", "expected"), BETWEEN)
def test_r11_working_days_between(
    cal: WorkingCalendar, start: datetime, end: datetime, expected: int
) -> None:
    assert cal.working_days_between(start, end) == expected


def test_r11_working_days_between_undoes_shift(cal: WorkingCalendar) -> None:
    start = vn(2025, 1, 20, 10)
    for n in range(1, 30):
        assert cal.working_days_between(start, cal.shift(start, n)) == n


# --- province overrides --------------------------------------------------------------------------


def test_r11_override_extra_day_off_moves_the_due_date(cal: WorkingCalendar) -> None:
    received = vn(2025, 12, 31, 10)
    assert cal.due_at(received, 1) == utc(2026, 1, 2, 10)
    provincial = WorkingCalendar.vietnam(
        CalendarOverrides(days_off={date(2026, 1, 2): "Nghỉ bổ sung"}, working_days={})
    )
    assert provincial.day_off_name(date(2026, 1, 2)) == "Nghỉ bổ sung"
    assert provincial.due_at(received, 1) == utc(2026, 1, 5, 10)
    assert provincial.counting_day(vn(2026, 1, 2, 9)) == date(2026, 1, 5)


def test_r11_override_extra_working_saturday_counts(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 12)
    provincial = WorkingCalendar.vietnam(
        CalendarOverrides(days_off={}, working_days={date(2026, 1, 10): "Làm bù"})
    )
    assert provincial.is_working_day(date(2026, 1, 10))
    assert provincial.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 10)
    assert provincial.working_days_between(vn(2026, 1, 9, 10), vn(2026, 1, 12, 10)) == 2


def test_r11_overrides_win_over_holidays_vn() -> None:
    provincial = WorkingCalendar.vietnam(
        CalendarOverrides(
            days_off={date(2025, 4, 26): "Không làm bù"},
            working_days={date(2025, 9, 2): "Làm việc"},
        )
    )
    assert provincial.day_off_name(date(2025, 4, 26)) == "Không làm bù"
    assert provincial.is_working_day(date(2025, 9, 2))


def test_r11_from_toml_reads_both_lists() -> None:
    overrides = CalendarOverrides.from_toml(
        """
        confirmed_years = [2026]
        [[day_off]]
        date = 2026-01-02
        name = "Nghỉ bổ sung"
        source = "Công văn 12729/VPCP-KGVX"
        [[working_day]]
        date = 2026-01-10
        name = "Làm bù"
        source = " Công văn 12729/VPCP-KGVX "
        to_confirm = true
        """
    )
    assert dict(overrides.days_off) == {date(2026, 1, 2): "Nghỉ bổ sung"}
    assert dict(overrides.working_days) == {date(2026, 1, 10): "Làm bù"}
    assert set(overrides.sources.values()) == {"Công văn 12729/VPCP-KGVX"}
    assert overrides.to_confirm == {date(2026, 1, 10)}
    assert overrides.confirmed_years == {2026} and overrides.is_confirmed(2026)
    assert not overrides.is_confirmed(2027)
    assert CalendarOverrides.from_toml("") == CalendarOverrides.empty()


def test_r11_a_confirmed_year_ignores_holidays_vn() -> None:
    # 2/9/2025 is a holiday in holidays.VN; once 2025 is confirmed, only the file and the
    # weekends count, so a file that forgets it counts it as a working day.
    overrides = CalendarOverrides(
        days_off={date(2025, 1, 1): "Tết Dương lịch"}, confirmed_years=frozenset({2025})
    )
    confirmed = WorkingCalendar.vietnam(overrides)
    assert confirmed.is_working_day(date(2025, 9, 2))
    assert not confirmed.is_working_day(date(2025, 1, 1))
    assert confirmed.day_off_name(date(2025, 4, 26)) == "Thứ Bảy"  # no swap from holidays.VN
    assert not confirmed.is_working_day(date(2024, 9, 2))  # 2024 still from holidays.VN


S = "\nsource = 'Công văn 12729/VPCP-KGVX'"  # every entry names its deciding document
BAD_TOML = [
    ('[[day_off]]\ndate = "2026-01-02"\nname = "x"' + S, r"day_off\[0\]: date must be a TOML"),
    ("[[day_off]]\ndate = 2026-01-02T08:00:00\nname = 'x'" + S, r"day_off\[0\]: date must be"),
    ("[[day_off]]\ndate = 2026-02-30\nname = 'x'" + S, "invalid TOML"),
    ("[[working_day]]\nname = 'x'" + S, r"working_day\[0\]: date must be"),
    (
        "[[working_day]]\ndate = 2026-01-10\nname = 'a'"
        + S
        + "\n[[working_day]]\ndate = 2026-01-17",
        r"working_day\[1\] \(2026-01-17\): name must be",
    ),
    ("[[day_off]]\ndate = 2026-01-02\nname = '  '" + S, r"day_off\[0\] \(2026-01-02\): name"),
    ("[[day_off]]\ndate = 2026-01-02\nname = 'x'", r"day_off\[0\] \(2026-01-02\): source must"),
    ("[[day_off]]\ndate = 2026-01-02\nname = 'x'\nsource = ''", r"\(2026-01-02\): source must"),
    (
        "[[day_off]]\ndate = 2026-01-02\nname = 'x'" + S + "\nto_confirm = 'yes'",
        r"day_off\[0\] \(2026-01-02\): to_confirm must be true or false",
    ),
    (
        "[[day_off]]\ndate = 2026-01-02\nname = 'x'" + S + "\nreason = 'y'",
        r"day_off\[0\]: unknown key.*reason",
    ),
    ("[[holiday]]\ndate = 2026-01-02\nname = 'x'" + S, "unknown section.*holiday"),
    ("day_off = 1", "day_off must be written as"),
    ("confirmed_years = 2026", "confirmed_years must be a list of years"),
    ("confirmed_years = ['2026']", "confirmed_years must be a list of years"),
    ("confirmed_years = [2027]", "confirmed_years 2027 without any"),
    (
        "[[day_off]]\ndate = 2026-01-02\nname = 'a'" + S + "\n"
        "[[day_off]]\ndate = 2026-01-02\nname = 'b'" + S,
        r"day_off\[1\]: 2026-01-02 is listed twice",
    ),
    (
        "[[day_off]]\ndate = 2026-01-10\nname = 'a'" + S + "\n"
        "[[working_day]]\ndate = 2026-01-10\nname = 'b'" + S,
        "2026-01-10 listed both as day_off and working_day",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_TOML)
def test_r11_from_toml_names_the_bad_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CalendarOverrides.from_toml(text)


def test_r11_overrides_refuse_a_day_both_off_and_working() -> None:
    with pytest.raises(ValueError, match="both"):
        CalendarOverrides(days_off={date(2026, 1, 10): "a"}, working_days={date(2026, 1, 10): "b"})


# --- the reminder grace (R3) ---------------------------------------------------------------------

GOOD_GRACES = [
    ("2d", Grace(working_days=2)),
    (" 1D ", Grace(working_days=1)),
    ("PT5S", Grace(duration=timedelta(seconds=5))),
    ("PT2M", Grace(duration=timedelta(minutes=2))),
    ("PT1H30M", Grace(duration=timedelta(hours=1, minutes=30))),
    ("P1DT2H", Grace(duration=timedelta(days=1, hours=2))),
    ("P2D", Grace(duration=timedelta(days=2))),  # ISO days are 24-hour days, not working days
    ("pt0.5s", Grace(duration=timedelta(milliseconds=500))),
    ("PT90S", Grace(duration=timedelta(seconds=90))),
]


@pytest.mark.parametrize(("text", "expected"), GOOD_GRACES)
def test_r11_parse_grace(text: str, expected: Grace) -> None:
    assert parse_grace(text) == expected


BAD_GRACES = [
    "", "0d", "-2d", "2", "2.5d", "abc", "PT0S", "P0D", "-PT5S", "P", "PT", "P1DT",
    "PT1H30", "P1Y", "P1M", "P1W", "2d PT5S",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD_GRACES)
def test_r11_parse_grace_refuses_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"'2d' \(working days\) or an ISO 8601 duration"):
        parse_grace(text)


def test_r11_parse_grace_refuses_an_overflowing_duration() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_grace("P9999999999D")


@pytest.mark.parametrize(
    "fields",
    [{}, {"working_days": 1, "duration": timedelta(seconds=1)}, {"working_days": 0}],
)
def test_r11_grace_holds_exactly_one_positive_value(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Grace(**fields)  # type: ignore[arg-type]


# --- the clock is honest: aware datetimes only ---------------------------------------------------


def test_r11_naive_datetimes_are_refused(cal: WorkingCalendar) -> None:
    naive = datetime(2025, 3, 10, 9)
    aware = vn(2025, 3, 10, 9)
    calls = [
        lambda: cal.counting_day(naive),
        lambda: cal.due_at(naive, 1),
        lambda: cal.shift(naive, 1),
        lambda: cal.after_grace(naive, Grace(duration=timedelta(seconds=5))),
        lambda: cal.after_grace(naive, Grace(working_days=1)),
        lambda: cal.working_days_between(naive, aware),
        lambda: cal.working_days_between(aware, naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="no time zone"):
            call()


# --- CalendarSource: the province's file, reloaded when it changes -------------------------------

EXTRA_DAY_OFF = (
    '[[day_off]]\ndate = 2026-01-02\nname = "Nghỉ bổ sung"\nsource = "Quyết định của tỉnh"\n'
)


def _touch(path: Path, seconds: int) -> None:
    """Give `path` a distinct modification time, as a later edit would."""
    ns = seconds * 1_000_000_000
    os.utime(path, ns=(ns, ns))


def test_r11_calendar_source_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "calendar-overrides.toml"
    path.write_text("", encoding="utf-8")
    _touch(path, 1_700_000_000)
    source = CalendarSource(path)
    first = source.calendar()
    assert first.is_working_day(date(2026, 1, 2))
    assert source.calendar() is first  # unchanged file: the cached calendar

    path.write_text(EXTRA_DAY_OFF, encoding="utf-8")
    _touch(path, 1_700_000_100)
    second = source.calendar()
    assert second is not first
    assert second.day_off_name(date(2026, 1, 2)) == "Nghỉ bổ sung"


def test_r11_calendar_source_missing_file_means_no_overrides(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    source = CalendarSource(path)
    with capture_logs() as logs:
        calendar = source.calendar()
        assert source.calendar() is calendar  # warned once, not on every look-up
    assert [entry["event"] for entry in logs] == ["calendar_overrides_missing"]
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["path"] == str(path)
    assert calendar.is_working_day(date(2026, 1, 2))
    assert calendar.day_off_name(date(2026, 2, 17)) == "Tết Nguyên Đán"

    path.write_text(EXTRA_DAY_OFF, encoding="utf-8")  # the province creates the file
    assert not source.calendar().is_working_day(date(2026, 1, 2))
    path.unlink()
    assert source.calendar().is_working_day(date(2026, 1, 2))


def test_r11_calendar_source_malformed_file_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "calendar-overrides.toml"
    path.write_text(EXTRA_DAY_OFF, encoding="utf-8")
    _touch(path, 1_700_000_000)
    source = CalendarSource(path)
    assert not source.calendar().is_working_day(date(2026, 1, 2))

    path.write_text('[[day_off]]\ndate = "2 tháng 1"\nname = "x"\n', encoding="utf-8")
    _touch(path, 1_700_000_100)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*day_off\[0\]: date must be"):
        source.calendar()

    path.write_text(EXTRA_DAY_OFF.replace("2026-01-02", "2026-01-05"), encoding="utf-8")
    _touch(path, 1_700_000_200)
    calendar = source.calendar()  # a fixed file is picked up again
    assert calendar.is_working_day(date(2026, 1, 2))
    assert not calendar.is_working_day(date(2026, 1, 5))


def test_r11_calendar_source_passes_office_hours(tmp_path: Path) -> None:
    source = CalendarSource(tmp_path / "absent.toml", OfficeHours(closes=time(16, 30)))
    assert source.calendar().end_of_day(date(2025, 9, 8)) == utc(2025, 9, 8, 9, 30)
