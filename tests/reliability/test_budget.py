"""The budget: what the emulator charged never exceeds `max_cost` (library) or `--budget`
(CLI), at several budgets, with every fault kind on (retries, lost answers, HTML errors).

The documented bound (engine.Budget): before each request, spent + the worst case of the
requests in flight + the worst case of this one (`$0.02 + $0.00003 * limit` per task) must
fit in the budget, so the charge never exceeds it at all at the documented price; and the run
stops no further from it than the requests that could have been in flight.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli.helpers import (
    cli_env,
    expected_records,
    jsonl_records,
    run_cli,
    whole_pages,
    write_targets,
)

from dfs_async import BudgetExhausted, RetryPolicy
from dfs_async.emulator import EmulatorConfig, running_emulator
from dfs_async.emulator.pytest_plugin import EmulatorFactory
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

from .leaks import open_client
from .soak import realistic_faults

FAST = RetryPolicy(base=0.002, cap=0.02, slow_base=0.005, throttle_base=0.002)
LIMIT = 100
CONCURRENCY = 6
FAULTS = realistic_faults(4, latency_max=0.01, trickle=0.05)
FAULTY = FAULTS.__class__(**{**FAULTS.__dict__, "http_500": 0.05, "task_40103": 0.05})


@pytest.mark.anyio
@pytest.mark.parametrize("budget", [0.01, 0.05, 0.31, 0.77, 1.9])
async def test_the_library_never_spends_past_max_cost(budget: float) -> None:
    config = EmulatorConfig(seed=6, min_pages=50, max_pages=400, faults=FAULTY)
    async with running_emulator(config) as emu:
        async with open_client(
            emu, max_cost=budget, concurrency=CONCURRENCY, rate=None, retry_policy=FAST
        ) as dfs:
            delivered = 0
            with pytest.raises(BudgetExhausted) as stopped:
                targets = (f"b{i}.example.com" for i in range(10_000))
                stream = dfs.backlinks.domain_pages_summary.stream(targets, limit=LIMIT)
                async with stream as records:
                    async for _ in records:
                        delivered += 1
            stats = dfs.stats
        charged = emu.app.counters.cost
        assert charged <= budget + 1e-9
        assert stats.cost == pytest.approx(charged, abs=1e-9)
        assert delivered == stats.items == emu.app.counters.items  # what was paid was delivered
        page = DOMAIN_PAGES_SUMMARY.price.worst(LIMIT)
        assert budget - charged < (CONCURRENCY + 1) * page  # it did spend, up to the bound
        assert stopped.value.max_cost == budget and stopped.value.spent <= charged + 1e-9
        if budget < page:
            assert emu.app.counters.requests == 0
        else:
            assert sum(stats.retries.values()) > 0 or budget < 0.1  # under retries indeed


def test_the_cli_never_spends_past_budget_across_resumes(
    tmp_path: Path, dfs_emulator_factory: EmulatorFactory
) -> None:
    sizes = {f"spend{i}.example.com": 150 + 50 * (i % 4) for i in range(30)}
    config = EmulatorConfig(seed=12, max_pages=400, target_sizes=sizes, faults=FAULTY)
    emu = dfs_emulator_factory(config)
    targets = write_targets(tmp_path / "t.txt", list(sizes))
    out = tmp_path / "o.jsonl"
    args: list[str | Path] = [
        "domain-pages-summary", targets, "--base-url", emu.base_url, "-o", out,
        "--limit", str(LIMIT), "--concurrency", str(CONCURRENCY), "--quiet", "--resume",
    ]  # fmt: skip
    for budget in (0.13, 0.42, 0.9):  # each resume raises the budget of the whole run
        result = run_cli(*args, "--budget", str(budget), env=cli_env(emu))
        assert result.returncode == 3, result.stderr
        assert emu.app.counters.cost <= budget + 1e-9  # all the runs together
        assert budget - emu.app.counters.cost < (
            CONCURRENCY + 1
        ) * DOMAIN_PAGES_SUMMARY.price.worst(LIMIT)
        whole_pages(jsonl_records(out), config, LIMIT)  # each page once, none cut
    final = run_cli(*args, "--budget", "100", env=cli_env(emu))
    assert final.returncode == 0, final.stderr
    assert jsonl_records(out) == expected_records(config, list(sizes))
