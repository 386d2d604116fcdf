"""`make run`'s restarts of a worker or API process that died (dev/run.py, `restart_delay`): 1 s,
then doubling up to 30 s while it keeps dying, back to 1 s once it stayed up a minute."""

from __future__ import annotations

import pytest

from dev.run import restart_delay


def test_first_death_waits_one_second() -> None:
    assert restart_delay(None, uptime_s=0.5) == 1.0


def test_dying_again_soon_doubles_the_wait_up_to_thirty_seconds() -> None:
    delays = []
    delay = None
    for _ in range(8):
        delay = restart_delay(delay, uptime_s=2.0)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.mark.parametrize(("uptime_s", "expected"), [(59.9, 16.0), (60.0, 1.0), (3600.0, 1.0)])
def test_a_minute_up_starts_the_count_again(uptime_s: float, expected: float) -> None:
    assert restart_delay(8.0, uptime_s) == expected
