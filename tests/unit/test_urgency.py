"""The inbox's urgency groups and working days left (issue 9), on real 2026 dates of the
Vietnamese calendar (R11): checked against `holidays.VN` as in test_calendar.py. Around Friday
24 April 2026: Sunday 26 is Giỗ Tổ Hùng Vương, Monday 27 its day in lieu, Thursday 30 April and
Friday 1 May are off; Tết 2026 is Monday 16 to Friday 20 February; Saturday 22 August 2026 is
worked (for Monday 31 August)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.calendar import ZONE, WorkingCalendar
from domain.urgency import (
    Urgency,
    UrgencyBounds,
    urgency_of,
    working_days_left,
    working_days_left_of,
)


def vn(mo: int, d: int, h: int = 17, mi: int = 0) -> datetime:
    """A local time in 2026; 17:00, the desk's closing, when a due date falls."""
    return datetime(2026, mo, d, h, mi, tzinfo=ZONE)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.vietnam()


FRIDAY = vn(4, 24, 10)  # before the Hùng Kings' long weekend and 30/4-1/5

# (now, due_at, marked late, expected group, expected working days left; None: no due date)
CASES = [
    (FRIDAY, vn(4, 24), False, Urgency.DUE_TODAY, 0),
    (FRIDAY, vn(4, 24, 9), False, Urgency.LATE, 0),  # missed earlier today: 0 days overdue
    (FRIDAY, vn(4, 23), False, Urgency.LATE, -1),
    (FRIDAY, vn(4, 20), False, Urgency.LATE, -4),  # Tue, Wed, Thu, Fri
    # R11: Saturday, Sunday (Giỗ Tổ) and Monday (its day in lieu) do not count
    (FRIDAY, vn(4, 28), False, Urgency.DUE_SOON, 1),
    (FRIDAY, vn(4, 29), False, Urgency.DUE_SOON, 2),
    # Thursday 30/4 and Friday 1/5 are off: Monday 4 May is the third working day
    (FRIDAY, vn(5, 4), False, Urgency.IN_TIME, 3),
    (FRIDAY, None, False, Urgency.IN_TIME, None),  # clock suspended for a supplement
    # marked late by the workflow's clock: late whatever its date
    (FRIDAY, vn(4, 29), True, Urgency.LATE, 2),
    (FRIDAY, None, True, Urgency.LATE, None),
    # a Saturday: nothing is due today; the next two working days are Monday and Tuesday
    (vn(5, 2, 10), vn(5, 4), False, Urgency.DUE_SOON, 1),
    (vn(5, 2, 10), vn(5, 5), False, Urgency.DUE_SOON, 2),
    (vn(5, 2, 10), vn(5, 6), False, Urgency.IN_TIME, 3),
    # Tết: from Friday 13 February, the next working days are 23 and 24 February
    (vn(2, 13, 8), vn(2, 24), False, Urgency.DUE_SOON, 2),
    (vn(2, 13, 8), vn(2, 25), False, Urgency.IN_TIME, 3),
    (vn(2, 23, 8), vn(2, 13), False, Urgency.LATE, -1),  # the days of Tết are not overdue days
    # a worked Saturday (22 August) counts
    (vn(8, 21, 10), vn(8, 24), False, Urgency.DUE_SOON, 2),
    (vn(8, 21, 10), vn(8, 25), False, Urgency.IN_TIME, 3),
]


@pytest.mark.parametrize(("now", "due_at", "late", "group", "left"), CASES)
def test_urgency_and_working_days_left(
    cal: WorkingCalendar,
    now: datetime,
    due_at: datetime | None,
    late: bool,
    group: Urgency,
    left: int | None,
) -> None:
    assert urgency_of(due_at, now, cal, late=late) is group
    if due_at is not None:
        assert working_days_left(due_at, now, cal) == left


@pytest.mark.parametrize("now", sorted({case[0] for case in CASES}))
def test_working_days_left_of_a_page_counts_as_each_alone(
    cal: WorkingCalendar, now: datetime
) -> None:
    due_ats = [due for _, due, *_ in CASES if due is not None]
    due_ats += [now, now - timedelta(days=400), now + timedelta(days=300)]

    assert working_days_left_of(due_ats, now, cal) == [
        working_days_left(due_at, now, cal) for due_at in due_ats
    ]
    assert working_days_left_of([], now, cal) == []


def test_bounds_are_vietnam_midnights_after_today_and_the_second_working_day(
    cal: WorkingCalendar,
) -> None:
    bounds = UrgencyBounds.at(FRIDAY, cal)

    assert bounds.now == FRIDAY.astimezone(UTC)
    assert bounds.today_ends == datetime(2026, 4, 24, 17, 0, tzinfo=UTC)  # 25/4 00:00 in Vietnam
    assert bounds.soon_ends == datetime(2026, 4, 29, 17, 0, tzinfo=UTC)  # 30/4 00:00 in Vietnam
    assert bounds.today_ends.tzinfo is UTC


def test_a_due_time_exactly_now_is_due_today_not_late(cal: WorkingCalendar) -> None:
    assert urgency_of(FRIDAY, FRIDAY, cal) is Urgency.DUE_TODAY


def test_bounds_of_a_naive_now_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        UrgencyBounds.at(datetime(2026, 4, 24, 10), cal)


def test_every_group_has_a_vietnamese_label() -> None:
    assert [u.label_vi for u in Urgency] == [
        "Quá hạn",
        "Đến hạn hôm nay",
        "Sắp đến hạn",
        "Trong hạn",
    ]
