"""The look-up's token buckets (api.rate_limits) on a clock of the test's own: limit per window,
refilled evenly, the wait a 429's Retry-After states, nothing counted when refused, and the
least recently used keys forgotten first."""

from __future__ import annotations

import pytest

from api.problems import Problem
from api.rate_limits import RateLimiter, admit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_window_refilled_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    for _ in range(3):
        assert limiter.wait("a") == 0
        limiter.take("a")
    assert limiter.wait("a") == pytest.approx(20)  # one attempt back every 20 s
    assert limiter.wait("b") == 0  # keys apart
    clock.now = 19.0
    assert limiter.wait("a") == pytest.approx(1)
    clock.now = 20.0
    assert limiter.wait("a") == 0
    clock.now = 10_000.0
    for _ in range(3):  # never more than the limit saved up
        limiter.take("a")
    assert limiter.wait("a") > 0


def test_a_refusal_counts_against_no_limit_and_says_when_to_retry() -> None:
    clock = Clock()
    by_address, by_code = RateLimiter(10, 60, clock=clock), RateLimiter(1, 60, clock=clock)
    admit((by_address, "1.2.3.4"), (by_code, "X-1"))
    with pytest.raises(Problem) as refused:
        admit((by_address, "1.2.3.4"), (by_code, "X-1"))
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.headers == {"Retry-After": "60"}
    for code in ("X-2", "X-3", "X-4", "X-5", "X-6", "X-7", "X-8", "X-9", "X-10"):
        admit((by_address, "1.2.3.4"), (by_code, code))  # the refused one was not counted


def test_the_least_recently_used_keys_are_forgotten_first() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60, max_keys=2, clock=clock)
    for key in ("a", "b"):
        limiter.take(key)
    limiter.take("c")  # forgets "a"
    assert limiter.wait("a") == 0 and limiter.wait("b") > 0 and limiter.wait("c") > 0
