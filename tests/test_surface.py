"""What a user sees of the client: an awaited bulk call of many targets, the stats as the
README lists them, retries named, money without float noise; against the emulator over a
real loopback socket where a request is sent."""

from __future__ import annotations

from typing import Any

import pytest

from dfs_async import (
    BudgetExhausted,
    DataForSEO,
    InvalidTarget,
    NetworkFailure,
    Stats,
    ValidationError,
)
from dfs_async.cli.progress import retries_text
from dfs_async.emulator import EmulatorHandle

pytestmark = pytest.mark.anyio


def client(emu: EmulatorHandle, **kwargs: Any) -> DataForSEO:
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, rate=None, **kwargs)


async def test_an_awaited_bulk_call_takes_a_list_of_targets(dfs_emulator: EmulatorHandle) -> None:
    emu = dfs_emulator
    async with client(emu) as dfs:
        call = dfs.backlinks.bulk_ranks
        result = await call(["a.com", "WWW.B.com", "https://WWW.B.com", "a.com"])
        # normalised (a URL stays a page), no two alike
        expected = ["a.com", "b.com", "https://www.b.com/"]
        assert sorted(item.target for item in result.items) == expected
        assert emu.app.counters.requests == 1  # one request: normalised, no two alike
        assert (dfs.stats.pages, dfs.stats.items) == (1, 3)
        one = await call("c.com")  # one target, as before
        assert [item.target for item in one.items] == ["c.com"]
        with pytest.raises(InvalidTarget):
            await call(["d.com", "not a target"])
        with pytest.raises(ValidationError, match="at most 1,000 a request"):
            await call([f"t{i}.com" for i in range(1001)])
        with pytest.raises(ValidationError, match="100 root domains"):
            await dfs.backlinks.bulk_pages_summary([f"https://s{i}.com/p" for i in range(101)])
        with pytest.raises(ValidationError, match="at least one"):
            await call([])
        assert emu.app.counters.requests == 2  # nothing sent for what was refused


async def test_a_bulk_call_of_many_targets_is_bounded_by_its_rows(
    dfs_emulator: EmulatorHandle,
) -> None:
    """A request of 1,000 targets can cost $0.02 + 1,000 rows: a budget below it sends none."""
    async with client(dfs_emulator, max_cost=0.04) as dfs:
        with pytest.raises(BudgetExhausted, match=r"spent \$0\.00 of \$0\.04"):
            await dfs.backlinks.bulk_ranks([f"t{i}.com" for i in range(1000)])
    assert dfs_emulator.app.counters.requests == 0


def test_the_stats_show_what_the_readme_lists_and_money_without_noise() -> None:
    stats = Stats(requests=4, answered=4, retries={50000: 2, "timeout": 1}, pages=3, items=30)
    stats.cost = 0.1 + 0.2  # 0.30000000000000004
    shown = repr(stats)
    for part in ("requests=4", "retries={50000: 2, 'timeout': 1}", "pages=3", "items=30"):
        assert part in shown
    assert "cost=$0.30," in shown and "elapsed=" in shown
    assert retries_text(stats.retries) == "retries: 3 (50000: 2, timeout: 1)"
    assert (
        str(BudgetExhausted(10.684080000000007, 20)) == "budget reached: spent $10.68408 of $20.00"
    )


def test_a_network_failure_reads_as_its_kind_and_reason() -> None:
    failure = NetworkFailure("timeout", "no complete answer within 130 s")
    assert str(failure) == "timeout: no complete answer within 130 s"
