"""Pacing: a steady request rate and a cap on simultaneous requests, both adaptive.

DataForSEO asks for a steady flow, not bursts, and answers 40202 past its per-minute rate
and 40209 past its simultaneous-request cap. So:

- **Rate**: one request every `60 / rate` seconds (1% more: `MARGIN`), never a minute's
  quota at once (a bucket of `rate` per 60 s would let `rate` requests go in one burst after
  an idle spell). The bucket holds a few requests (`burst`: at most `MAX_BURST`, and within
  half the margin), so requests whose answers land together can leave together instead of
  queueing one interval apart while their slots idle (benchmarks/RESULTS.md: from 91-92% to
  96-97% of the concurrency-bound throughput); `n + burst` departures still span at
  least `n` intervals, so no 60 s window holds more than the rate. Under asyncio, aiolimiter's
  leaky bucket (`_LeakyBucketGate`); aiolimiter cannot run under trio, where `_SpacedGate`
  keeps the same contract with anyio. The first request through a bucket finds it full (at
  the start, and after a change of rate): a burst is earned by a lull between requests,
  never granted at the start (the server's minute may already hold another run's requests,
  and a wrong password is found after one request, not `burst`).
- **Concurrency**: an anyio `CapacityLimiter` whose size never exceeds the HTTP connection
  pool (the client sizes the pool to it), so no request waits on the pool: httpx's pool
  degrades with many waiters. The slot is taken *before* the rate token, so requests that
  waited for a slot can leave together only as far as the bucket has room.
- **Feedback**: a 40202 steps the rate down (a tenth at the configured rate: a lone 40202
  at the edge of the limit; then by half), a 40209 halves the concurrency (not below
  `min_rate`, by default a sixteenth of the rate, and 1). Answers to requests sent before
  the last change are ignored: they tell about the old pace, and would halve it again and
  again. The rate is lowered at most once per `hold` seconds (default `recovery / 2`): the
  server counts a sliding minute, so it keeps refusing for a while whatever the new pace,
  and only waiting helps (the retries back off for that). After `recovery` seconds without
  a new signal the limit doubles back, step by step, to the configured one.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Protocol

import anyio
import sniffio
from aiolimiter import AsyncLimiter

__all__ = ["Pacer"]

# Paced this much below the configured rate: network jitter can bring two requests closer
# at the server than they left, and a limit met exactly would then be passed now and then.
MARGIN: Final = 0.01
# A departure up to this late still counts as on time (see `_SpacedGate`).
LATE: Final = 0.005
# The most requests that may leave back to back after a lull (see `_burst`).
MAX_BURST: Final = 8
# A lone 40202 (the rate was at its configured value) steps the rate down this much; a
# further one, past the hold, halves it.
GENTLE_STEP: Final = 0.9


class _Gate(Protocol):
    async def acquire(self) -> None: ...

    def set_interval(self, interval: float, burst: int) -> None: ...


class _SpacedGate:
    """Any anyio backend: the leaky bucket as GCRA, with `burst` and FIFO waiting.

    `_tat` is when the bucket is empty again: a request may leave once it is at most
    `burst - 1` intervals away. Counting from the previous due time (not the actual
    departure) keeps timer wake-ups a little late (up to `LATE`) from slowing the pace;
    later than that counts from when it left, so a blocked event loop is never made up for
    with a burst. Hence any `n + burst` departures span at least `n * interval - LATE`.
    Waiting is FIFO (a lock): one timer per request, not a herd woken at every departure.
    A caller cancelled while waiting leaves its turn to the next one.
    """

    def __init__(self, interval: float, burst: int) -> None:
        self._tat = -math.inf
        self._lock = anyio.Lock()
        self._interval = interval
        self._burst = burst
        self._fill = True

    def _due(self) -> float:
        """When the next request may leave; a new bucket is filled at its first request."""
        if self._fill:
            self._fill = False
            self._tat = max(self._tat, anyio.current_time()) + (self._burst - 1) * self._interval
        return self._tat - (self._burst - 1) * self._interval

    def _leave(self) -> None:
        self._tat = max(self._tat, anyio.current_time() - LATE) + self._interval

    async def acquire(self) -> None:
        if not self._lock.locked() and self._due() <= anyio.current_time():
            self._leave()  # nobody waits: go now
            await anyio.lowlevel.checkpoint()
            return
        async with self._lock:
            due = self._due()
            if due > anyio.current_time():
                await anyio.sleep_until(due)
            self._leave()

    def set_interval(self, interval: float, burst: int) -> None:
        # A new bucket, filled by the next request (`_due`): it leaves no earlier than it
        # would have, then one new interval apart, with no burst until a lull has earned it.
        self._interval = interval
        self._burst = burst
        self._fill = True


class _LeakyBucketGate:
    """asyncio: aiolimiter's leaky bucket holding `burst` requests, leaking one per interval.

    A bucket starts full (`_fill`: filled by the first request through it). A new interval
    gets a new bucket; the old one is drained first (`_draining`: whoever waits in it leaves
    before the newcomers).
    """

    def __init__(self, interval: float, burst: int) -> None:
        self._limiter = AsyncLimiter(burst, burst * interval)
        self._fill: AsyncLimiter | None = self._limiter
        self._draining: AsyncLimiter | None = None

    async def acquire(self) -> None:
        draining = self._draining
        if draining is not None:
            await draining.acquire()
            if self._draining is draining:
                self._draining = None
        limiter = self._limiter
        if self._fill is limiter:
            self._fill = None
            await limiter.acquire(limiter.max_rate - 1)  # an empty bucket: no wait
        await limiter.acquire()

    def set_interval(self, interval: float, burst: int) -> None:
        if self._draining is None:
            self._draining = self._limiter
        self._limiter = self._fill = AsyncLimiter(burst, burst * interval)


def _gate(rate: float | None) -> _Gate:
    """The rate gate for the running event loop (None: no rate limit)."""
    if rate is None:
        return _NoGate()
    if sniffio.current_async_library() == "asyncio":
        return _LeakyBucketGate(_interval(rate), _burst(rate))
    return _SpacedGate(_interval(rate), _burst(rate))


class _NoGate:
    async def acquire(self) -> None:
        await anyio.lowlevel.checkpoint()

    def set_interval(self, interval: float, burst: int) -> None:
        pass


def _interval(rate: float) -> float:
    """Seconds between requests for `rate` per minute, with the `MARGIN` below it."""
    return 60.0 / rate * (1.0 + MARGIN)


def _burst(rate: float) -> int:
    """Requests the bucket holds at `rate` per minute: at most `MAX_BURST` and half a
    minute's margin (`rate * MARGIN`; the other half absorbs network jitter), at least 1."""
    return max(1, min(MAX_BURST, int(rate * MARGIN / 2)))


class Pacer:
    """Rate and concurrency limits for one client; create it inside the running event loop.

    `rate` is in requests per minute (None: no rate limit); `concurrency` is the number of
    simultaneous requests.
    """

    def __init__(
        self,
        *,
        rate: float | None,
        concurrency: int,
        recovery: float = 10.0,
        hold: float | None = None,
        min_rate: float | None = None,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError("rate must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.target_rate = rate
        self.target_concurrency = concurrency
        self.rate = rate
        self.concurrency = concurrency
        self._recovery = recovery
        self._hold = recovery / 2 if hold is None else hold
        if min_rate is None:
            min_rate = rate / 16 if rate is not None else 1.0
        self._min_rate = min(min_rate, rate) if rate is not None else min_rate
        self._gate = _gate(rate)
        self._slots = anyio.CapacityLimiter(concurrency)
        self._rate_changed = -math.inf
        self._concurrency_changed = -math.inf

    @property
    def in_flight(self) -> int:
        return self._slots.borrowed_tokens

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold one of the simultaneous slots and wait for the next rate token.

        Yields the time the request leaves (pass it back to `slow_down`/`fewer_at_once`).
        """
        self._recover()
        async with self._slots:
            await self._gate.acquire()
            yield anyio.current_time()

    def slow_down(self, sent_at: float) -> None:
        """A 40202 answered a request sent at `sent_at`: slow down (once per signal).

        At the configured rate it steps down by `GENTLE_STEP` (a lone 40202 at the edge of
        the limit); already below it, it halves.
        """
        if self.rate is None or sent_at < self._rate_changed:
            return
        if anyio.current_time() - self._rate_changed < self._hold:
            return
        step = GENTLE_STEP if self.rate == self.target_rate else 0.5
        self._set_rate(max(self._min_rate, self.rate * step))

    def fewer_at_once(self, sent_at: float) -> None:
        """A 40209 answered a request sent at `sent_at`: halve the concurrency (at least 1)."""
        if sent_at < self._concurrency_changed:
            return
        self._set_concurrency(max(1, self.concurrency // 2))

    def _recover(self) -> None:
        now = anyio.current_time()
        if (
            self.rate is not None
            and self.target_rate is not None
            and self.rate < self.target_rate
            and now - self._rate_changed >= self._recovery
        ):
            self._set_rate(min(self.target_rate, self.rate * 2))
        if (
            self.concurrency < self.target_concurrency
            and now - self._concurrency_changed >= self._recovery
        ):
            self._set_concurrency(min(self.target_concurrency, self.concurrency * 2))

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._rate_changed = anyio.current_time()
        self._gate.set_interval(_interval(rate), _burst(rate))

    def _set_concurrency(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._concurrency_changed = anyio.current_time()
        self._slots.total_tokens = concurrency
