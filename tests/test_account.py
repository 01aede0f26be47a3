"""Account awareness (issue 13): the client reads user_data once and paces, prices and stops
by it; against the emulator over a real loopback socket, on asyncio and trio."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

from dfs_async import (
    AccountError,
    BudgetExhausted,
    DailyLimitReached,
    DataForSEO,
    Record,
    RetryPolicy,
)
from dfs_async.account import (
    ACCOUNT_SHARE,
    DEFAULT_RATE,
    USER_DATA_PATH,
    UserDataResult,
    parse_user_data,
)
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, running_emulator
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY, Price

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)
PATH = DOMAIN_PAGES_SUMMARY.path
NAME = DOMAIN_PAGES_SUMMARY.name


@asynccontextmanager
async def emulator(**config: Any) -> AsyncIterator[EmulatorHandle]:
    async with running_emulator(EmulatorConfig(**config)) as emu:
        yield emu


def client(emu: EmulatorHandle, **kwargs: Any) -> DataForSEO:
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, retry_policy=FAST, **kwargs)


async def run(dfs: DataForSEO, targets: list[str], **fields: Any) -> list[Record[Any]]:
    got: list[Record[Any]] = []
    async with dfs.backlinks.domain_pages_summary.stream(targets, **fields) as records:
        async for record in records:
            got.append(record)
    return got


TARGETS = [f"site{i}.example.com" for i in range(14)]


async def test_no_rate_paces_at_the_accounts_limit_with_no_40202() -> None:
    """An account of 120 a minute (12 per 6 s: the emulator's window is shortened, its
    user_data says 120): 14 one-request targets at the account's pace, none refused.
    Paced at the old default (2,000) the same run meets 40202 (next test)."""
    async with emulator(rate_limit=12, window_seconds=6, max_pages=0) as emu:
        started = time.monotonic()
        async with client(emu) as dfs:
            await run(dfs, TARGETS)
            assert dfs.engine.pacer.target_rate == pytest.approx(120 * (1 - ACCOUNT_SHARE))
            assert dfs.account is not None and dfs.account.notice is None
        elapsed = time.monotonic() - started
        counters = emu.app.counters
        assert counters.user_data == 1  # once, before the first request
        assert counters.by_status.get(40202, 0) == 0
        assert counters.requests == len(TARGETS) == dfs.stats.requests
        assert elapsed >= 13 * 60 / 120 * 0.9  # one every ~0.5 s, not a burst


async def test_the_old_default_rate_meets_40202_on_that_account() -> None:
    async with emulator(rate_limit=12, window_seconds=6, max_pages=0) as emu:
        async with client(emu, rate=DEFAULT_RATE, max_attempts=1) as dfs:
            await run(dfs, TARGETS)
        assert emu.app.counters.by_status.get(40202, 0) > 0
        assert emu.app.counters.user_data == 0


async def test_an_explicit_rate_wins_and_reads_no_account() -> None:
    async with emulator(rate_limit=12, window_seconds=6, max_pages=0) as emu:
        async with client(emu, rate=600) as dfs:
            await run(dfs, TARGETS[:2])
            assert dfs.engine.pacer.target_rate == 600
            assert dfs.account is None
        assert emu.app.counters.user_data == 0
        assert emu.app.counters.by_path == {PATH: 2}


async def test_the_opt_out_skips_user_data() -> None:
    async with emulator(max_pages=0) as emu:
        async with client(emu, account_limits=False) as dfs:
            await run(dfs, TARGETS[:2])
            assert dfs.engine.pacer.target_rate == DEFAULT_RATE
            assert dfs.account is None
        assert emu.app.counters.user_data == 0
        assert USER_DATA_PATH not in emu.app.counters.by_path


async def test_a_failing_user_data_falls_back_with_one_notice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dfs_async")
    async with emulator(max_pages=0, user_data_fails=True) as emu:
        async with client(emu, concurrency=8) as dfs:
            await run(dfs, TARGETS)  # many first requests at once: one lookup
            assert dfs.engine.pacer.target_rate == DEFAULT_RATE
            account = dfs.account
            assert account is not None and account.info is None
            assert account.notice is not None and "50000" in account.notice
            assert emu.password not in account.notice
            assert dfs.backlinks.domain_pages_summary.price() == DOMAIN_PAGES_SUMMARY.price
            assert dfs.stats.targets_done == len(TARGETS)
        assert emu.app.counters.user_data == 1
    notices = [r for r in caplog.records if "could not read the account" in r.getMessage()]
    assert len(notices) == 1 and notices[0].levelno == logging.WARNING


async def test_a_user_data_without_figures_falls_back() -> None:
    result = parse_user_data(msgspec.convert({"login": "x", "rates": None}, UserDataResult))
    assert result.per_minute is None and result.prices == {} and result.daily_limits == {}


async def test_the_daily_limit_stops_the_run_before_a_refused_request() -> None:
    """10 a day, 7 used today: 3 requests go, then a clear stop; the API refuses none."""
    config = {"max_pages": 0, "daily_limits": {NAME: 10}, "used_today": {NAME: 7}}
    async with emulator(**config) as emu:
        async with client(emu) as dfs:
            with pytest.raises(DailyLimitReached) as stop:
                await run(dfs, TARGETS)
            assert dfs.stats.targets_done == 3
            with pytest.raises(DailyLimitReached):  # a single call stops the same way
                await dfs.backlinks.domain_pages_summary("one-more.com")
        counters = emu.app.counters
        assert counters.requests == 3
        assert counters.by_status.get(40205, 0) == 0
    assert "daily limit reached" in str(stop.value) and "10" in str(stop.value)
    assert "00:00 UTC" in str(stop.value)


async def test_the_emulator_refuses_past_its_daily_limit() -> None:
    async with emulator(max_pages=0, daily_limits={NAME: 1}) as emu:
        async with client(emu, account_limits=False, max_attempts=1) as dfs:
            with pytest.raises(AccountError, match="40205"):
                await run(dfs, TARGETS[:2])
        assert emu.app.counters.by_status.get(40205, 0) == 1


async def test_the_accounts_prices_bound_the_budget_and_match_the_charge() -> None:
    """$0.05 a request + $0.0001 an item: at limit 100 a request costs up to $0.06, so a
    $0.13 budget allows two (at the documented price, five would fit)."""
    price = (0.05, 0.0001)
    async with emulator(target_sizes={t: 100 for t in TARGETS}, prices={NAME: price}) as emu:
        async with client(emu, max_cost=0.13, concurrency=1) as dfs:
            assert dfs.backlinks.domain_pages_summary.price() == DOMAIN_PAGES_SUMMARY.price
            with pytest.raises(BudgetExhausted):
                await run(dfs, TARGETS, limit=100)
            assert dfs.backlinks.domain_pages_summary.price() == Price(*price)
            stats = dfs.stats
        counters = emu.app.counters
        assert counters.requests == 2
        assert 100 < counters.items <= 200
        charged = 2 * 0.05 + 0.0001 * counters.items
        assert stats.cost == pytest.approx(counters.cost) == pytest.approx(charged)
        assert stats.cost <= 0.13


def test_user_data_in_the_schemas_shape() -> None:
    raw = {
        "login": "me",
        "rates": {
            "limits": {
                "minute": {"total": 10000},
                "day": {"backlinks": {"backlinks": {"live": 500}, "anchors": 0, "errors": 9}},
            },
            "statistics": {"day": {"backlinks": {"backlinks": {"live": 12}}}},
        },
        "money": {"balance": 12.5, "total": 100, "statistics": {"day": {"total": 1.25}}},
        "price": {
            "backlinks": {
                "backlinks": {
                    "live": {
                        "priority_normal": [
                            {"cost_type": "per_request", "cost": 0.02},
                            {"cost_type": "per_result", "cost": 0.00002},
                        ]
                    }
                },
                "errors": {"priority_normal": [{"cost_type": "per_request", "cost": 0}]},
                "anchors": "not an object",
            }
        },
        "backlinks_subscription_expiry_date": "2027-01-01 00:00:00 +00:00",
    }
    info = parse_user_data(msgspec.convert(raw, UserDataResult))
    assert info.per_minute == 10000
    assert info.daily_limits == {"backlinks": 500, "errors": 9}  # 0: not limited
    assert info.used_today == {"backlinks": 12}
    assert info.prices == {"backlinks": Price(0.02, 0.00002)}
    assert (info.balance, info.deposited, info.spent_today) == (12.5, 100, 1.25)
    assert info.backlinks_expiry == "2027-01-01 00:00:00 +00:00"
    assert parse_user_data(UserDataResult(rates={"limits": {"minute": 2000}})).per_minute == 2000
