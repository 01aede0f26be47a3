"""What a finished run must not leave behind: tasks, threads, sockets, pooled connections.

Each check reads the real thing: the event loop's own task list (asyncio) or task tree
(trio), `threading.enumerate()`, this process's TCP connections to the emulator's port (as
the kernel lists them, via psutil), the httpx pool, and the emulator's count of requests in
flight (the server's word that every connection it served has ended).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import psutil  # type: ignore[import-untyped]
import sniffio

from dfs_async import DataForSEO
from dfs_async.emulator import EmulatorHandle
from dfs_async.transport import Transport


def live_tasks() -> int:
    """Every task of the running event loop (trio: the whole task tree from the root)."""
    if sniffio.current_async_library() == "asyncio":
        import asyncio

        return len(asyncio.all_tasks())
    import trio

    count = 0
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        count += 1
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return count


def port_of(emu: EmulatorHandle) -> int:
    return int(emu.base_url.rsplit(":", 1)[1])


def client_sockets(port: int) -> list[Any]:
    """This process's TCP connections *to* `port` (the client ends; the server's excluded)."""
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.laddr.port != port
    ]


async def server_settled(emu: EmulatorHandle, within: float = 10.0) -> None:
    """Wait until the emulator has no request in flight (it runs in another thread)."""
    with anyio.fail_after(within):
        while emu.app.counters.simultaneous:  # noqa: ASYNC110
            await anyio.sleep(0.01)


@asynccontextmanager
async def no_leaks(emu: EmulatorHandle) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Around a client's whole life: afterwards no new task, thread or client socket.

    Append the client's Transport (dfs.engine.transport) to the yielded list to also have
    its pool checked: closed, no connection left (whichever HTTP stack it runs on).
    """
    tasks = live_tasks()
    threads = {t.ident for t in threading.enumerate()}
    clients: list[Transport] = []
    yield clients
    for transport in clients:
        assert transport.closed, "the client's HTTP client was left open"
        assert transport.pool_state().open == 0, "a pooled connection is still open"
    assert live_tasks() == tasks, "a task outlived the client"
    extra = [t.name for t in threading.enumerate() if t.ident not in threads]
    assert extra == [], f"threads left behind: {extra}"
    assert client_sockets(port_of(emu)) == [], "a client socket to the server is still open"
    await server_settled(emu)


def open_client(emu: EmulatorHandle, **options: Any) -> DataForSEO:
    return DataForSEO(emu.login, emu.password, base_url=emu.base_url, **options)
