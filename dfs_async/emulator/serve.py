"""Serving the emulator on a real loopback socket, from sync or async code (asyncio or trio).

uvicorn runs in a background thread with its own asyncio loop, so the caller's event loop,
whichever it is, only waits (in a worker thread) for the server to start and to stop. The
socket is bound before the thread starts, so the port is known at once (port 0 picks a free
one) and nothing races for it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import anyio

from dfs_async.emulator.app import DROP_MESSAGE, Emulator
from dfs_async.emulator.config import EmulatorConfig

if TYPE_CHECKING:
    import uvicorn


@dataclass(frozen=True)
class EmulatorHandle:
    """A running emulator: where it listens, the default account, and the app to inspect."""

    base_url: str
    login: str
    password: str = field(repr=False)
    app: Emulator = field(repr=False)

    @property
    def auth(self) -> tuple[str, str]:
        return (self.login, self.password)


class _DropFilter(logging.Filter):
    """Hide uvicorn's complaint about the connections the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != DROP_MESSAGE


_uvicorn_log = logging.getLogger("uvicorn.error")
_uvicorn_log.addFilter(_DropFilter())


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on (host, port); port 0 picks a free one.

    Made with `IPPROTO_TCP` explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) on
    the connections it accepts only for sockets whose `proto` says TCP. Without it, uvicorn's
    separate writes of headers and body meet the client's delayed ACK: 40 ms per answer.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


MISSING_UVICORN = "the emulator needs uvicorn: pip install 'dfs-async[emulator]'"


def has_uvicorn() -> bool:
    """Whether the `emulator` extra is installed (checked before serving, for a clear error)."""
    return importlib.util.find_spec("uvicorn") is not None


KEEP_ALIVE: Final = 75
"""Seconds an idle connection stays open (nginx's default): longer than clients keep an
idle connection for reuse (aiohttp 15 s, httpx and httpcore 5 s), so a client never sends a
request on a connection the server is closing (which the client sees as a reset)."""


def uvicorn_config(
    app: Emulator, log_level: str = "warning", access_log: bool = False
) -> uvicorn.Config:
    """uvicorn is imported here, not at import time: the pytest plugin loads this module in
    every pytest run of a project that installed dfs-async, with or without the `emulator`
    extra."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout: the URL only
    return uvicorn.Config(
        app,
        log_config=log_config,
        lifespan="on",  # starts and stops the app's workers
        log_level=log_level,
        access_log=access_log,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=2,
    )


class _ServerThread:
    def __init__(self, app: Emulator, sock: socket.socket) -> None:
        config = uvicorn_config(app)
        import uvicorn

        self.server = uvicorn.Server(config)
        self.sock = sock
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dfs-emulator", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported to the caller by start()
            self.error = exc
        finally:
            self.ready.set()

    def start(self) -> None:
        self.thread.start()
        while not self.ready.wait(0.01):
            if self.server.started:
                return
        if self.error is not None or not self.server.started:
            raise RuntimeError(f"the emulator did not start: {self.error!r}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


@contextmanager
def serving_emulator(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[EmulatorHandle]:
    """Serve an emulator while the block runs (for sync code: a CLI, the official client)."""
    app = Emulator(config)
    sock = bind(host, port)
    runner = _ServerThread(app, sock)
    try:
        runner.start()
        yield _handle(app, sock)
    finally:
        runner.stop()


@asynccontextmanager
async def running_emulator(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[EmulatorHandle]:
    """Serve an emulator while the block runs; works under asyncio and trio alike."""
    app = Emulator(config)
    sock = bind(host, port)
    runner = _ServerThread(app, sock)
    try:
        await anyio.to_thread.run_sync(runner.start)
        yield _handle(app, sock)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(runner.stop)


def _handle(app: Emulator, sock: socket.socket) -> EmulatorHandle:
    login, password = next(iter(app.config.accounts.items()))
    return EmulatorHandle(base_url(sock), login, password, app)
