"""A real Redis server for the tests: Debian's `redis-server` on a free loopback port, in a
temporary directory, persistence off, stopped when its fixture ends.

Fixtures (registered in `conftest.py`):
- `redis_server`: one server for the whole session;
- `redis_url`: `redis://127.0.0.1:PORT/N`, a database of that server emptied for this test
  (tests never see each other's keys);
- `redis_factory`: `redis_factory(*options)` starts a private server (a test that kills,
  pauses or configures its server), stopped at the end of the test.

Without the binary a test needing Redis skips, except in CI (`CI=true`), where it fails:
`.ci/run` installs it.

A test module that makes Redis fail adds `COREDIS_LEAKS` to its marks: coredis 6.9 leaves
the anyio memory streams of a failed connection attempt unclosed, in a reference cycle (a
ResourceWarning when they are collected, which this suite turns into an error, in whatever
test runs then): ignored during the test, collected at its end.
"""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DATABASES = 64
_LEAK = "Unclosed <MemoryObject"
COREDIS_LEAKS = [
    pytest.mark.filterwarnings(f"ignore:{_LEAK}:ResourceWarning"),
    pytest.mark.usefixtures("collect_coredis_leaks"),
]


@pytest.fixture
def collect_coredis_leaks() -> Iterator[None]:
    """Collect failed connections' streams at the end of the test that made them."""
    yield
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _LEAK, ResourceWarning)
        gc.collect()


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": .ci/run installs it", pytrace=False)
        pytest.skip(message)
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _resp(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RedisServer:
    """One redis-server process; `url` without a database (add `/N`)."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.directory = directory
        self.options = options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, port: int | None = None) -> RedisServer:
        """Start on `port`, else on a free one."""
        binary = _binary()
        for _ in range(5):  # another process may take the free port before the server does
            self.port = port or _free_port()
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory),
                 "--databases", str(DATABASES), "--logfile", str(self.directory / "redis.log"),
                 *self.options],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    if self.command("PING").startswith((b"+PONG", b"-NOAUTH")):
                        return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server did not start:\n{log}")

    def command(self, *args: str | bytes) -> bytes:
        """One command over a fresh socket; the raw reply (the fixtures' own small needs)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(_resp(*args))
            return sock.recv(65536)

    def flush(self, db: int) -> None:
        reply = b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(_resp("SELECT", str(db)) + _resp("FLUSHDB"))
            while reply.count(b"\r\n") < 2:
                reply += sock.recv(1024)
        assert reply == b"+OK\r\n+OK\r\n", reply

    def pause(self) -> None:
        """Freeze the server: connections stay open, nothing answers (SIGSTOP)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Kill -9: the server is gone at once, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> RedisServer:
        """Back on the same port after a kill, empty (as a Redis without persistence)."""
        self.stop()
        return self.start(self.port)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="dfs-redis-") as directory:
        server = RedisServer(Path(directory)).start()
        try:
            yield server
        finally:
            server.stop()


_databases = itertools.count()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    db = next(_databases) % DATABASES
    redis_server.flush(db)
    return f"{redis_server.url}/{db}"


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    servers: list[RedisServer] = []

    def start(*options: str) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        directory.mkdir()
        servers.append(RedisServer(directory, *options))
        return servers[-1].start()

    yield start
    for server in servers:
        server.stop()
