"""Pacing: a steady request rate and a cap on simultaneous requests, both adaptive.

`Pacer` is what the engine asks of any pacing: the account read before the first request, a
slot and a place in the rate window for each request, and the server's throttling answers
back. `LocalPacer` paces one client's requests by itself (below); `shared_limits.SharedLimits`
keeps the same rules for all the processes of a login together, through Redis.

DataForSEO asks for a steady flow, not bursts, and answers 40202 past its per-minute rate
and 40209 past its simultaneous-request cap. So:

- **Rate**: the server counts a request when it *arrives*, in a sliding 60 s window
  (`WINDOW`). The client knows when it let a request leave (`s`) and when it got its answer
  or gave up on it (`r`: an error, a cancel); the arrival `a` is somewhere between (a busy
  event loop, the network). The quota is the window's share of `rate` less 0.5% (`MARGIN`,
  `_quota`: for the server's own counting). Two parts keep it:
  - the window log (`_WindowLog`): a request may leave at `t` only while fewer than the
    quota are *counted*: those in flight and those ended after `t - WINDOW`. That is exact:
    take any server window [w, w + 60] and k, the request of it that left last; every other
    one, j, ended after it arrived, so `r_j >= a_j >= w >= a_k - 60 >= s_k - 60`: it was
    counted when k left, and the window holds at most the quota. No constant for the
    unevenness: each request's own answer time covers it, however late it arrives. A request
    counts for `WINDOW` plus its latency, so the pace is the quota per `WINDOW` + latency
    (99.2% of the rate with answers in 100-300 ms); a fixed slack after `WINDOW` instead
    would cost the pace as much and cover unevenness only up to that slack.
  - the spacing: one request every `WINDOW / quota` seconds (`_interval`), a steady flow,
    never a minute's quota at once (the log alone would let the quota go in one burst after
    an idle spell, or at the start). Past the first window the log binds (the latency makes
    it a little slower): each departure then follows an answer by `WINDOW`, as steady as the
    first window's flow. A late departure (a blocked loop, a timer woken late) is never made
    up for: the next one is spaced from when it actually left. The bucket holds a few
    requests (`burst`: at most `MAX_BURST`, and within the margin), so requests whose answers
    land together can leave together instead of queueing one interval apart while their
    slots idle (benchmarks/RESULTS.md: from 91-92% to 96-97% of the concurrency-bound
    throughput). Under asyncio, aiolimiter's leaky bucket (`_LeakyBucketGate`); aiolimiter
    cannot run under trio, where `_SpacedGate` keeps the same contract with anyio. The first
    request through a bucket finds it full (at the start, and after a change of rate): a
    burst is earned by a lull between requests, never granted at the start (the server's
    minute may already hold another run's requests, and a wrong password is found after one
    request, not `burst`).
- **Concurrency**: a count of slots (`_Slots`) that never exceeds the HTTP connection pool
  (the client sizes the pool to it), so no request waits on the pool: httpx's pool degrades
  with many waiters. The slot is taken *before* the rate token, so requests that
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
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio
import sniffio

from dfs_async.errors import ConfigurationError

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter

    from dfs_async.account import AccountInfo

__all__ = ["LocalPacer", "Pacer"]

# Paced this much below the configured rate. The window log covers the network's unevenness
# exactly; this is for the server's own counting (its clock, its window's edges).
MARGIN: Final = 0.005
# The server's sliding window, in seconds (the rate is per minute); a test shortens it.
WINDOW: Final = 60.0
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
            self._leave()  # nobody waits: go now (no checkpoint: the request has its own)
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
        from aiolimiter import AsyncLimiter  # imported here: asyncio only (and it is slow)

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
        self._limiter = self._fill = type(self._limiter)(burst, burst * interval)


class _WindowLog:
    """The exact rule: a request leaves at `t` only while fewer than `quota` are counted, those
    in flight and those that ended (`end`) after `t - window`. FIFO (a lock), like the gates.

    The ended ones are kept as their expiry, `end + window`, in a deque: the ends are
    readings of one clock and the window is fixed, so the expiries come in order and the
    oldest is on the left. A departure with nothing expiring to wait for (everything counted
    is still in flight: a quota within the concurrency) waits for an answer (`_ended`).
    """

    def __init__(self, quota: int, window: float) -> None:
        self._quota = quota
        self._window = window
        self._in_flight = 0
        self._expiries: deque[float] = deque()
        self._lock = anyio.Lock()
        self._ended: anyio.Event | None = None  # set at the next end, for a waiting departure

    def _counted(self, now: float) -> int:
        expiries = self._expiries
        while expiries and expiries[0] <= now:
            expiries.popleft()
        return self._in_flight + len(expiries)

    async def acquire(self) -> float:
        """Wait until one more request may leave; its departure time, as the log counts it.
        Each departure must be followed by one `end`."""
        now = anyio.current_time()
        if not self._lock.locked() and self._counted(now) < self._quota:
            self._in_flight += 1  # the usual case: no wait, no checkpoint
            return now
        async with self._lock:
            # A loop: an answer only turns an in-flight request into an expiry, and a lower
            # quota (`set_quota`) meanwhile needs more of them to pass.
            while self._counted(now := anyio.current_time()) >= self._quota:
                if self._expiries:
                    await anyio.sleep_until(self._expiries[0])
                else:
                    self._ended = ended = anyio.Event()
                    await ended.wait()
            self._in_flight += 1
        return now

    def end(self) -> None:
        """A request that left ended (answered, failed, cancelled): it counts one more window."""
        self._in_flight -= 1
        self._expiries.append(anyio.current_time() + self._window)
        ended = self._ended
        if ended is not None:
            self._ended = None
            ended.set()

    def set_quota(self, quota: int) -> None:
        self._quota = quota


def _gate(rate: float | None, window: float) -> _Gate:
    """The rate gate for the running event loop (None: no rate limit)."""
    if rate is None:
        return _NoGate()
    interval = _interval(rate, window)
    if sniffio.current_async_library() == "asyncio":
        return _LeakyBucketGate(interval, _burst(rate))
    return _SpacedGate(interval, _burst(rate))


class _NoGate:
    async def acquire(self) -> None:
        await anyio.lowlevel.checkpoint()

    def set_interval(self, interval: float, burst: int) -> None:
        pass


def _quota(rate: float, window: float = WINDOW) -> int:
    """The most requests any server window may count at `rate` per minute: the window's
    share of the rate, `MARGIN` below it (at least 1)."""
    return max(1, math.floor(rate * window / 60.0 * (1.0 - MARGIN)))


def _interval(rate: float, window: float = WINDOW) -> float:
    """Seconds between requests for `rate` per minute: the quota spread over the window."""
    return window / _quota(rate, window)


def _burst(rate: float) -> int:
    """Requests the bucket holds at `rate` per minute: at most `MAX_BURST` and a minute's
    margin (`rate * MARGIN`: the gate alone never passes the rate), at least 1."""
    return max(1, min(MAX_BURST, int(rate * MARGIN)))


class Pacer(Protocol):
    """What the engine asks of its pacing; see the module docstring."""

    #: Whether `slot` keeps the account's daily limits itself (raising DailyLimitReached);
    #: else the engine keeps them.
    keeps_daily_limits: bool

    def slot(self, function: str) -> AbstractAsyncContextManager[float]:
        """`async with pacer.slot(function) as sent_at`: wait for a simultaneous slot and a
        place in the rate window for a request of `function` (an endpoint's name), held until
        the block is left (however: an answer, an error, a cancel); `sent_at`, the departure
        (in the pacing's own clock), goes back with the feedback."""
        ...

    async def slow_down(self, sent_at: float) -> None:
        """A 40202 (too many requests a minute) answered the request sent at `sent_at`."""

    async def fewer_at_once(self, sent_at: float) -> None:
        """A 40209 (too many requests at once) answered the request sent at `sent_at`."""

    def with_rate(self, rate: float) -> Pacer:
        """A pacer like this one at another rate: the account's, read before the first
        request."""
        ...

    async def read_account(self, read: Callable[[], Awaitable[AccountInfo]]) -> AccountInfo:
        """The account as `read` (one user_data request) gives it; a pacing shared by several
        processes reads it once for all of them (user_data allows a few reads a minute)."""
        ...


class LocalPacer:
    """Rate and concurrency limits for one client; create it inside the running event loop.

    `rate` is in requests per minute (None: no rate limit); `concurrency` is the number of
    simultaneous requests. `window` (default `WINDOW`) is the server's sliding window, in
    seconds (tests shorten it).
    """

    keeps_daily_limits = False  # the engine keeps them

    def __init__(
        self,
        *,
        rate: float | None,
        concurrency: int,
        recovery: float = 10.0,
        hold: float | None = None,
        min_rate: float | None = None,
        window: float | None = None,
    ) -> None:
        self._settings = {
            "recovery": recovery, "hold": hold, "min_rate": min_rate, "window": window,
        }  # fmt: skip
        if rate is not None and not rate > 0:
            raise ConfigurationError("rate: must be positive")
        if concurrency < 1:
            raise ConfigurationError("concurrency: must be at least 1")
        self.target_rate = rate
        self.target_concurrency = concurrency
        self.rate = rate
        self.concurrency = concurrency
        self._recovery = recovery
        self._hold = recovery / 2 if hold is None else hold
        if min_rate is None:
            min_rate = rate / 16 if rate is not None else 1.0
        self._min_rate = min(min_rate, rate) if rate is not None else min_rate
        self._window = WINDOW if window is None else window
        if not self._window > 0:
            raise ConfigurationError("window: must be positive")
        self._gate = _gate(rate, self._window)
        self._log = None if rate is None else _WindowLog(_quota(rate, self._window), self._window)
        self._slots = _Slots(concurrency)
        self._rate_changed = -math.inf
        self._concurrency_changed = -math.inf

    def with_rate(self, rate: float) -> LocalPacer:
        """A new pacer like this one at another configured rate (the account's, read before
        the first request: a fresh pacer, since nothing has gone through this one)."""
        settings: dict[str, Any] = dict(self._settings)
        if settings["min_rate"] is not None:
            settings["min_rate"] = min(settings["min_rate"], rate)
        return LocalPacer(rate=rate, concurrency=self.target_concurrency, **settings)

    @property
    def in_flight(self) -> int:
        return self._slots.borrowed

    async def read_account(self, read: Callable[[], Awaitable[AccountInfo]]) -> AccountInfo:
        """The account, as `read` gives it: this client's own read."""
        return await read()

    def slot(self, function: str = "") -> _Slot:
        """`async with pacer.slot() as sent_at`: hold one of the simultaneous slots and wait
        for the next rate token (for a request of any `function`: the same limits).

        Gives the time the request leaves (pass it back to `slow_down`/`fewer_at_once`);
        the request ends when the block is left, however (an answer, an error, a cancel): the
        window log counts it until a window after that.
        """
        return _Slot(self)

    async def slow_down(self, sent_at: float) -> None:
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

    async def fewer_at_once(self, sent_at: float) -> None:
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
        self._gate.set_interval(_interval(rate, self._window), _burst(rate))
        if self._log is not None:
            self._log.set_quota(_quota(rate, self._window))

    def _set_concurrency(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._concurrency_changed = anyio.current_time()
        self._slots.set_total(concurrency)


class _Slot:
    """`LocalPacer.slot()`: a class, not a generator-based context manager (the hot path)."""

    __slots__ = ("_logged", "_pacer")

    def __init__(self, pacer: LocalPacer) -> None:
        self._pacer = pacer
        self._logged = False

    async def __aenter__(self) -> float:
        pacer = self._pacer
        pacer._recover()
        await pacer._slots.acquire()
        try:
            await pacer._gate.acquire()
            log = pacer._log
            if log is None:
                return anyio.current_time()
            # The departure as the window log counted it: one clock reading for both.
            sent_at = await log.acquire()
        except BaseException:
            pacer._slots.release()
            raise
        self._logged = True
        return sent_at

    async def __aexit__(self, *exc_info: object) -> None:
        pacer = self._pacer
        if self._logged:
            assert pacer._log is not None
            pacer._log.end()
        pacer._slots.release()


class _Slots:
    """At most `total` held at once (lowered after a 40209), FIFO. A free slot is taken
    without a checkpoint: anyio's CapacityLimiter always has one, a loop pass per request.
    A released slot is handed to the first waiter."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.borrowed = 0
        self._waiters: deque[anyio.Event] = deque()

    async def acquire(self) -> None:
        if self.borrowed < self.total and not self._waiters:
            self.borrowed += 1
            return
        handed = anyio.Event()
        self._waiters.append(handed)
        try:
            await handed.wait()
        except BaseException:
            if handed.is_set():  # handed a slot, but cancelled before taking it
                self.release()
            else:
                self._waiters.remove(handed)
            raise

    def release(self) -> None:
        self.borrowed -= 1
        self._hand_over()

    def set_total(self, total: int) -> None:
        self.total = total
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiters and self.borrowed < self.total:
            self.borrowed += 1  # on the waiter's behalf
            self._waiters.popleft().set()
