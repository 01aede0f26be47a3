"""The short soak: 250 targets through every fault kind of the emulator at once.

Every item exactly once (against the corpus), failures only for the invalid targets, no
warning or error logged, nothing left behind (tasks, threads, sockets, the httpx pool), and
the client's counters equal to the emulator's (requests: but for any lost before the server
counted them, see `soak.check`). `scripts/soak` runs the same code on 5,000.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dfs_async import RetryPolicy
from dfs_async.emulator import EmulatorConfig, running_emulator
from dfs_async.emulator.config import FAULT_KINDS

from .leaks import no_leaks
from .soak import SoakResult, check, realistic_faults, soak, soak_targets

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)


async def test_short_soak_under_every_fault() -> None:
    targets, invalid = soak_targets(250)
    # Uniform sizes of 20-120 items at limit 10: some 1,800 requests, ~90 of them faulted.
    config = EmulatorConfig(
        seed=3,
        min_pages=20,
        max_pages=120,
        size_skew=1.0,
        rate_limit=10**6,
        faults=realistic_faults(3, latency_max=0.01, trickle=0.1),
    )
    async with running_emulator(config) as emu:
        async with no_leaks(emu) as clients:
            result = await soak(emu, targets, invalid, limit=10, rate=None, retry_policy=FAST)
            clients.append(result.transport)
        assert check(result, emu, targets) == []
        assert set(result.counters["faults"]) == set(FAULT_KINDS)  # every kind did happen
        assert len(invalid) == 5 and result.stats["targets_failed"] == 5
        assert result.stats["requests"] > 1500


@pytest.mark.parametrize(
    ("client", "server", "no_answer", "broken"),
    [
        (100, 100, 0, False),
        (101, 100, 1, False),  # one request lost unseen, retried as "no answer"
        (101, 100, 0, True),  # one more than the server, yet no request went unanswered
        (99, 100, 0, True),  # the client missed one the server counted
    ],
)
def test_the_soak_check_accounts_for_requests_lost_unseen(
    client: int, server: int, no_answer: int, broken: bool
) -> None:
    """`check` allows the client more requests than the server only by its no-answer
    retries; the retries must still add up."""
    retries = {0: no_answer, 500: 10} if no_answer else {500: 10}
    result = SoakResult(
        targets=0,
        invalid=[],
        tallies={},
        failures=[],
        problems=[],
        stats={"requests": client, "retries": retries, "cost": 1.0, "items": 5},
        counters={"requests": server, "by_status": {20000: 90}, "cost": 1.0, "items": 5},
        elapsed=0.0,
        peak_rss_mb=0.0,
        warnings=[],
        transport=None,
    )
    emu = SimpleNamespace(app=SimpleNamespace(corpus=None))
    problems = check(result, emu, [])  # type: ignore[arg-type]
    assert bool(problems) is broken, problems
