"""The one retry policy: how many times, and how long to wait before the next attempt.

Transient outcomes (see `codes.Action.RETRY`) are retried with capped exponential backoff
and *full jitter* (a uniform draw between 0 and the capped exponential): many workers that
failed together do not come back together. 50303 ("service unavailable, try later") starts
from a longer base. Throttling answers (40202, 40209) are not failures of the request: they
are retried without using up an attempt, but only `max_throttled` times per page, so a
server that throttles forever still ends the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from dfs_async.codes import SLOW_RETRY
from dfs_async.errors import ConfigurationError


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` requests per page at most; waits grow `base * 2**n` up to `cap`."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    slow_base: float = 5.0  # for SLOW_RETRY codes (50303)
    throttle_base: float = 0.25  # a short pause after 40202/40209, on top of the pacing
    max_throttled: int = 50
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts: at least 1")
        if min(self.base, self.cap, self.slow_base, self.throttle_base) < 0:
            raise ConfigurationError("retry delays must not be negative")

    def exhausted(self, attempts: int) -> bool:
        """True once `attempts` requests were sent: no further attempt is allowed."""
        return attempts >= self.max_attempts

    def delay(self, attempts: int, code: int | None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1 for the first)."""
        base = self.slow_base if code in SLOW_RETRY else self.base
        return self._jitter(base, attempts)

    def throttle_delay(self, throttled: int) -> float:
        """Seconds to wait after the `throttled`-th throttling answer for the same page."""
        return self._jitter(self.throttle_base, throttled)

    def _jitter(self, base: float, n: int) -> float:
        ceiling = min(self.cap, base * 2.0 ** min(max(n - 1, 0), 32))
        return self.rng.uniform(0.0, ceiling)
