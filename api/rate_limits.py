"""Rate limits of this API process: token buckets by key (a client address, a dossier code),
each allowing `limit` attempts per `window_s`, refilled evenly. In memory, so per process: an
API run as N processes allows N times as much (README, "The citizens' look-up")."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from api.problems import Problem

# Keys remembered per limiter; the least recently used is forgotten first (a full bucket again).
MAX_KEYS = 100_000


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._per_second = limit / window_s
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def wait(self, key: str) -> float:
        """Seconds until `key` may make an attempt; 0 if it may now."""
        tokens = self._tokens(key)
        return 0.0 if tokens >= 1 else (1 - tokens) / self._per_second

    def take(self, key: str) -> None:
        """Count an attempt of `key` (which `wait` allowed)."""
        self._buckets[key] = (self._tokens(key) - 1, self._clock())
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

    def _tokens(self, key: str) -> float:
        tokens, at = self._buckets.get(key, (float(self._limit), self._clock()))
        return min(float(self._limit), tokens + (self._clock() - at) * self._per_second)


def admit(*limits: tuple[RateLimiter, str]) -> None:
    """Count one attempt against each (limiter, key) if all allow it; else 429 `rate_limited`
    with `Retry-After`, counting nothing."""
    wait = max(limiter.wait(key) for limiter, key in limits)
    if wait > 0:
        raise Problem("rate_limited", headers={"Retry-After": str(math.ceil(wait))})
    for limiter, key in limits:
        limiter.take(key)
