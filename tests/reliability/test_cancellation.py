"""Cancellation and timeouts, on asyncio and trio: breaking out of a stream, the caller's
scope cancelled (a deadline, or another task), a request that outlives its timeout.

After each: no task left running, no thread, every connection back in the pool while the
client is open and closed with it, no socket to the server left, and the server has no
request in flight (tests/reliability/leaks.py). The requests are slow (emulator latency),
so there is always work in flight when the cancellation comes.
"""

from __future__ import annotations

import re

import anyio
import pytest

from dfs_async import DataForSEO, RetryPolicy, TaskFailed
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, running_emulator

from .leaks import live_tasks, no_leaks, open_client

pytestmark = pytest.mark.anyio

SLOW = FaultConfig(seed=1, latency_min=0.05, latency_max=0.2)
TARGETS = [f"slow{i}.example.com" for i in range(2000)]


def _config(**fields: object) -> EmulatorConfig:
    return EmulatorConfig(seed=5, min_pages=30, max_pages=200, **fields)  # type: ignore[arg-type]


def _idle(dfs: DataForSEO) -> None:
    """Every pooled connection idle or closed: none is held by a cancelled request."""
    state = dfs.engine.transport.pool_state()
    assert state.busy == 0 and state.requests == 0, state


async def _still_works(dfs: DataForSEO, emu: EmulatorHandle) -> None:
    page = await dfs.backlinks.domain_pages_summary("after.example.com", limit=3)
    assert len(page.items) == 3


async def test_breaking_out_of_a_stream(anyio_backend: str) -> None:
    async with (
        running_emulator(_config(faults=SLOW)) as emu,
        no_leaks(emu) as clients,
        open_client(emu, concurrency=10) as dfs,
    ):
        clients.append(dfs.engine.transport)
        tasks = live_tasks()
        async with dfs.backlinks.domain_pages_summary.stream(TARGETS, limit=10) as records:
            got = 0
            async for _ in records:
                got += 1
                if got == 25:
                    break
        assert live_tasks() == tasks
        _idle(dfs)
        await _still_works(dfs, emu)


@pytest.mark.parametrize("where", ["around-the-stream", "around-the-client"])
async def test_the_callers_deadline(anyio_backend: str, where: str) -> None:
    async with running_emulator(_config(faults=SLOW)) as emu, no_leaks(emu) as clients:
        got = 0
        if where == "around-the-stream":
            async with open_client(emu, concurrency=10) as dfs:
                clients.append(dfs.engine.transport)
                with anyio.move_on_after(0.5) as scope:
                    async with dfs.backlinks.domain_pages_summary.stream(TARGETS) as records:
                        async for _ in records:
                            got += 1
                assert scope.cancelled_caught
                _idle(dfs)
                await _still_works(dfs, emu)
        else:
            # the deadline covers opening the client too (the account read), which a loaded
            # machine can stretch: long enough to send some, far too short to send all 2,000
            with anyio.move_on_after(2.0) as scope:
                async with open_client(emu, concurrency=10) as dfs:
                    clients.append(dfs.engine.transport)
                    async with dfs.backlinks.domain_pages_summary.stream(TARGETS) as records:
                        async for _ in records:
                            got += 1
            assert scope.cancelled_caught
        assert 0 < emu.app.counters.requests < len(TARGETS)


async def test_cancelled_from_another_task(anyio_backend: str) -> None:
    async with (
        running_emulator(_config(faults=SLOW)) as emu,
        no_leaks(emu) as clients,
        open_client(emu, concurrency=10) as dfs,
    ):
        clients.append(dfs.engine.transport)

        async def consume(scope: anyio.CancelScope) -> None:
            with scope:
                async with dfs.backlinks.domain_pages_summary.stream(TARGETS) as records:
                    async for _ in records:
                        pass

        scope = anyio.CancelScope()
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume, scope)
            with anyio.fail_after(10):
                while emu.app.counters.simultaneous < 3:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            scope.cancel()
        assert scope.cancel_called
        _idle(dfs)
        await _still_works(dfs, emu)


async def test_a_request_timeout(anyio_backend: str) -> None:
    """The server takes 1 s, the client waits 0.2 s: each try gives up, the target fails after
    its attempts, and the abandoned requests leave nothing behind on either side."""
    late = FaultConfig(latency_min=1.0, latency_max=1.0)
    policy = RetryPolicy(max_attempts=2, base=0.01, cap=0.01)
    timeout = re.compile(r"(?i)timeout|no complete answer")
    async with (
        running_emulator(_config(faults=late)) as emu,
        no_leaks(emu) as clients,
        open_client(emu, timeout=0.2, retry_policy=policy, rate=None) as dfs,
    ):
        clients.append(dfs.engine.transport)
        with anyio.fail_after(5):
            with pytest.raises(TaskFailed) as failed:
                await dfs.backlinks.domain_pages_summary("late.example.com")
            async with dfs.backlinks.domain_pages_summary.stream(["a.com", "b.com"]) as records:
                assert [r async for r in records] == []
        assert failed.value.status_code is None
        assert timeout.search(failed.value.status_message)
        assert [f.attempts for f in records.failures] == [2, 2]
        assert all(timeout.search(f.status_message) for f in records.failures)
        assert dfs.stats.requests == 6
        _idle(dfs)
