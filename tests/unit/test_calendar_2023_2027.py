"""R11 on the real calendar of 2023–2027: due dates across Tết, 30/4–1/5, 2/9, 24/11 and New Year,
counted on the repository's `data/calendar-overrides.toml` (the province's file) as the worker
and the API count them.

Each case is a receipt at a real desk moment and a procedure of N working days; the expected due
date is closing time (17:00 in Vietnam, 10:00 UTC) on the day the official schedule gives, with
the deciding document beside the case.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.calendar import ZONE, CalendarOverrides, ScheduleCoverage, WorkingCalendar

OVERRIDES = Path(__file__).resolve().parents[2] / "data" / "calendar-overrides.toml"
# A document number (12729/VPCP-KGVX, 9441/TB-BNV, 80-NQ/TW) or the Labour Code's article.
DOCUMENT = re.compile(r"\d+/[A-ZĐ0-9-]+|Bộ luật Lao động 2019, Điều 11[12]")


@pytest.fixture(scope="module")
def overrides() -> CalendarOverrides:
    return CalendarOverrides.from_toml(OVERRIDES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cal(overrides: CalendarOverrides) -> WorkingCalendar:
    return WorkingCalendar.vietnam(overrides)


def vn(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZONE)


def closing(y: int, mo: int, d: int) -> datetime:
    """17:00 in Vietnam on that day, the moment a due date falls."""
    return datetime(y, mo, d, 10, tzinfo=UTC)


DUE = [
    # (received, N working days, due, why)
    # --- the last working day before Tết ---------------------------------------------------
    (vn(2024, 2, 7), 1, closing(2024, 2, 15), "Tết 8/2–14/2/2024: 5015/TB-LĐTBXH"),
    (vn(2024, 2, 7), 3, closing(2024, 2, 19), "Tết 2024, then a weekend"),
    (vn(2024, 2, 7, 15, 1), 1, closing(2024, 2, 16), "after 15:00: counted from 15/2/2024"),
    (vn(2025, 1, 24), 1, closing(2025, 2, 3), "Tết 25/1–2/2/2025: 8726/VPCP-KGVX"),
    (vn(2025, 1, 24), 5, closing(2025, 2, 7), "Tết 2025, five days after"),
    (vn(2025, 1, 24, 15, 0), 1, closing(2025, 2, 3), "15:00:00 still counts that day"),
    (vn(2026, 2, 13), 1, closing(2026, 2, 23), "Tết 14/2–22/2/2026: 9859/VPCP-KGVX, 9441/TB-BNV"),
    (vn(2026, 2, 13), 5, closing(2026, 2, 27), "Tết 2026, five days after"),
    (vn(2026, 2, 13, 16), 1, closing(2026, 2, 24), "after 15:00: counted from 23/2/2026"),
    (vn(2023, 1, 19), 1, closing(2023, 1, 27), "Tết 20/1–26/1/2023: 8056/VPCP-KGVX"),
    # --- 30/4–1/5, with the swaps ----------------------------------------------------------
    (vn(2024, 4, 26), 1, closing(2024, 5, 2), "29/4/2024 off by swap: 2450/VPCP-KGVX"),
    (vn(2024, 4, 26), 3, closing(2024, 5, 4), "Saturday 4/5/2024 is worked"),
    (vn(2024, 4, 26), 4, closing(2024, 5, 6), "after the worked Saturday"),
    (vn(2025, 4, 25), 1, closing(2025, 4, 26), "Saturday 26/4/2025 is worked: 8726/VPCP-KGVX"),
    (vn(2025, 4, 25), 4, closing(2025, 5, 5), "30/4, 1/5 and the swapped 2/5/2025 off"),
    (vn(2023, 4, 28), 1, closing(2023, 5, 4), "29/4–3/5/2023: two days in lieu (art. 111)"),
    (vn(2026, 4, 24), 1, closing(2026, 4, 28), "Giỗ Tổ on Sunday 26/4/2026, off Monday 27/4"),
    (vn(2026, 4, 29), 1, closing(2026, 5, 4), "30/4 and 1/5/2026, no swap"),
    # --- 2/9 and its adjacent day ----------------------------------------------------------
    (vn(2023, 8, 31), 1, closing(2023, 9, 5), "1/9–4/9/2023: 8056/VPCP-KGVX"),
    (vn(2024, 8, 30), 1, closing(2024, 9, 4), "31/8–3/9/2024: 5015/TB-LĐTBXH"),
    (vn(2025, 8, 29), 1, closing(2025, 9, 3), "1 and 2/9/2025 off: 6150/TB-LĐTBXH"),
    (vn(2025, 8, 29), 2, closing(2025, 9, 4), "2/9/2025, the day after"),
    (vn(2026, 8, 21), 1, closing(2026, 8, 22), "Saturday 22/8/2026 is worked: 9441/TB-BNV"),
    (vn(2026, 8, 28), 1, closing(2026, 9, 3), "29/8–2/9/2026, Monday 31/8 off by swap"),
    # --- New Year 2026: Friday 2/1 off, Saturday 10/1 worked (12729/VPCP-KGVX) --------------
    (vn(2025, 12, 31), 1, closing(2026, 1, 5), "1/1 and 2/1/2026 off"),
    (vn(2025, 12, 31), 5, closing(2026, 1, 9), "the first week of 2026"),
    (vn(2025, 12, 31), 6, closing(2026, 1, 10), "the worked Saturday 10/1/2026"),
    (vn(2026, 1, 2), 1, closing(2026, 1, 6), "received online on 2/1: counted from 5/1/2026"),
    (vn(2026, 1, 9), 1, closing(2026, 1, 10), "Friday 9/1 → Saturday 10/1/2026"),
    (vn(2026, 1, 10, 9), 1, closing(2026, 1, 12), "received at the desk on Saturday 10/1/2026"),
    (vn(2026, 1, 10, 15, 30), 1, closing(2026, 1, 13), "Saturday 10/1/2026 after 15:00"),
    # --- 24/11/2026, Ngày Văn hóa Việt Nam: off, no swap (28/2026/QH16, 10065/VPCP-KGVX) ------
    (vn(2026, 11, 23), 1, closing(2026, 11, 25), "24/11/2026 off: 28/2026/QH16, 10065/VPCP-KGVX"),
    (vn(2026, 11, 20), 2, closing(2026, 11, 25), "Friday 20/11 → Monday 23/11, then 25/11/2026"),
    (vn(2026, 11, 24, 9), 1, closing(2026, 11, 26), "received online on 24/11: counted from 25/11"),
    (vn(2026, 11, 27), 1, closing(2026, 11, 30), "Saturday 28/11/2026 is not worked: no swap"),
    # --- 2027: Tết 4/2–10/2 and 2/9–5/9 by 10065/VPCP-KGVX; the rest by law ------------------
    (vn(2026, 12, 31), 1, closing(2027, 1, 4), "Friday 1/1/2027 off, no swap"),
    (vn(2027, 2, 3), 1, closing(2027, 2, 11), "Tết 4/2–10/2/2027: 10065/VPCP-KGVX"),
    (vn(2027, 2, 3), 3, closing(2027, 2, 15), "Tết 2027, then a weekend"),
    (vn(2027, 2, 3, 15, 1), 1, closing(2027, 2, 12), "after 15:00: counted from 11/2/2027"),
    (vn(2027, 2, 6, 9), 1, closing(2027, 2, 12), "received online on mùng 1: counted from 11/2"),
    (vn(2027, 2, 5), 1, closing(2027, 2, 12), "received online on 5/2/2027, a Tết weekday"),
    (vn(2027, 4, 15), 1, closing(2027, 4, 19), "Giỗ Tổ on Friday 16/4/2027"),
    (vn(2027, 4, 29), 1, closing(2027, 5, 4), "30/4, 1/5 (Saturday) and 3/5/2027 in lieu"),
    (vn(2027, 4, 29), 2, closing(2027, 5, 5), "30/4–3/5/2027, two days"),
    (vn(2027, 4, 28), 1, closing(2027, 4, 29), "Thursday 29/4/2027 is worked: no swap"),
    (vn(2027, 9, 1), 1, closing(2027, 9, 6), "2/9–5/9/2027, Friday 3/9 off: 10065/VPCP-KGVX"),
    (vn(2027, 11, 23), 1, closing(2027, 11, 25), "Wednesday 24/11/2027 off: 28/2026/QH16"),
]


@pytest.mark.parametrize(("received", "n", "due", "why"), DUE, ids=[c[3] for c in DUE])
def test_r11_due_date_on_the_official_schedule(
    cal: WorkingCalendar, received: datetime, n: int, due: datetime, why: str
) -> None:
    assert cal.due_at(received, n) == due, why
    # The same count backwards: the delay of a dossier answered at its due date is n days.
    assert (
        cal.working_days_between(
            datetime.combine(cal.counting_day(received), received.timetz()), due
        )
        == n
    )


def test_r11_the_two_2026_errors_of_holidays_vn_are_fixed(cal: WorkingCalendar) -> None:
    national = WorkingCalendar.vietnam()
    assert national.is_working_day(date(2026, 1, 2)) and not national.is_working_day(
        date(2026, 1, 10)
    )
    assert not cal.is_working_day(date(2026, 1, 2))
    assert (cal.day_off_name(date(2026, 1, 2)) or "").startswith("Nghỉ Tết Dương lịch")
    assert cal.is_working_day(date(2026, 1, 10))


def test_r11_the_file_names_a_document_for_every_entry(overrides: CalendarOverrides) -> None:
    entries = {*overrides.days_off, *overrides.working_days}
    assert entries == set(overrides.sources)
    unnamed = {
        day: source for day, source in overrides.sources.items() if not DOCUMENT.search(source)
    }
    assert not unnamed, unnamed


def test_r11_the_file_confirms_2023_to_2027_with_24_11_2026_off_by_resolution_28_2026_qh16(
    overrides: CalendarOverrides,
) -> None:
    assert overrides.confirmed_years == {2023, 2024, 2025, 2026, 2027}
    assert overrides.to_confirm == {date(2027, 5, 3)}
    assert date(2026, 11, 24) in overrides.days_off
    assert "28/2026/QH16" in overrides.sources[date(2026, 11, 24)]
    assert "10065/VPCP-KGVX" in overrides.sources[date(2026, 11, 24)]


def test_r11_2027_follows_10065_vpcp_kgvx_and_flags_the_day_in_lieu_no_text_confirms(
    overrides: CalendarOverrides,
) -> None:
    tet = [date(2027, 2, day) for day in range(4, 11)]
    national_day = [date(2027, 9, 2), date(2027, 9, 3)]
    for day in (*tet, *national_day):
        assert day in overrides.days_off and "10065/VPCP-KGVX" in overrides.sources[day], day
    assert not {day for day in overrides.working_days if day.year == 2027}  # no worked Saturday
    # Saturday 1/5/2027: the day in lieu comes from the Labour Code alone, so it waits for a text.
    in_lieu = date(2027, 5, 3)
    assert in_lieu in overrides.days_off and in_lieu in overrides.to_confirm
    assert "Điều 111 khoản 3" in overrides.sources[in_lieu]


# The file lists each confirmed year in full. Against holidays.VN (0.109) it may differ only on
# the days the official texts decide otherwise; any other difference is a slip in the file.
DECIDED_AGAINST_HOLIDAYS_VN = {date(2026, 1, 2), date(2026, 1, 10)}


def test_r11_the_file_differs_from_holidays_vn_only_where_a_text_decides(
    cal: WorkingCalendar,
) -> None:
    national = WorkingCalendar.vietnam()
    days = (date(2023, 1, 1) + timedelta(days=n) for n in range(366 * 5))
    differing = {
        day
        for day in days
        if day.year <= 2027 and cal.is_working_day(day) != national.is_working_day(day)
    }
    assert differing <= DECIDED_AGAINST_HOLIDAYS_VN, sorted(differing - DECIDED_AGAINST_HOLIDAYS_VN)


def test_r11_each_confirmed_year_has_its_250_odd_working_days(cal: WorkingCalendar) -> None:
    # Weekdays minus the weekday days off, plus the worked Saturdays: a whole-year check that
    # no span was left out or typed twice.
    def working(year: int) -> int:
        first = date(year, 1, 1)
        return sum(
            cal.is_working_day(first + timedelta(days=n))
            for n in range((date(year + 1, 1, 1) - first).days)
        )

    assert {year: working(year) for year in (2023, 2024, 2025, 2026, 2027)} == {
        2023: 249,
        2024: 251,
        2025: 250,
        2026: 249,
        2027: 249,
    }


# --- the warning while next year's schedule is not in the file ---------------------------------

COVERAGE = [
    # (today, unconfirmed years): this year and next, as of the operators' local date
    (date(2025, 6, 1), ()),
    (date(2026, 1, 5), ()),
    (date(2026, 12, 6), ()),
    (date(2027, 1, 4), (2028,)),
    (date(2027, 12, 6), (2028,)),
    (date(2028, 1, 3), (2028, 2029)),
    (date(2022, 12, 31), (2022,)),
]


@pytest.mark.parametrize(("today", "unconfirmed"), COVERAGE, ids=str)
def test_r11_next_year_without_a_confirmed_schedule_is_warned(
    overrides: CalendarOverrides, today: date, unconfirmed: tuple[int, ...]
) -> None:
    coverage = ScheduleCoverage.of(overrides, today)
    assert coverage.unconfirmed_years == unconfirmed
    assert coverage.confirmed_years == (2023, 2024, 2025, 2026, 2027)
    assert coverage.to_confirm == (date(2027, 5, 3),)
    if unconfirmed:
        assert coverage.warning is not None
        assert all(str(year) in coverage.warning for year in unconfirmed)
        assert "chưa có lịch nghỉ chính thức" in coverage.warning
    else:
        assert coverage.warning is None
