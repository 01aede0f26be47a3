"""A cache never fails a paid run: a store that cannot be used is found at open (one line),
a store that breaks during a run is one warning and a cache that is off. Every fault is
real: read-only and full file systems (tmpfs), a file truncated, garbage or locked by
another process, a Redis server killed or frozen."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from dfs_async.cache import Cache, CacheStats, Entry, Logs, open_cache, open_store
from dfs_async.cache.redis_store import RedisStore
from dfs_async.cache.sqlite_store import SqliteStore
from dfs_async.errors import CacheError, ConfigurationError
from dfs_async.redis_link import RedisLink
from tests.redis_server import COREDIS_LEAKS, RedisServer, _free_port

pytestmark = [pytest.mark.anyio, *COREDIS_LEAKS]

KEYS = [f"k{i}" for i in range(200)]


@contextmanager
def tmpfs(path: Path, *options: str) -> Iterator[Path]:
    """A small file system of its own at `path` (root only): full or read-only for real."""
    path.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", ",".join(("size=1m", *options)), "tmpfs", str(path)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode:
        reason = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write in (root included), holding a cache made before."""
    with tmpfs(tmp_path / "ro") as path:
        db = sqlite3.connect(path / "old.db")
        db.execute("CREATE TABLE t (x)")
        db.close()
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        with pytest.raises(OSError):
            (path / "probe").write_bytes(b"")
        yield path


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dfs_async.cache"]


def one_warning(caplog: pytest.LogCaptureFixture, *parts: str) -> str:
    [message] = warnings_of(caplog)
    assert message.startswith("cache off for the rest of this run: cache ")
    assert "\n" not in message and "secret" not in message
    for part in parts:
        assert part in message
    return message


# --- found at open: one line, before any request ---------------------------------------------


async def test_a_read_only_directory_is_refused_at_open(readonly_dir: Path) -> None:
    for path, rule in [
        (readonly_dir / "cache.db", "cannot write there"),
        (readonly_dir / "old.db", "cannot write there"),
        (readonly_dir / "sub" / "cache.db", "cannot create its directory"),
    ]:
        for opener in (open_store, open_cache):
            with pytest.raises(ConfigurationError, match=rule) as caught:
                await opener(path)
            assert str(caught.value).startswith(f"cache {path}: ")
    assert os.listdir(readonly_dir) == ["old.db"]


async def test_other_specs_that_cannot_be_a_store(tmp_path: Path) -> None:
    for spec, rule in [
        (tmp_path, "is a directory"),
        ("", "the path is empty"),
        ("http://user:secret@h/x", "http:// is not a store"),
        (42, "a file path, a redis:// URL or a store object, not int"),
        ("redis://:secret@h:port", "the port must be a number"),
    ]:
        with pytest.raises(ConfigurationError, match=rule) as caught:
            await open_cache(spec)  # type: ignore[arg-type]
        assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


async def test_an_unreachable_redis_is_refused_at_open() -> None:
    url = f"redis://:secret@127.0.0.1:{_free_port()}/0"
    with pytest.raises(ConfigurationError, match=r"^cannot use Redis at redis://:\*\*\*@"):
        await open_cache(url)


# --- a broken store: one warning, the run goes on without it ---------------------------------


async def test_a_garbage_file_is_left_alone_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    garbage = os.urandom(10000)
    path.write_bytes(garbage)
    with pytest.raises(CacheError, match="file is not a database"):
        await open_store(path)
    cache = await open_cache(path)
    await off_and_harmless(cache)
    one_warning(caplog, str(path), "file is not a database")
    assert path.read_bytes() == garbage


async def test_another_program_s_database_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name)")
    db.commit()
    db.close()
    await off_and_harmless(await open_cache(path))
    one_warning(caplog, "an SQLite file, but not a cache of dfs-async")
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_schema").fetchall() == [("users",)]
    db.close()


async def test_a_file_truncated_during_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    cache = await open_cache(path)
    await cache.put_many({k: Entry(os.urandom(3000), 0.02) for k in KEYS})
    assert None not in await cache.get_many(KEYS)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    db.close()
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 3)
    await off_and_harmless(cache)
    one_warning(caplog, "database disk image is malformed")
    # a later run finds it broken at open, warns, and goes on too
    caplog.clear()
    await off_and_harmless(await open_cache(path))
    one_warning(caplog, "malformed")


LOCK_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("DELETE FROM counters")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def hold_lock() -> Iterator[Callable[[Path], None]]:
    """`hold_lock(path)`: another process takes the file's write lock and keeps it."""
    holders: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> None:
        holder = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"

    yield hold
    for holder in holders:
        holder.communicate("", timeout=10)
        assert holder.returncode == 0


async def test_a_file_locked_by_another_process_past_the_busy_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, hold_lock: Callable[[Path], None]
) -> None:
    path = tmp_path / "cache.db"
    cache = Cache(await SqliteStore.open(path, busy_timeout=0.2))
    await cache.put_many({"a": Entry(b"A")})
    hold_lock(path)
    [entry] = await cache.get_many(["a"])  # readers are not blocked by a writer
    assert entry is not None and entry.value == b"A"
    started = time.monotonic()
    await cache.put_many({"b": Entry(b"B")})
    assert 0.2 <= time.monotonic() - started < 5
    await off_and_harmless(cache)
    one_warning(caplog, "database is locked")


async def test_a_full_disk(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with tmpfs(tmp_path / "small") as disk:
        path = disk / "cache.db"
        cache = await open_cache(path)
        await cache.put_many({"kept": Entry(b"k" * 1000, 0.02)})
        (disk / "filler").write_bytes(b"\0" * (disk_free(disk) - 60_000))
        for i in range(10):  # 150 KB more: past what is left
            await cache.put_many({f"big{i}": Entry(os.urandom(15_000))})
        await off_and_harmless(cache)
        one_warning(caplog, "database or disk is full")
        (disk / "filler").unlink()
        store = await open_store(path)  # the file is sound, and kept what was written
        try:
            [kept] = await store.get_many(["kept"], max_age=60)
            assert kept is not None and kept.value == b"k" * 1000
        finally:
            await store.close()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.close()


def disk_free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


async def test_redis_killed_during_a_run(
    redis_factory: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_factory()
    cache = await open_cache(server.url.replace("://", "://:secret@", 1) + "/0", ttl=60)
    # (a server without a password takes any: the URL's password is never shown)
    await cache.put_many({"a": Entry(b"A", 0.02)})
    assert (await cache.get_many(["a"]))[0] is not None
    server.kill()
    started = time.monotonic()
    await off_and_harmless(cache)
    assert time.monotonic() - started < 10
    one_warning(caplog, "cache redis://:***@127.0.0.1:", "Unable to establish a connection")


async def test_redis_frozen_during_a_run(
    redis_factory: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_factory()
    cache = Cache(await RedisStore.open(RedisLink(f"{server.url}/0", timeout=0.2)), ttl=60)
    await cache.put_many({"a": Entry(b"A", 0.02)})
    server.pause()
    try:
        started = time.monotonic()
        await off_and_harmless(cache)
        assert time.monotonic() - started < 5
    finally:
        server.resume()
    one_warning(caplog, "timed out")


class Failing:
    """A store of someone else's that fails or hangs."""

    def __init__(self, fail: Callable[[], object]) -> None:
        self.fail = fail
        self.closed = False

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        self.fail()
        await anyio.sleep(60)
        return []

    async def put_many(
        self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
    ) -> None:
        raise AssertionError("never called once off")

    async def read_log(self, log: str, after: str) -> tuple[list[bytes], str]:
        self.fail()
        await anyio.sleep(60)
        return [], after

    async def add_hits(self, hits: int, saved: float) -> None:
        raise AssertionError("never called once off")

    async def stats(self) -> CacheStats:
        return CacheStats()

    async def prune(self) -> int:
        return 0

    async def clear(self) -> int:
        return 0

    async def close(self) -> None:
        self.closed = True


def _raise() -> None:
    raise KeyError("broken")


@pytest.mark.parametrize(("fail", "reason"), [(_raise, "KeyError: 'broken'"), (lambda: None, "")])
async def test_a_store_of_your_own_that_fails_or_hangs(
    fail: Callable[[], object], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Failing(fail)
    cache = Cache(store, timeout=0.2)
    started = time.monotonic()
    await off_and_harmless(cache)
    assert time.monotonic() - started < 5
    one_warning(caplog, reason or "TimeoutError: no answer in time")
    assert store.closed


async def off_and_harmless(cache: Cache) -> None:
    """After its fault: every get a miss, every put dropped, close quiet, nothing raised."""
    assert await cache.get_many(KEYS) == [None] * len(KEYS)
    assert not cache.on
    await cache.put_many({"new": Entry(b"n")})
    assert await cache.get_many(["new"]) == [None]
    await cache.close()
