"""The emulator's uneven network: a seeded delay before a request is counted (issue 15)."""

from __future__ import annotations

import pytest

from dfs_async.emulator import FaultConfig
from dfs_async.emulator.faults import FaultPlan


def test_arrival_delays_are_seeded_within_bounds_and_leave_the_fault_draws_alone() -> None:
    config = FaultConfig(seed=5, http_500=0.5, arrival_delay_min=0.1, arrival_delay_max=0.3)
    plan, again = FaultPlan(config), FaultPlan(config)
    delays = [plan.arrival_delay() for _ in range(200)]
    assert all(0.1 <= d <= 0.3 for d in delays)
    assert delays == [again.arrival_delay() for _ in range(200)]
    assert max(delays) - min(delays) > 0.15  # uneven
    no_delay = FaultPlan(FaultConfig(seed=5, http_500=0.5))
    assert no_delay.arrival_delay() == 0.0
    draws = [plan.draw(f"body{i}".encode()) for i in range(50)]
    assert draws == [no_delay.draw(f"body{i}".encode()) for i in range(50)]


def test_bad_arrival_delays_are_refused() -> None:
    with pytest.raises(ValueError, match="arrival_delay"):
        FaultConfig(arrival_delay_min=0.5, arrival_delay_max=0.1)
    with pytest.raises(ValueError, match="arrival_delay"):
        FaultConfig(arrival_delay_min=-1.0, arrival_delay_max=0.1)
