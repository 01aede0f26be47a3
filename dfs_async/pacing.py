"""Pacing: a steady request rate and a cap on simultaneous requests, both adaptive.

DataForSEO asks for a steady flow, not bursts, and answers 40202 past its per-minute rate
and 40209 past its simultaneous-request cap. So:

- **Rate**: one request every `60 / rate` seconds, never a minute's quota at once. Under
  asyncio this is aiolimiter's leaky bucket with a capacity of one request,
  `AsyncLimiter(1, 60 / rate)` (a bucket of `rate` per 60 s would let `rate` requests go in
  one burst after an idle spell). aiolimiter runs only on asyncio; under trio (or any other
  anyio backend) `_SlotGate` gives the same contract: each request reserves the next slot
  on a grid `60 / rate` apart.
- **Concurrency**: an anyio `CapacityLimiter` whose size never exceeds the HTTP connection
  pool (the client sizes the pool to it), so no request waits on the pool: httpx's pool
  degrades with many waiters. The slot is taken *before* the rate token, so requests that
  waited for a slot cannot leave together in a burst.
- **Feedback**: a 40202 halves the rate, a 40209 halves the concurrency (not below
  `min_rate`, by default a sixteenth of the rate, and 1). Answers to requests sent before
  the last change are ignored: they tell about the old pace, and would halve it again and
  again. The rate is halved at most once per `hold` seconds (default `recovery / 2`): the
  server counts a sliding minute, so it keeps refusing for a while whatever the new pace,
  and only waiting helps (the retries back off for that). After `recovery` seconds without
  a new signal the limit doubles back, step by step, to the configured one.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
import sniffio
from aiolimiter import AsyncLimiter

__all__ = ["Pacer"]


class _Gate(Protocol):
    async def acquire(self) -> None: ...

    def set_interval(self, interval: float) -> None: ...


class _AioGate:
    """asyncio: aiolimiter with room for one request, so it never bursts."""

    def __init__(self, interval: float) -> None:
        self._limiter = AsyncLimiter(1, interval)

    async def acquire(self) -> None:
        await self._limiter.acquire()

    def set_interval(self, interval: float) -> None:
        # aiolimiter has no public way to change its rate: a new bucket takes over (those
        # already waiting on the old one leave at the old pace, which only errs on the slow side).
        self._limiter = AsyncLimiter(1, interval)


class _SlotGate:
    """Any anyio backend: each caller reserves the next free slot on a grid `interval` apart.

    A caller cancelled while waiting leaves its slot unused: the pace only gets slower.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = -math.inf

    async def acquire(self) -> None:
        now = anyio.current_time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await anyio.sleep_until(slot)
        else:
            await anyio.lowlevel.checkpoint()

    def set_interval(self, interval: float) -> None:
        self._interval = interval


class _NoGate:
    async def acquire(self) -> None:
        await anyio.lowlevel.checkpoint()

    def set_interval(self, interval: float) -> None:
        pass


def _gate(interval: float | None) -> _Gate:
    if interval is None:
        return _NoGate()
    if sniffio.current_async_library() == "asyncio":
        return _AioGate(interval)
    return _SlotGate(interval)


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
        self._gate = _gate(None if rate is None else 60.0 / rate)
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
        """A 40202 answered a request sent at `sent_at`: halve the rate (once per signal)."""
        if self.rate is None or sent_at < self._rate_changed:
            return
        if anyio.current_time() - self._rate_changed < self._hold:
            return
        self._set_rate(max(self._min_rate, self.rate / 2))

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
        self._gate.set_interval(60.0 / rate)

    def _set_concurrency(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._concurrency_changed = anyio.current_time()
        self._slots.total_tokens = concurrency
