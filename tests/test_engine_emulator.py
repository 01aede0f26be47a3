"""The engine against the emulator over a real loopback socket, on asyncio and trio."""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import sniffio

from dfs_async import (
    AccountError,
    BudgetExhausted,
    DataForSEO,
    Record,
    RetryPolicy,
    TargetDone,
    TaskFailed,
    pacing,
)
from dfs_async.client import EndpointCall
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, running_emulator
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)

EVERY_FAULT = FaultConfig(
    seed=7,
    latency_min=0.0,
    latency_max=0.004,
    http_500=0.04,
    envelope_50000=0.04,
    task_40103=0.04,
    task_50401=0.04,
    drop_connection=0.04,
    truncated_body=0.04,
    slow_trickle=0.04,
    slow_trickle_seconds=0.02,
)


@asynccontextmanager
async def emulator(**config: Any) -> AsyncIterator[EmulatorHandle]:
    async with running_emulator(EmulatorConfig(**config)) as emu:
        yield emu


def client(emu: EmulatorHandle, **kwargs: Any) -> DataForSEO:
    options: dict[str, Any] = {"rate": None, "retry_policy": FAST}
    options.update(kwargs)
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, **options)


def expected_urls(emu: EmulatorHandle, target: str, **fields: Any) -> list[str]:
    total, items = emu.app.corpus.query({"target": target, **fields})
    assert total == len(items)
    return [str(item.url) for item in items]


async def test_every_item_exactly_once_with_every_fault_on() -> None:
    """The issue's bar: 1,000 targets, every fault kind, exactly once, cost as charged."""
    valid = [f"shop{i}.example.com" for i in range(1000)]
    invalid = ["not a domain", "ftp://x.com", "http://127.0.0.1/", "-bad-.com"]
    targets: list[str] = []
    for i, target in enumerate(valid):
        targets.append(target)
        if i % 250 == 0:
            targets.append(invalid[i // 250])
    async with emulator(seed=11, max_pages=60, rate_limit=10**6, faults=EVERY_FAULT) as emu:
        async with client(emu, rate=120_000) as dfs:
            stream = dfs.backlinks.domain_pages_summary.stream(targets, limit=10)
            got: dict[str, list[str]] = collections.defaultdict(list)
            done: dict[str, TargetDone] = {}
            async with stream as records:
                async for event in records.events():
                    if isinstance(event, Record):
                        assert event.target not in done
                        got[event.target].append(str(event.item.url))
                    elif isinstance(event, TargetDone):
                        done[event.target] = event
            stats = dfs.stats
        counters = emu.app.counters
        assert set(counters.faults) == set(EVERY_FAULT.rates)  # every kind did happen
        for target in valid:
            urls = got.pop(target, [])
            assert sorted(urls) == sorted(expected_urls(emu, target)), target
            assert done[target].items == len(urls)
        assert not got
        assert sorted(f.target for f in records.failures) == sorted(invalid)
        assert all(f.status_code == 40501 and f.attempts == 0 for f in records.failures)
        assert stats.targets_done == 1000 and stats.targets_failed == len(invalid)
        assert stats.cost == pytest.approx(counters.cost, abs=1e-6)
        assert stats.requests == counters.requests
        assert stats.items == counters.items
        assert sum(stats.retries.values()) == counters.requests - counters.by_status[20000]


def live_tasks() -> int:
    """Tasks of the running event loop besides the test's own (asyncio) / child nurseries."""
    if sniffio.current_async_library() == "asyncio":
        import asyncio

        return len(asyncio.all_tasks()) - 1
    import trio

    return len(trio.lowlevel.current_task().child_nurseries)


async def test_an_early_break_leaves_no_task_or_connection_behind() -> None:
    async with emulator(
        seed=2, min_pages=50, max_pages=200, faults=FaultConfig(latency_max=0.01)
    ) as emu:
        before = live_tasks()
        async with client(emu, concurrency=8) as dfs:
            targets = (f"big{i}.com" for i in range(10_000))
            async with dfs.backlinks.domain_pages_summary.stream(targets, limit=5) as records:
                n = 0
                async for _ in records:
                    n += 1
                    if n == 30:
                        break
            assert live_tasks() == before
            transport = dfs.engine.transport
            state = transport.pool_state()
            assert state.requests == 0  # nothing in flight or waiting on the pool
            assert state.busy == 0 and state.open > 0
            # the client still works after a break
            page = await dfs.backlinks.domain_pages_summary("after.com", limit=3)
            assert len(page.items) == 3
        assert transport.pool_state().open == 0  # all closed with the client
        assert live_tasks() == before
        with anyio.fail_after(5):
            # the server saw every connection close (its counter lives in another thread)
            while emu.app.counters.simultaneous:  # noqa: ASYNC110
                await anyio.sleep(0.01)


async def test_validation_raises_before_any_request() -> None:
    from dfs_async import InvalidTarget, UnknownField, ValidationError

    async with emulator() as emu, client(emu) as dfs:
        call = dfs.backlinks.domain_pages_summary
        with pytest.raises(ValidationError, match="limit"):
            call.stream(["a.com"], limit=0)
        with pytest.raises(UnknownField, match="colour"):
            call.stream(["a.com"], colour="red")
        with pytest.raises(ValidationError, match="filters"):
            call.stream(["a.com"], filters=[["nope", "=", 1]])
        with pytest.raises(ValidationError, match="max_items"):
            call.stream(["a.com"], max_items=0)
        with pytest.raises(ValidationError, match="targets"):
            call.stream("a.com")
        with pytest.raises(UnknownField, match="colour"):
            await call("a.com", colour="red")
        with pytest.raises(ValidationError, match="order_by"):
            await call("a.com", order_by=["rank,up"])
        with pytest.raises(InvalidTarget, match="white space"):
            await call("a b.com")
        assert emu.app.counters.requests == 0


async def test_one_page_call() -> None:
    async with emulator(seed=5, target_sizes={"forbes.com": 57}) as emu, client(emu) as dfs:
        page = await dfs.backlinks.domain_pages_summary(
            "WWW.Forbes.com", limit=4, order_by=["backlinks,desc"]
        )
        assert page.target == "forbes.com"
        full = expected_urls(emu, "forbes.com", order_by=["backlinks,desc"])
        assert page.total_count == len(full) > 4
        assert [item.url for item in page.items] == full[:4]
        assert page.cost == pytest.approx(0.02 + 4 * 0.00003)
        assert dfs.stats.cost == pytest.approx(emu.app.counters.cost)
        tail = len(full) - 2
        later = await dfs.backlinks.domain_pages_summary("forbes.com", limit=4, offset=tail)
        assert [item.url for item in later.items] == expected_urls(emu, "forbes.com")[tail:]


async def test_transient_codes_are_retried_then_fail_with_the_last_code() -> None:
    always = FaultConfig(task_40103=1.0, max_consecutive=3)
    async with emulator(faults=always) as emu:
        async with client(emu) as dfs:  # 3 faults in a row, the 4th try passes
            page = await dfs.backlinks.domain_pages_summary("retry.com", limit=2)
            assert len(page.items) == 2
            assert dfs.stats.retries == {40103: 3}
        policy = dataclasses.replace(FAST, max_attempts=2)
        async with client(emu, retry_policy=policy) as dfs:
            with pytest.raises(TaskFailed) as failed:
                await dfs.backlinks.domain_pages_summary("other.com", limit=2)
            assert failed.value.status_code == 40103
            async with dfs.backlinks.domain_pages_summary.stream(["third.com"]) as records:
                assert [r async for r in records] == []
            (failure,) = records.failures
            assert (failure.status_code, failure.attempts) == (40103, 2)


async def test_a_request_error_fails_the_task_at_once() -> None:
    """The emulator answers 40400 (HTTP 404) for a path it does not serve: no retry."""
    unknown = dataclasses.replace(DOMAIN_PAGES_SUMMARY, path="/v3/backlinks/no_such/live")
    async with emulator(seed=1, max_pages=5) as emu, client(emu, concurrency=1) as dfs:
        call = EndpointCall(dfs, unknown)
        async with call.stream(["a1.com", "a2.com", "a3.com"], limit=1000) as records:
            assert [r async for r in records] == []
        codes = {f.target: (f.status_code, f.attempts) for f in records.failures}
        assert codes == {t: (40400, 1) for t in ("a1.com", "a2.com", "a3.com")}
        assert emu.app.counters.requests == 3
        assert dfs.stats.retries == {}


async def test_bad_credentials_stop_the_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dfs_async")
    async with emulator() as emu:
        async with DataForSEO(emu.login, "wrong", base_url=emu.base_url, rate=None) as dfs:
            with pytest.raises(AccountError) as stopped:
                await dfs.backlinks.domain_pages_summary("a.com")
            assert stopped.value.status_code == 40100
            assert "wrong" not in str(stopped.value) and "wrong" not in repr(dfs)
            targets = [f"t{i}.com" for i in range(500)]
            with pytest.raises(AccountError):
                async with dfs.backlinks.domain_pages_summary.stream(targets) as records:
                    async for _ in records:
                        pass
        assert emu.app.counters.requests <= 1 + 30  # no hammering: one wave at most
        assert "wrong" not in caplog.text and "Basic" not in caplog.text
        assert "run stopped" in caplog.text


async def test_running_out_of_funds_stops_after_delivering_what_came() -> None:
    # Five at a time: the 25 requests the balance pays for answer before the first refusal
    # (with all 30 in flight at once, a refusal could overtake every paid answer).
    async with (
        emulator(seed=3, balance=0.5, max_pages=40) as emu,
        client(emu, concurrency=5) as dfs,
    ):
        got = 0
        with pytest.raises(AccountError) as stopped:
            async with dfs.backlinks.domain_pages_summary.stream(
                (f"f{i}.com" for i in range(1000)), limit=10
            ) as records:
                async for _ in records:
                    got += 1
        assert stopped.value.status_code == 40210
        # what was delivered came before the error; what was in flight was cancelled
        assert 0 < got <= dfs.stats.items <= emu.app.counters.items
        assert dfs.stats.cost <= emu.app.counters.cost + 1e-9


async def test_daily_cost_cap_stops_the_run() -> None:
    async with emulator(daily_cost_cap=0.1, max_pages=40) as emu, client(emu) as dfs:
        with pytest.raises(AccountError) as stopped:
            async with dfs.backlinks.domain_pages_summary.stream(
                [f"d{i}.com" for i in range(100)], limit=10
            ) as records:
                async for _ in records:
                    pass
        assert stopped.value.status_code == 40203


async def test_rate_limit_40202_slows_down_and_retries() -> None:
    # the emulator allows 20 requests per 0.5 s; the client starts 4 times faster
    async with emulator(seed=4, rate_limit=20, window_seconds=0.5, max_pages=30) as emu:
        async with client(emu, rate=9600, recovery=3600) as dfs:
            targets = [f"r{i}.com" for i in range(40)]
            async with dfs.backlinks.domain_pages_summary.stream(targets, limit=10) as records:
                got = collections.Counter([(r.target, r.item.url) async for r in records])
            assert dfs.stats.retries.get(40202, 0) > 0
            assert dfs.engine.pacer.rate is not None and dfs.engine.pacer.rate < 9600
        assert not records.failures
        assert all(n == 1 for n in got.values())
        assert len(got) == sum(len(expected_urls(emu, t)) for t in targets)
        assert emu.app.counters.by_status[40202] == dfs.stats.retries[40202]


async def test_too_many_at_once_40209_lowers_concurrency_and_retries() -> None:
    faults = FaultConfig(latency_min=0.01, latency_max=0.02)
    async with emulator(seed=6, max_simultaneous=3, max_pages=30, faults=faults) as emu:
        async with client(emu, concurrency=12, recovery=3600) as dfs:
            targets = [f"c{i}.com" for i in range(40)]
            async with dfs.backlinks.domain_pages_summary.stream(targets, limit=10) as records:
                got = collections.Counter([(r.target, r.item.url) async for r in records])
            assert dfs.stats.retries.get(40209, 0) > 0
            assert dfs.engine.pacer.concurrency < 12
        assert not records.failures
        assert all(n == 1 for n in got.values())
        assert len(got) == sum(len(expected_urls(emu, t)) for t in targets)


async def test_max_cost_stops_before_the_budget_could_be_exceeded() -> None:
    async with (
        emulator(seed=8, min_pages=20, max_pages=100) as emu,
        client(emu, max_cost=0.5, concurrency=5) as dfs,
    ):
        got = 0
        with pytest.raises(BudgetExhausted):
            async with dfs.backlinks.domain_pages_summary.stream(
                [f"b{i}.com" for i in range(200)], limit=100
            ) as records:
                async for _ in records:
                    got += 1
        assert dfs.stats.cost <= 0.5
        assert dfs.stats.cost == pytest.approx(emu.app.counters.cost)
        assert 0.5 - dfs.stats.cost < 6 * (0.02 + 0.003)  # stopped near the bound
        assert got == dfs.stats.items  # what was in flight landed and was delivered
        with pytest.raises(BudgetExhausted):
            await dfs.backlinks.domain_pages_summary("b0.com", limit=100)


async def test_a_slow_consumer_bounds_the_pages_fetched_ahead() -> None:
    targets = [f"s{i}.com" for i in range(50)]  # 100 pages each: 500 pages of 10
    async with (
        emulator(seed=9, min_pages=100, max_pages=100) as emu,
        client(emu, concurrency=4) as dfs,
        dfs.backlinks.domain_pages_summary.stream(targets, limit=10) as records,
    ):
        seen = 0
        async for _ in records:
            seen += 1
            if seen % 20 == 0:
                await anyio.sleep(0.05)  # the engine has all the time it wants
                fetched = emu.app.counters.requests
                # pages handed over + pages held by the 4 work slots, the stream's
                # buffer (4 chunks) and the chunk being read
                assert fetched <= seen // 10 + 4 + 4 + 1
            if seen == 200:
                break
        assert emu.app.counters.requests >= 20


async def test_a_slow_consumer_leaves_the_answers_undecoded_but_a_few(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory: of the answers waiting for the caller, at most PAGES_AHEAD are decoded; a
    stream left while answers wait for their landing still counts what they cost."""
    from dfs_async.engine import PAGES_AHEAD, exchange

    decoded = 0
    real_read = exchange.read

    def counting_read(*args: Any, **kwargs: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return real_read(*args, **kwargs)

    monkeypatch.setattr(exchange, "read", counting_read)
    targets = [f"s{i}.com" for i in range(40)]  # one page of 10 each
    async with (
        emulator(seed=3, min_pages=1, max_pages=1) as emu,
        client(emu, concurrency=12) as dfs,
    ):
        async with dfs.backlinks.domain_pages_summary.stream(targets, limit=10) as records:
            await records.events().__anext__()  # one event, then the caller stalls
            with anyio.fail_after(10):
                while emu.app.counters.requests < 12 or dfs.engine.pacer.in_flight:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            await anyio.sleep(0.05)
            assert emu.app.counters.requests == 12  # every work slot answered
            assert decoded == PAGES_AHEAD  # the other 8 wait as bytes
        # left with 8 answers undecoded: each was still read for its cost
        assert decoded == 12
        assert dfs.stats.cost == pytest.approx(emu.app.counters.cost) and dfs.stats.cost > 0


async def test_max_items_caps_each_target() -> None:
    async with emulator(seed=12, min_pages=40, max_pages=80) as emu, client(emu) as dfs:
        targets = ["m1.com", "m2.com", "m3.com"]
        order = ["rank,desc", "url,asc"]
        stream = dfs.backlinks.domain_pages_summary.stream(
            targets, limit=10, max_items=25, order_by=order
        )
        async with stream as records:
            got = collections.defaultdict(list)
            async for record in records:
                got[record.target].append(record.item.url)
        for target in targets:
            assert sorted(got[target]) == sorted(expected_urls(emu, target, order_by=order)[:25])
        assert emu.app.counters.requests == 9  # 10 + 10 + 5 per target
        assert emu.app.counters.items == 75


async def test_a_trickling_answer_is_cut_at_the_timeout_and_retried() -> None:
    faults = FaultConfig(slow_trickle=1.0, slow_trickle_seconds=2.5, max_consecutive=1)
    async with emulator(faults=faults) as emu, client(emu, timeout=1.0) as dfs:
        page = await dfs.backlinks.domain_pages_summary("slow.com", limit=2)
        assert len(page.items) == 2
        assert set(dfs.stats.retries) == {"timeout"}  # the answer never completed


async def test_an_error_of_the_callers_targets_comes_out_as_it_is() -> None:
    def targets() -> Iterator[str]:
        yield "fine.com"
        raise LookupError("the caller's own bug")

    async with emulator(max_pages=5) as emu, client(emu) as dfs:
        with pytest.raises(LookupError, match="own bug"):
            async with dfs.backlinks.domain_pages_summary.stream(targets()) as records:
                async for _ in records:
                    pass


async def test_paced_at_the_accounts_limit_it_is_never_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The account's limit, shortened to 20 requests per 2 s sliding window (600 per minute),
    # and the client's rate and window set to match: the window log binds past the first
    # window. (With the client's window left at 60 s only the spacing paced it, whose burst
    # of 3 is within a minute's margin, not a 2 s window's: a stalled loop on a loaded
    # machine then let 21 requests into 2 s.)
    monkeypatch.setattr(pacing, "WINDOW", 2.0)
    latency = FaultConfig(seed=3, latency_min=0.02, latency_max=0.06)
    async with (
        emulator(rate_limit=20, window_seconds=2.0, max_pages=10, faults=latency) as emu,
        client(emu, rate=600, concurrency=10) as dfs,
    ):
        targets = [f"paced{i}.com" for i in range(36)]  # one page each: ~3.6 s, ~2 windows
        async with dfs.backlinks.domain_pages_summary.stream(targets, limit=100) as records:
            done = [event async for event in records.events() if type(event) is TargetDone]
        assert len(done) == 36 and not records.failures
        # One page each, each answered once; no 40202 (a loaded machine may add a retried
        # network error, which is not what this checks).
        assert emu.app.counters.by_status[20000] == 36
        assert 40202 not in emu.app.counters.by_status
        assert 40202 not in dfs.stats.retries


async def test_a_stream_without_limit_asks_the_largest_page() -> None:
    """A request costs the same whatever its size: all items, fewest requests. One-page
    calls keep the API's default; `max_items` below a page asks only what it needs."""
    sizes = {"big.example.com": 2500, "small.example.com": 30}
    async with emulator(target_sizes=sizes) as emu, client(emu) as dfs:
        call = dfs.backlinks.domain_pages_summary
        live = {t: len(expected_urls(emu, t)) for t in sizes}  # lost pages left out
        assert live["big.example.com"] > 2000
        async with call.stream(list(sizes)) as records:
            got = collections.Counter([record.target async for record in records])
        assert got == live
        assert emu.app.counters.requests == 3 + 1  # ceil(live / 1000) + 1
        emu.app.reset_counters()
        async with call.stream(["big.example.com"], max_items=40) as records:
            assert len([r async for r in records]) == 40
        assert emu.app.counters.requests == 1 and emu.app.counters.items == 40
        page = await call("big.example.com")
        assert len(page.items) == DOMAIN_PAGES_SUMMARY.default_limit == 100
