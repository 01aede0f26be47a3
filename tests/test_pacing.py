"""Pacing: a steady rate without bursts, a concurrency cap, and the 40202/40209 feedback."""

from __future__ import annotations

import itertools

import anyio
import pytest

from dfs_async.pacing import Pacer

pytestmark = pytest.mark.anyio


async def test_the_rate_never_bursts_even_after_idling() -> None:
    pacer = Pacer(rate=600, concurrency=10)  # one request every 0.1 s
    await anyio.sleep(0.3)  # an idle spell: a bucket of a minute's quota would now burst
    times: list[float] = []

    async def take() -> None:
        async with pacer.slot() as sent_at:
            times.append(sent_at)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(take)
    times.sort()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 4
    assert min(gaps) >= 0.1 * 0.9  # never two requests closer than the interval


async def test_no_window_holds_more_than_the_rate_even_across_rate_changes() -> None:
    rate = 2400  # per minute: one request every 25 ms
    pacer = Pacer(rate=rate, concurrency=20, recovery=0.3, hold=0)
    times: list[float] = []

    async def take(n: int) -> None:
        for _ in range(n):
            async with pacer.slot() as sent_at:
                times.append(sent_at)
                if len(times) == 10:
                    pacer.slow_down(sent_at)  # a step down, then back up after `recovery`
                await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(take, 3)
    times.sort()
    assert len(times) == 60
    # the limit scaled to windows of 0.5 s: 20 requests; any 21 span more than 0.5 s
    per_window = rate // 120
    spans = [times[i + per_window] - times[i] for i in range(len(times) - per_window)]
    assert min(spans) > 0.5
    assert pacer.rate == rate  # recovered


async def peak_at_once(pacer: Pacer, requests: int = 12) -> int:
    """The most requests inside `pacer.slot()` at once, out of `requests` started together."""
    inside = peak = 0

    async def take() -> None:
        nonlocal inside, peak
        async with pacer.slot():
            inside += 1
            peak = max(peak, inside)
            await anyio.sleep(0.01)
            inside -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(requests):
            tg.start_soon(take)
    return peak


async def test_concurrency_is_capped() -> None:
    pacer = Pacer(rate=None, concurrency=3)
    assert await peak_at_once(pacer) == 3


async def test_40202_steps_the_rate_down_once_per_signal_then_recovers() -> None:
    pacer = Pacer(rate=1200, concurrency=5, recovery=3600, hold=0)
    async with pacer.slot() as sent_before:
        pass
    pacer.slow_down(sent_before)
    assert pacer.rate == 1080  # a lone 40202 at the configured rate: a gentle step
    pacer.slow_down(sent_before)  # an answer to a request sent at the old pace
    assert pacer.rate == 1080
    async with pacer.slot() as sent_after:
        pass
    pacer.slow_down(sent_after)
    assert pacer.rate == 540  # still refused below the configured rate: halved

    holding = Pacer(rate=1200, concurrency=5, recovery=3600, hold=3600)
    async with holding.slot() as first:
        pass
    holding.slow_down(first)
    async with holding.slot() as second:
        pass
    holding.slow_down(second)  # within the hold: the server's minute is still full
    assert holding.rate == 1080

    floor = Pacer(rate=1600, concurrency=5, recovery=3600, hold=0)
    for _ in range(10):
        floor.slow_down(anyio.current_time())  # each answers a request sent after the change
    assert floor.rate == 100  # a sixteenth of the configured rate at least

    recovering = Pacer(rate=1200, concurrency=5, recovery=0)
    async with recovering.slot() as sent:
        pass
    recovering.slow_down(sent)
    assert recovering.rate == 1080
    async with recovering.slot():
        pass
    assert recovering.rate == 1200  # doubled back, never above the configured rate
    async with recovering.slot():
        pass
    assert recovering.rate == 1200


async def test_40209_halves_the_concurrency_then_recovers() -> None:
    pacer = Pacer(rate=None, concurrency=8, recovery=3600)
    async with pacer.slot() as sent:
        pass
    pacer.fewer_at_once(sent)
    assert pacer.concurrency == 4
    pacer.fewer_at_once(sent)
    assert pacer.concurrency == 4
    assert await peak_at_once(pacer) == 4

    quick = Pacer(rate=None, concurrency=8, recovery=0)
    async with quick.slot() as sent:
        pass
    quick.fewer_at_once(sent)
    assert quick.concurrency == 4
    async with quick.slot():
        pass
    assert quick.concurrency == 8


async def test_never_below_one_request_at_once() -> None:
    pacer = Pacer(rate=None, concurrency=1, recovery=3600)
    async with pacer.slot() as sent:
        pass
    pacer.fewer_at_once(sent)
    assert pacer.concurrency == 1


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        Pacer(rate=0, concurrency=1)
    with pytest.raises(ValueError, match="concurrency"):
        Pacer(rate=10, concurrency=0)
