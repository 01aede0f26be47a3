"""The threads that compute the emulator's answers, so its event loop never waits on them.

A big target's first answer takes a while (its links, its pages' summaries); computed in
the loop, it would hold every other connection's reads, answers and keep-alives meanwhile.
The server's loop hands each answer to one of a few threads and goes on. The threads start
and stop with the server (the ASGI lifespan), so they are there before the first request
and gone after the last, named for what they are.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Final, TypeVar

T = TypeVar("T")

WORKERS: Final = 4
"""Threads computing answers at once: one core's worth under the GIL, and a few more so
that a quick answer is not queued behind a big target's first one."""

Job = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class Workers:
    """`WORKERS` threads taking jobs from one queue; `run` awaits a job's result (asyncio)."""

    def __init__(self, count: int = WORKERS) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"dfs-emulator-worker-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker; a cancelled caller's job is dropped if not started."""
        future: Future[T] = Future()
        self._jobs.put((fn, args, future))
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        """Let the jobs in hand finish, then end every thread."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # the caller gets it, as from fn itself
                future.set_exception(exc)
