"""The one retry policy: capped exponential backoff with full jitter, bounded throttling."""

from __future__ import annotations

import random

import pytest

from dfs_async.errors import ConfigurationError
from dfs_async.retry import RetryPolicy


def test_delays_stay_within_the_capped_exponential() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, rng=random.Random(1))
    for attempt in range(1, 12):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        draws = [policy.delay(attempt, 50000) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # full jitter: the draws spread over the whole range, not around one value
        assert min(draws) < ceiling * 0.2 and max(draws) > ceiling * 0.8


def test_50303_starts_from_the_longer_base() -> None:
    policy = RetryPolicy(base=0.01, slow_base=2.0, cap=100.0, rng=random.Random(2))
    assert max(policy.delay(1, 50303) for _ in range(100)) > 1.0
    assert max(policy.delay(1, 50000) for _ in range(100)) <= 0.01


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)
    with pytest.raises(ConfigurationError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_throttle_delay_uses_its_own_base() -> None:
    policy = RetryPolicy(throttle_base=0.1, cap=1.0, rng=random.Random(3))
    assert all(0 <= policy.throttle_delay(n) <= min(1.0, 0.1 * 2 ** (n - 1)) for n in range(1, 9))
