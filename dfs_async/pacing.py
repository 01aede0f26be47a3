"""Pacing: a steady request rate and a cap on simultaneous requests, both adaptive.

DataForSEO asks for a steady flow, not bursts, and answers 40202 past its per-minute rate
and 40209 past its simultaneous-request cap. So:

- **Rate**: one request every `60 / rate` seconds (1% more: `MARGIN`), never a minute's
  quota at once (a bucket of `rate` per 60 s would let `rate` requests go in one burst after
  an idle spell). Under asyncio, aiolimiter's leaky bucket with room for a single request
  (`_LeakyBucketGate`); aiolimiter cannot run under trio, where `_SpacedGate` keeps the same
  contract with anyio: consecutive departures one interval apart, so no 60 s window ever
  holds more than `rate` of them, also across a change of rate.
- **Concurrency**: an anyio `CapacityLimiter` whose size never exceeds the HTTP connection
  pool (the client sizes the pool to it), so no request waits on the pool: httpx's pool
  degrades with many waiters. The slot is taken *before* the rate token, so requests that
  waited for a slot cannot leave together in a burst.
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
# A lone 40202 (the rate was at its configured value) steps the rate down this much; a
# further one, past the hold, halves it.
GENTLE_STEP: Final = 0.9


class _Gate(Protocol):
    async def acquire(self) -> None: ...

    def set_interval(self, interval: float) -> None: ...


class _SpacedGate:
    """Any anyio backend: departures at least `interval` apart, one waiter at a time.

    The next departure is due `interval` after the previous one's due time, so timer
    wake-ups a little late (up to `LATE`) do not make the pace drift slower; one later than
    that counts from when it actually left, so a blocked event loop is never made up for
    with a burst. Hence any `n + 1` departures span at least `n * interval - LATE`.
    Waiting is FIFO (a lock): one timer per request, not a herd woken at every departure.
    A caller cancelled while waiting leaves its turn to the next one.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last = -math.inf  # the previous departure's due time
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        due = self._last + self._interval
        if not self._lock.locked() and due <= anyio.current_time():
            self._last = max(due, anyio.current_time() - LATE)  # nobody waits: go now
            await anyio.lowlevel.checkpoint()
            return
        async with self._lock:
            due = self._last + self._interval
            if due > anyio.current_time():
                await anyio.sleep_until(due)
            self._last = max(due, anyio.current_time() - LATE)

    def set_interval(self, interval: float) -> None:
        self._interval = interval


class _LeakyBucketGate:
    """asyncio: aiolimiter's leaky bucket holding one request, so departures are spaced by
    the interval and never burst.

    A new interval gets a new bucket, which starts empty and would let one request go at
    once: the old bucket is drained first (`_draining`), so a change of rate can only space
    departures more, never less.
    """

    def __init__(self, interval: float) -> None:
        self._limiter = AsyncLimiter(1, interval)
        self._draining: AsyncLimiter | None = None

    async def acquire(self) -> None:
        draining = self._draining
        if draining is not None:
            await draining.acquire()
            if self._draining is draining:
                self._draining = None
        await self._limiter.acquire()

    def set_interval(self, interval: float) -> None:
        if self._draining is None:
            self._draining = self._limiter
        self._limiter = AsyncLimiter(1, interval)


def _gate(rate: float | None) -> _Gate:
    """The rate gate for the running event loop (None: no rate limit)."""
    if rate is None:
        return _NoGate()
    if sniffio.current_async_library() == "asyncio":
        return _LeakyBucketGate(_interval(rate))
    return _SpacedGate(_interval(rate))


class _NoGate:
    async def acquire(self) -> None:
        await anyio.lowlevel.checkpoint()

    def set_interval(self, interval: float) -> None:
        pass


def _interval(rate: float) -> float:
    """Seconds between requests for `rate` per minute, with the `MARGIN` below it."""
    return 60.0 / rate * (1.0 + MARGIN)


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
        self._gate.set_interval(_interval(rate))

    def _set_concurrency(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._concurrency_changed = anyio.current_time()
        self._slots.total_tokens = concurrency
