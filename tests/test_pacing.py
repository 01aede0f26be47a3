"""Pacing: a steady rate (a few at once only after a lull), a concurrency cap, and the
40202/40209 feedback."""

from __future__ import annotations

import itertools

import anyio
import pytest

from dfs_async.errors import ConfigurationError
from dfs_async.pacing import LATE, MARGIN, LocalPacer, _burst, _interval, _quota

# Wall-clock measurements of departures: in four test workers on two cores a measured
# departure can lose a slice of CPU, so a failure is run again (twice at most); a pacer
# that breaks its promise fails every run.
pytestmark = [pytest.mark.anyio, pytest.mark.flaky(reruns=2)]


def departures_respect_the_bucket(times: list[float], interval: float, burst: int) -> bool:
    """Any `n + burst` departures span at least `n` intervals (less the gate's `LATE`): so
    no 60 s window holds more than `burst + 60 / interval`, which `_burst` keeps <= the rate."""
    times = sorted(times)
    return all(
        times[j] - times[i] >= (j - i + 1 - burst) * interval - LATE - 1e-3
        for i in range(len(times))
        for j in range(i + burst, len(times))
    )


async def departures(pacer: LocalPacer, requests: int) -> list[float]:
    """When each of `requests` started together left the gate, in order."""
    times: list[float] = []

    async def take() -> None:
        times.append(await send(pacer))

    async with anyio.create_task_group() as tg:
        for _ in range(requests):
            tg.start_soon(take)
    return sorted(times)


async def send(pacer: LocalPacer) -> float:
    """One request through the pacer; when it left."""
    async with pacer.slot() as sent_at:
        return sent_at


def min_gap(times: list[float]) -> float:
    return min(b - a for a, b in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("rate", "burst"), [(1, 1), (100, 1), (600, 3), (1000, 5), (2000, 8), (10_000, 8), (1e6, 8)]
)
def test_the_burst_stays_within_the_margin(rate: float, burst: int) -> None:
    assert _burst(rate) == burst
    # the most the gate alone lets into a 60 s window (the window log counts to the quota)
    per_minute = burst + _quota(rate)
    assert burst == 1 or (per_minute <= rate and burst <= rate * MARGIN)


async def test_the_first_requests_leave_one_interval_apart() -> None:
    pacer = LocalPacer(rate=600, concurrency=10)
    await anyio.sleep(0.5)  # idle before the first request: no burst is earned
    assert min_gap(await departures(pacer, 4)) >= _interval(600) * 0.9


async def test_after_a_lull_a_few_leave_at_once_then_one_interval_apart() -> None:
    pacer = LocalPacer(rate=600, concurrency=10)  # one request every ~0.1 s, a bucket of 3
    interval, burst = _interval(600), _burst(600)
    await departures(pacer, 1)
    await anyio.sleep(0.5)  # a lull: a bucket of a minute's quota would now burst
    times = await departures(pacer, 6)
    assert times[burst - 1] - times[0] < 0.05  # answers that land together leave together
    assert min_gap(times[burst - 1 :]) >= interval * 0.9  # then the steady pace
    assert departures_respect_the_bucket(times, interval, burst)


async def test_a_change_of_rate_brings_no_burst() -> None:
    pacer = LocalPacer(rate=600, concurrency=10, recovery=3600, hold=0)
    await departures(pacer, 1)
    await anyio.sleep(0.5)  # the bucket has room for a burst
    await pacer.slow_down(anyio.current_time())
    assert pacer.rate == 540
    assert min_gap(await departures(pacer, 4)) >= _interval(540) * 0.9


async def test_no_window_holds_more_than_the_rate_even_across_rate_changes() -> None:
    rate = 2400  # per minute: one request every ~25 ms, a bucket of 8
    pacer = LocalPacer(rate=rate, concurrency=20, recovery=0.3, hold=0)
    times: list[float] = []

    async def take(n: int) -> None:
        for _ in range(n):
            async with pacer.slot() as sent_at:
                times.append(sent_at)
                if len(times) == 10:
                    await pacer.slow_down(sent_at)  # a step down, then back up after `recovery`
                await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(take, 3)
    assert len(times) == 60
    assert departures_respect_the_bucket(times, _interval(rate), _burst(rate))
    assert pacer.rate == rate  # recovered


async def peak_at_once(pacer: LocalPacer, requests: int = 12) -> int:
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
    pacer = LocalPacer(rate=None, concurrency=3)
    assert await peak_at_once(pacer) == 3


async def test_40202_steps_the_rate_down_once_per_signal_then_recovers() -> None:
    pacer = LocalPacer(rate=1200, concurrency=5, recovery=3600, hold=0)
    sent_before = await send(pacer)
    await pacer.slow_down(sent_before)
    assert pacer.rate == 1080  # a lone 40202 at the configured rate: a gentle step
    await pacer.slow_down(sent_before)  # an answer to a request sent at the old pace
    assert pacer.rate == 1080
    sent_after = await send(pacer)
    await pacer.slow_down(sent_after)
    assert pacer.rate == 540  # still refused below the configured rate: halved

    holding = LocalPacer(rate=1200, concurrency=5, recovery=3600, hold=3600)
    first = await send(holding)
    await holding.slow_down(first)
    second = await send(holding)
    await holding.slow_down(second)  # within the hold: the server's minute is still full
    assert holding.rate == 1080

    floor = LocalPacer(rate=1600, concurrency=5, recovery=3600, hold=0)
    for _ in range(10):
        await floor.slow_down(anyio.current_time())  # each answers a request sent after the change
    assert floor.rate == 100  # a sixteenth of the configured rate at least

    recovering = LocalPacer(rate=1200, concurrency=5, recovery=0)
    sent = await send(recovering)
    await recovering.slow_down(sent)
    assert recovering.rate == 1080
    await send(recovering)
    assert recovering.rate == 1200  # doubled back, never above the configured rate
    await send(recovering)
    assert recovering.rate == 1200


async def test_40209_halves_the_concurrency_then_recovers() -> None:
    pacer = LocalPacer(rate=None, concurrency=8, recovery=3600)
    sent = await send(pacer)
    await pacer.fewer_at_once(sent)
    assert pacer.concurrency == 4
    await pacer.fewer_at_once(sent)
    assert pacer.concurrency == 4
    assert await peak_at_once(pacer) == 4

    quick = LocalPacer(rate=None, concurrency=8, recovery=0)
    sent = await send(quick)
    await quick.fewer_at_once(sent)
    assert quick.concurrency == 4
    await send(quick)
    assert quick.concurrency == 8


async def test_never_below_one_request_at_once() -> None:
    pacer = LocalPacer(rate=None, concurrency=1, recovery=3600)
    sent = await send(pacer)
    await pacer.fewer_at_once(sent)
    assert pacer.concurrency == 1


def test_bad_settings() -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        LocalPacer(rate=0, concurrency=1)
    with pytest.raises(ConfigurationError, match="concurrency"):
        LocalPacer(rate=10, concurrency=0)
