"""The account's limits shared through Redis: a real redis-server, real processes.

Several processes (`benchmarks.shared_worker`, on asyncio and trio side by side) send fake
requests through `SharedLimits`; what they did together is counted twice, by parties that
trust no clock of theirs: a UDP observer (the kernel's receive times: `S` when a request
starts, `E` when it ends) and Redis itself (`--audit`). Windows and latencies are short,
so each test takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from dfs_async.account import AccountInfo, AccountUnavailable, DailyLimitReached
from dfs_async.errors import ConfigurationError
from dfs_async.pacing import LATE, _quota
from dfs_async.redis_link import RedisLink
from dfs_async.shared_limits import (
    _ACQUIRE,
    SharedLimits,
    SharedLimitsUnavailable,
    shared_account,
)
from tests.redis_server import COREDIS_LEAKS, RedisServer

pytestmark = [pytest.mark.anyio, *COREDIS_LEAKS]

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "ann@example.com"
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux


# --- helpers ----------------------------------------------------------------------------------


class Observer:
    """Where the workers report their requests' starts and ends, timed by the kernel as each
    datagram arrives (loopback delivers during the sender's `send`: the order is real)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.events: list[tuple[float, str, str]] = []  # (time, "S" or "E", worker)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(64, socket.CMSG_SPACE(16))
            except OSError:
                return
            if not data:
                return
            (_, _, stamp), *_ = ancillary
            seconds, nanoseconds = struct.unpack("qq", stamp[:16])
            kind, name, _n = data.decode().split()
            self.events.append((seconds + nanoseconds / 1e9, kind, name))

    def close(self) -> list[tuple[float, str, str]]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stop:
            stop.sendto(b"", self.sock.getsockname())  # after every datagram already sent
        self._thread.join(5)
        self.sock.close()
        return sorted(self.events)


@pytest.fixture
def observer() -> Iterator[Observer]:
    seen = Observer()
    yield seen
    if seen.sock.fileno() != -1:
        seen.close()


def key(link: RedisLink, name: str) -> str:
    """One of the login's keys (as `shared_limits` names them)."""
    return link.key("limits", f"{{{LOGIN}}}", name)


def most_at_once(events: list[tuple[float, str, str]]) -> int:
    level = most = 0
    for _, kind, _ in events:
        level += 1 if kind == "S" else -1
        most = max(most, level)
    return most


def most_in_a_window(starts: list[float], window: float) -> int:
    """The most starts any closed interval of `window` seconds holds."""
    starts = sorted(starts)
    most = first = 0
    for last, t in enumerate(starts):
        while t - starts[first] > window:
            first += 1
        most = max(most, last - first + 1)
    return most


def faketime() -> str:
    binary = shutil.which("faketime")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is not installed: .ci/run installs it", pytrace=False)
        pytest.skip("faketime is not installed (apt-get install faketime)")
    return binary


class Workers:
    """Worker processes of LOGIN, each killed at the end of the test if it still runs."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def __call__(
        self, url: str, *options: object, clock: str | None = None
    ) -> subprocess.Popen[str]:
        """One more; `clock`: libfaketime's offset for its clock."""
        prefix = [faketime(), "-f", clock] if clock is not None else []
        command = [*prefix, sys.executable, "-m", "benchmarks.shared_worker", url]
        self.started.append(
            subprocess.Popen(
                [*command, "--login", LOGIN, *map(str, options)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        return self.started[-1]

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def worker() -> Iterator[Workers]:
    workers = Workers()
    yield workers
    workers.stop()


def finish(process: subprocess.Popen[str], timeout: float = 30) -> dict[str, object]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    assert result["error"] is None, result
    return result


async def redis_side(url: str) -> tuple[int, list[float]]:
    """What Redis counted: the most requests in flight at once, and their starts (s)."""
    async with RedisLink(url) as link:
        most = int(await link.client.get(link.key("audit:most")) or 0)
        starts = await link.client.zrange(link.key("audit:starts"), 0, -1, withscores=True)
    return most, [score / 1e6 for _, score in starts]


def backends(n: int) -> list[str]:
    return ["asyncio" if i % 2 == 0 else "trio" for i in range(n)]


# --- several processes ------------------------------------------------------------------------


def test_processes_together_never_exceed_the_slots(
    redis_url: str, observer: Observer, worker: Workers
) -> None:
    slots = 6
    processes = [
        worker(redis_url, "--name", f"p{i}", "--backend", backend, "--requests", 60,
               "--concurrency", 5, "--slots", slots, "--latency", 0.01, 0.05,
               "--observer", observer.address, "--audit", "--seed", i)
        for i, backend in enumerate(backends(3))
    ]  # fmt: skip
    results = [finish(p) for p in processes]
    events = observer.close()
    assert sum(r["requests"] for r in results) == 180  # type: ignore[misc]
    assert len(events) == 360
    # 15 wanted to be in flight at once: the slots bound them, and only them
    assert most_at_once(events) == slots
    most, starts = anyio.run(redis_side, redis_url)
    assert most == slots
    assert len(starts) == 180


def test_processes_keep_one_window_whatever_their_clocks(
    redis_url: str, observer: Observer, worker: Workers
) -> None:
    """Their clocks an hour behind, a day ahead, years ahead: the window is Redis's."""
    rate, window = 2400.0, 0.5
    quota = _quota(rate, window)
    clocks = ["-1h", "+1d", "@2031-12-31 23:59:59"]
    processes = [
        worker(redis_url, "--name", f"p{i}", "--backend", backend, "--requests", 30,
               "--concurrency", 10, "--rate", rate, "--window", window,
               "--latency", 0.01, 0.05, "--observer", observer.address, "--audit",
               "--seed", i, clock=clock)
        for i, (backend, clock) in enumerate(zip(backends(3), clocks, strict=True))
    ]  # fmt: skip
    results = [finish(p) for p in processes]
    events = observer.close()
    assert sum(r["requests"] for r in results) == 90  # type: ignore[misc]
    observed = most_in_a_window([t for t, kind, _ in events if kind == "S"], window)
    _, starts = anyio.run(redis_side, redis_url)
    counted = most_in_a_window(starts, window)
    assert observed <= quota and counted <= quota, (observed, counted, quota)
    # without the limit, 30 requests would be in flight at once, 90 within 0.2 s
    assert observed > quota // 2
    # and the flow was steady: the spacing, never the quota at once
    departures = sorted(starts)
    assert departures[quota] - departures[0] >= window * 0.9


async def test_a_process_killed_gives_its_slots_back_within_its_lease(
    redis_url: str, anyio_backend: str, worker: Workers
) -> None:
    lease = 1.0
    held = worker(redis_url, "--backend", anyio_backend, "--slots", 4, "--lease", lease,
                  "--hold", 4)  # fmt: skip
    assert held.stdout is not None
    assert held.stdout.readline().strip() == "HELD"
    async with (
        RedisLink(redis_url) as link,
        SharedLimits(link, LOGIN, rate=None, concurrency=4, slots=4, lease=lease,
                     poll=0.2) as limits,
    ):  # fmt: skip
        with anyio.move_on_after(0.3) as scope:
            async with limits.slot():
                pass
        assert scope.cancelled_caught  # all four are held
        held.send_signal(signal.SIGKILL)
        held.wait(10)
        killed = time.monotonic()
        async with anyio.create_task_group() as tg:
            got = anyio.Semaphore(0)
            for _ in range(4):
                tg.start_soon(hold_one, limits, got)
            for _ in range(4):
                await got.acquire()
            waited = time.monotonic() - killed
            # ours in flight; the killed process's four ended once, when its lease ran out
            assert await link.client.zcard(key(link, "inflight")) == 4
            assert await link.client.zcard(key(link, "ended")) == 4
            tg.cancel_scope.cancel()
    assert waited < lease + 1.0


async def test_a_process_frozen_past_its_lease_loses_its_slots_and_says_so(
    redis_url: str, anyio_backend: str, worker: Workers
) -> None:
    held = worker(redis_url, "--backend", anyio_backend, "--slots", 2, "--lease", 1, "--hold", 2)
    assert held.stdout is not None and held.stderr is not None
    assert held.stdout.readline().strip() == "HELD"
    held.send_signal(signal.SIGSTOP)
    try:
        async with (
            RedisLink(redis_url) as link,
            limits(link, slots=2) as shared,
            anyio.create_task_group() as tg,
        ):
            got = anyio.Semaphore(0)
            for _ in range(2):
                tg.start_soon(hold_one, shared, got)
            with anyio.fail_after(3):
                for _ in range(2):
                    await got.acquire()
            assert await link.client.zcard(key(link, "ended")) == 2  # its two, once
            held.send_signal(signal.SIGCONT)  # it wakes up, renews, finds out
            await anyio.sleep(0.8)
            assert await link.client.zcard(key(link, "inflight")) == 2  # ours only
            tg.cancel_scope.cancel()
    finally:
        held.send_signal(signal.SIGCONT)
        held.kill()
    _, err = held.communicate(timeout=10)
    assert "lease had expired" in err and "2 of its requests in flight" in err


async def hold_one(limits: SharedLimits, got: anyio.Semaphore) -> None:
    async with limits.slot():
        got.release()
        await anyio.sleep_forever()


def test_each_process_gets_its_turn(redis_url: str, observer: Observer, worker: Workers) -> None:
    """Three processes that each could take every slot share them about evenly."""
    processes = [
        worker(redis_url, "--name", f"p{i}", "--backend", backend, "--requests", 90,
               "--concurrency", 3, "--slots", 3, "--latency", 0.02, 0.04,
               "--observer", observer.address, "--seed", i)
        for i, backend in enumerate(backends(3))
    ]  # fmt: skip
    for p in processes:
        finish(p)
    events = observer.close()
    starts = [(t, name) for t, kind, name in events if kind == "S"]
    first = max(min(t for t, n in starts if n == name) for name in ("p0", "p1", "p2"))
    last = min(max(t for t, n in starts if n == name) for name in ("p0", "p1", "p2"))
    assert last - first > 0.5, "the three did not run together: the test proves nothing"
    shares = Counter(name for t, name in starts if first <= t <= last)
    total = sum(shares.values())
    assert all(count / total > 0.22 for count in shares.values()), shares


# --- one process, several holders ----------------------------------------------------------


async def count(link: RedisLink, name: str, expected: int) -> int:
    """The size of a set of the login's, once it is `expected` or after a second: the ends
    of requests are recorded within a loop pass and a call (or by the next acquire)."""
    with anyio.move_on_after(1):
        while (size := await link.client.zcard(key(link, name))) != expected:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    return size


def limits(link: RedisLink, **options: object) -> SharedLimits:
    settings: dict[str, object] = {"rate": None, "concurrency": 30, "lease": 1.0, "poll": 0.2}
    settings.update(options)
    return SharedLimits(link, LOGIN, **settings)  # type: ignore[arg-type]


async def test_each_process_s_concurrency_is_its_own_cap(redis_url: str) -> None:
    level = {"a": 0, "b": 0}
    most = {"a": 0, "b": 0, "all": 0}

    async def one(who: str, holder: SharedLimits) -> None:
        async with holder.slot():
            level[who] += 1
            most[who] = max(most[who], level[who])
            most["all"] = max(most["all"], level["a"] + level["b"])
            await anyio.sleep(0.01)
            level[who] -= 1

    async with (
        RedisLink(redis_url) as link,
        limits(link, concurrency=2, slots=6) as a,
        limits(link, concurrency=3, slots=6) as b,
        anyio.create_task_group() as tg,
    ):
        for _ in range(40):
            tg.start_soon(one, "a", a)
            tg.start_soon(one, "b", b)
    assert most == {"a": 2, "b": 3, "all": 5}  # the account's 6 left one free


async def test_the_spacing_is_steady_with_a_small_burst_after_a_lull(redis_url: str) -> None:
    rate, window = 600.0, 1.0  # a quota of 9 a second, a burst of 3 (pacing's rules)
    interval = window / _quota(rate, window)
    async with RedisLink(redis_url) as link, limits(link, rate=rate, window=window) as shared:

        async def burst(n: int) -> list[float]:
            sent: list[float] = []

            async def one() -> None:
                async with shared.slot() as at:
                    sent.append(at)

            async with anyio.create_task_group() as tg:
                for _ in range(n):
                    tg.start_soon(one)
            return sorted(sent)

        # Any k departures span at least (k - burst) intervals (less `LATE`: a departure
        # woken a little late does not slow the pace).
        start = await burst(4)  # a new bucket is full: no burst at the start
        assert all(start[k] - start[0] >= k * interval - 0.001 for k in range(4)), start
        await anyio.sleep(window + 0.3)  # a lull: the window empties, the bucket drains
        after = await burst(5)
        assert after[2] - after[0] < interval  # three at once...
        assert all(after[k] - after[0] >= (k - 2) * interval - LATE for k in (3, 4)), after


async def test_a_daily_limit_is_shared_and_counted_by_redis_s_day(redis_url: str) -> None:
    info = AccountInfo(login=LOGIN, per_minute=2000, daily_limits={"backlinks": 5},
                       used_today={"backlinks": 2})  # fmt: skip
    async with RedisLink(redis_url) as link:

        async def fetch() -> AccountInfo:
            return info

        assert await shared_account(link, LOGIN, fetch) == info
        async with limits(link) as a, limits(link) as b:
            for holder in (a, b, a):
                async with holder.slot("backlinks"):
                    pass
            for holder in (a, b):
                with pytest.raises(DailyLimitReached) as caught:
                    async with holder.slot("backlinks"):
                        pass
                assert (caught.value.limit, caught.value.used) == (5, 5)
            async with b.slot("anchors"):  # another function: not limited
                pass
            # Redis's day changes (as written by the day before): the count starts again
            daily = key(link, "daily")
            day = int(await link.client.hget(daily, "#day") or 0)
            await link.client.hset(daily, {"#day": day - 1})
            async with a.slot("backlinks"):
                pass
            assert await link.client.hget(daily, "backlinks") == b"1"


async def test_the_account_is_read_once_for_all(redis_url: str) -> None:
    reads = 0
    info = AccountInfo(login=LOGIN, per_minute=2000)

    async def fetch() -> AccountInfo:
        nonlocal reads
        reads += 1
        await anyio.sleep(0.2)
        return info

    got: list[AccountInfo] = []

    async def process() -> None:
        async with RedisLink(redis_url) as link:  # its own connections
            got.append(await shared_account(link, LOGIN, fetch))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(process)
    assert reads == 1
    assert got == [info] * 20


async def test_a_failed_read_of_the_account_is_shared_too(redis_url: str) -> None:
    reads = 0

    async def fetch() -> AccountInfo:
        nonlocal reads
        reads += 1
        await anyio.sleep(0.1)
        raise AccountUnavailable("40202 too many requests", 40202)

    async def crash() -> AccountInfo:
        raise RuntimeError("the caller's own bug")

    async with RedisLink(redis_url) as link:
        with pytest.raises(RuntimeError):  # the lock is given back: another one reads
            await shared_account(link, LOGIN, crash)
        failures: list[AccountUnavailable] = []

        async def process() -> None:
            try:
                await shared_account(link, LOGIN, fetch)
            except AccountUnavailable as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(process)
    assert reads == 1
    assert [(f.reason, f.status_code) for f in failures] == [
        ("40202 too many requests", 40202)
    ] * 10


async def test_a_40202_slows_every_process_and_the_rate_recovers(redis_url: str) -> None:
    rate, window = 1200.0, 1.0
    async with RedisLink(redis_url) as link:
        spacing = key(link, "spacing")
        async with (
            limits(link, rate=rate, window=window, recovery=0.6) as a,
            limits(link, rate=rate, window=window, recovery=0.6) as b,
        ):
            async with a.slot() as sent_at:
                pass
            await a.slow_down(sent_at)
            await b.slow_down(sent_at)  # the same signal again: within the hold, ignored
            async with b.slot():
                pass
            interval = float(await link.client.hget(spacing, "interval") or 0)
            assert interval == pytest.approx(window / _quota(rate * 0.9, window) * 1e6)
            await anyio.sleep(0.7)
            async with b.slot():  # `recovery` later: back to the full rate
                pass
            interval = float(await link.client.hget(spacing, "interval") or 0)
            assert interval == pytest.approx(window / _quota(rate, window) * 1e6)


async def test_a_40209_halves_every_process_s_slots(redis_url: str) -> None:
    async with (
        RedisLink(redis_url) as link,
        limits(link, slots=4) as a,
        limits(link, slots=4) as b,
    ):
        async with a.slot() as sent_at:
            pass
        await a.fewer_at_once(sent_at)
        got = anyio.Semaphore(0)
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(hold_one, b, got)
            await got.acquire()
            await got.acquire()
            with anyio.move_on_after(0.4) as scope:
                await got.acquire()
            assert scope.cancelled_caught  # two of four
            tg.cancel_scope.cancel()


async def test_an_expired_lease_is_never_counted_twice(redis_url: str) -> None:
    # long leases: no renewal comes between the test's steps
    async with (
        RedisLink(redis_url) as link,
        limits(link, slots=3, lease=30) as a,
        limits(link, slots=3, lease=30) as b,
    ):
        async with a.slot(), a.slot():
            # a is frozen past its lease: the next script ends its two requests
            await link.client.zadd(key(link, "holders"), {a._holder: 0})
            async with b.slot():
                assert await link.client.zcard(key(link, "inflight")) == 1
                assert await link.client.zcard(key(link, "ended")) == 2
        # a's own releases then find nothing to end: still two, plus b's one
        assert await count(link, "inflight", 0) == 0
        assert await link.client.zcard(key(link, "ended")) == 3


async def test_a_waiter_cancelled_gives_up_its_place(redis_url: str) -> None:
    async with RedisLink(redis_url) as link:
        queue = key(link, "queue")
        async with limits(link, slots=1) as a, limits(link, slots=1) as b:
            async with a.slot():
                with anyio.move_on_after(0.2):
                    async with b.slot():
                        pass
                assert await link.client.zcard(queue) == 0
            with anyio.fail_after(0.5):  # a's slot is free: nobody's place blocks it
                async with a.slot():
                    pass


async def test_a_release_lost_is_ended_by_the_next_renewal(redis_url: str) -> None:
    async with RedisLink(redis_url) as link, limits(link, slots=2, lease=0.6) as a:
        lease = a.slot()
        await lease.__aenter__()
        a._live.clear()  # its release failed (Redis lost for a moment)
        a._local.release()
        assert await link.client.zcard(key(link, "inflight")) == 1
        # nothing records its end but the renewal, a third of the lease later
        assert await count(link, "inflight", 0) == 0


class RenewedOnGrant:
    """A holder's scripts, with its lease renewed right after each slot is granted, before
    the holder hears of it (as its renewal task can, any time)."""

    def __init__(self, holder: SharedLimits) -> None:
        self.holder, self.redis = holder, holder._redis

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redis, name)

    async def __call__(self, lua: str, *args: str | int | float) -> Any:
        reply = await self.redis(lua, *args)
        if lua is _ACQUIRE:
            await self.holder._renew()
        return reply


async def test_a_renewal_as_a_slot_is_granted_keeps_it(redis_url: str) -> None:
    """The slot a renewal finds granted but not yet heard of is the holder's: its request
    is about to leave, so no other holder gets it."""
    async with RedisLink(redis_url) as link, limits(link, slots=1) as a, limits(link, slots=1) as b:
        a._redis = RenewedOnGrant(a)  # type: ignore[assignment]
        async with a.slot():
            assert await link.client.zcard(key(link, "inflight")) == 1
            with anyio.move_on_after(0.3) as waited:
                async with b.slot():
                    pass
            assert waited.cancelled_caught  # the account's one slot is a's


# --- Redis lost ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["killed", "frozen"])
async def test_redis_lost_mid_run_stops_after_a_bounded_wait(
    redis_factory: Callable[..., RedisServer], fault: str
) -> None:
    server = redis_factory("--requirepass", "s3cret")
    url = server.url.replace("redis://", "redis://:s3cret@") + "/0"
    async with RedisLink(url, timeout=0.5) as link, limits(link, patience=1.0) as shared:
        async with shared.slot():
            pass
        if fault == "killed":
            server.kill()
        else:
            server.pause()
        started = time.monotonic()
        with pytest.raises(SharedLimitsUnavailable) as caught:
            async with shared.slot():
                pytest.fail("a request left without its slot")
        waited = time.monotonic() - started
        message = str(caught.value)
        assert 0.9 < waited < 3.0, waited
        assert "\n" not in message and "s3cret" not in message
        assert message.startswith(f"shared limits: Redis at redis://:***@127.0.0.1:{server.port}/0")


async def test_settings_are_checked(redis_url: str) -> None:
    async with RedisLink(redis_url) as link:
        for options, error in [
            ({"rate": 0}, "rate: must be positive"),
            ({"concurrency": 0}, "at least 1"),
            ({"lease": -1}, "lease must be positive"),
            ({"patience": float("inf")}, "patience must be positive"),
        ]:
            with pytest.raises(ConfigurationError, match=error):
                limits(link, **options)
        with pytest.raises(ConfigurationError, match="login"):
            SharedLimits(link, "", rate=None, concurrency=1)
