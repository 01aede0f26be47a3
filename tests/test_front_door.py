"""The client's public front door beyond calls and streams: readiness (the account read once),
the account as read, an endpoint's price, and `estimate` (what a stream would send and
could cost, nothing sent); against the emulator over a real loopback socket."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from dfs_async import (
    Account,
    AccountUnavailable,
    DataForSEO,
    Estimate,
    Price,
    ValidationError,
)
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, running_emulator

pytestmark = pytest.mark.anyio

NAME = "domain_pages_summary"


@asynccontextmanager
async def emulator(**config: Any) -> AsyncIterator[EmulatorHandle]:
    async with running_emulator(EmulatorConfig(**config)) as emu:
        yield emu


def client(emu: EmulatorHandle, **kwargs: Any) -> DataForSEO:
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, **kwargs)


async def test_ready_reads_the_account_once_and_prices_follow_it() -> None:
    price = (0.05, 0.0001)
    secret = {"me": "s3cr3t-pa55"}
    async with (
        emulator(max_pages=1, prices={NAME: price}, accounts=secret) as emu,
        client(emu) as dfs,
    ):
        call = dfs.backlinks.domain_pages_summary
        assert dfs.account is None and call.price() == Price()  # not read yet: documented
        account = await dfs.ready()
        assert isinstance(account, Account) and account is dfs.account
        assert await dfs.ready() is account
        assert call.price() == Price(*price)
        await call("a.com")
        assert emu.app.counters.user_data == 1  # the first request did not read it again
        shown = repr(account)
        assert shown.startswith("Account(login=") and "/min" in shown
        assert emu.password not in shown
        public = {n for n in dir(account) if not n.startswith("_")}
        assert public == {"info", "rate", "notice", "refused", "price"}
    assert dfs.account is account  # still there once the client is closed


async def test_a_client_that_reads_no_account_is_ready_at_once() -> None:
    async with emulator() as emu, client(emu, rate=600) as dfs:
        assert await dfs.ready() is None
        assert emu.app.counters.user_data == 0


async def test_fetch_account_reads_user_data_now() -> None:
    async with emulator(balance=12.5) as emu, client(emu, account_limits=False) as dfs:
        info = await dfs.fetch_account()
        assert info.login == emu.login and info.balance == 12.5
        assert dfs.account is None  # a look, not the client's pace
    async with emulator() as emu, DataForSEO(emu.login, "wrong", base_url=emu.base_url) as bad:
        with pytest.raises(AccountUnavailable, match="40100") as refused:
            await bad.fetch_account()
        assert refused.value.stop


async def test_an_estimate_sends_nothing_and_bounds_what_the_stream_pays() -> None:
    targets = [f"site{i}.example.com" for i in range(7)] + ["not a target"]
    async with emulator(min_pages=3, max_pages=9) as emu, client(emu) as dfs:
        call = dfs.backlinks.domain_pages_summary
        bounded = await call.estimate(targets, max_items=250, limit=100, show=2)
        assert emu.app.counters.requests == emu.app.counters.user_data == 0
        assert (bounded.targets, bounded.invalid, bounded.requests) == (7, 1, 7)
        assert bounded.most_requests == 7 * 3 and bounded.page_size == 100
        assert bounded.tasks == [
            {"target": "site0.example.com", "offset": 0, "limit": 100},
            {"target": "site1.example.com", "offset": 0, "limit": 100},
        ]
        price = Price()
        assert bounded.cost == pytest.approx(7 * (2 * price.worst(100) + price.worst(50)))
        async with call.stream(targets[:7], max_items=250, limit=100) as records:
            async for _ in records:
                pass
        assert dfs.stats.requests <= bounded.most_requests
        assert bounded.cost is not None and dfs.stats.cost <= bounded.cost

        unbounded = await call.estimate(targets[:3])
        assert unbounded.cost is None and unbounded.most_requests is None
        assert unbounded.page_size == 1000  # a stream asks the most a page allows
        assert unbounded.first_cost == pytest.approx(3 * price.worst(1000))
        assert "unbounded" in repr(unbounded)
        assert Estimate.total([bounded, unbounded]) is None
        assert Estimate.total([bounded, bounded]) == pytest.approx(2 * bounded.cost)

        with pytest.raises(ValidationError, match="limit"):
            await call.estimate(targets, limit=0)
        with pytest.raises(ValidationError, match="not a single string"):
            await call.estimate("site0.example.com")


async def test_a_bulk_estimate_packs_as_the_stream_does() -> None:
    targets = [f"bulk{i}.example.com" for i in range(2500)]
    async with emulator() as emu, client(emu, rate=None) as dfs:
        call = dfs.backlinks.bulk_ranks
        estimate = await call.estimate(targets, show=3)
        assert estimate.packed and estimate.requests == estimate.most_requests == 3
        (task,) = estimate.tasks
        assert task["targets"] == [*targets[:3], "..."]
        price = call.price()
        assert estimate.cost == pytest.approx(3 * price.per_request + 2500 * price.per_item)
        assert estimate.request_cost == pytest.approx(price.worst(1000))
        async with call.stream(targets) as records:
            async for _ in records:
                pass
        assert dfs.stats.requests == estimate.requests
        assert dfs.stats.cost == pytest.approx(estimate.cost)
        empty = await call.estimate([])
        assert (empty.requests, empty.cost, empty.tasks) == (0, 0.0, [])
        assert empty.request_cost == price.per_request


def test_the_command_line_imports_no_internals() -> None:
    """One front door: `cli/` reaches the engine only through the client's public API."""
    forbidden = ("dfs_async.engine", "dfs_async.wire", "dfs_async.plan", "dfs_async.transport")
    root = Path(__file__).resolve().parent.parent / "dfs_async" / "cli"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
