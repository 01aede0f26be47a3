"""Both stores keep the same promises: a local SQLite file and a real Redis server, under
asyncio and trio."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from dfs_async.cache import (
    Cache,
    CacheStats,
    CacheStore,
    Entry,
    open_cache,
    open_store,
    sqlite_store,
)
from dfs_async.cache.redis_store import RedisStore
from dfs_async.cache.safe import SLOW_AHEAD
from dfs_async.cache.sqlite_store import (
    EXTERNAL,
    EXTERNAL_RECORD,
    ORPHAN_AGE,
    SCHEMA_VERSION,
    SqliteStore,
    _hash,
)
from tests.redis_server import COREDIS_LEAKS

pytestmark = [pytest.mark.anyio, *COREDIS_LEAKS]


@pytest.fixture(params=["sqlite", "redis"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(tmp_path / "sub" / "cache.db")  # its directory made on open


@pytest.fixture
async def store(spec: str) -> AsyncIterator[CacheStore]:
    opened = await open_store(spec)
    yield opened
    await opened.close()


async def test_the_spec_picks_the_store(spec: str) -> None:
    opened = await open_store(spec)
    try:
        assert isinstance(opened, RedisStore if spec.startswith("redis") else SqliteStore)
        assert isinstance(opened, CacheStore)
        assert await open_store(opened) is opened  # your own store, as it is
    finally:
        await opened.close()


async def test_entries_come_back_as_stored_in_the_order_asked(store: CacheStore) -> None:
    page = bytes(range(256)) * 4000  # a 1 MB page, every byte value
    stored = {"page": Entry(page, 0.05, 1000.5), "empty": Entry(b"", 0.0), "x": Entry(b"{}")}
    await store.put_many(stored, ttl=1e12)  # stored_at 1000.5: kept from then on
    got = await store.get_many(["missing", "x", "page", "empty", "page"], max_age=1e12)
    assert got == [None, stored["x"], stored["page"], stored["empty"], stored["page"]]
    assert await store.get_many([], max_age=60) == []


async def test_an_entry_stored_long_ago_is_already_gone(store: CacheStore) -> None:
    await store.put_many({"old": Entry(b"o", stored_at=time.time() - 120)}, ttl=60)
    assert await store.get_many(["old"], max_age=1e12) == [None]


async def test_a_put_replaces(store: CacheStore) -> None:
    await store.put_many({"k": Entry(b"old", 0.02)}, ttl=60)
    await store.put_many({"k": Entry(b"new", 0.03)}, ttl=60)
    [entry] = await store.get_many(["k"], max_age=60)
    assert entry is not None and (entry.value, entry.cost) == (b"new", 0.03)
    assert (await store.stats()).entries == 1


async def test_many_keys_at_once(store: CacheStore) -> None:
    entries = {f"key{i}": Entry(f"value{i}".encode(), 0.00003) for i in range(1200)}
    await store.put_many(entries, ttl=60)
    wanted = [f"key{i}" for i in range(1300)]
    got = await store.get_many(wanted, max_age=60)
    assert got[:1200] == list(entries.values())
    assert got[1200:] == [None] * 100


async def test_an_entry_expires_after_its_ttl(store: CacheStore) -> None:
    await store.put_many({"short": Entry(b"s")}, ttl=0.3)
    await store.put_many({"long": Entry(b"l")}, ttl=60)
    assert None not in await store.get_many(["short", "long"], max_age=60)
    await anyio.sleep(0.5)
    assert [e and e.value for e in await store.get_many(["short", "long"], max_age=60)] == [
        None,
        b"l",
    ]
    dropped = await store.prune()
    assert dropped == (0 if isinstance(store, RedisStore) else 1)  # Redis dropped it itself
    stats = await store.stats()
    assert (stats.entries, stats.expired) == (1, 0)


async def test_a_read_can_ask_for_younger_entries(store: CacheStore) -> None:
    now = time.time()
    await store.put_many({"old": Entry(b"o", stored_at=now - 100)}, ttl=1000)
    await store.put_many({"young": Entry(b"y", stored_at=now - 10)}, ttl=1000)
    got = await store.get_many(["old", "young"], max_age=50)
    assert got[0] is None and got[1] is not None and got[1].value == b"y"
    assert None not in await store.get_many(["old", "young"], max_age=500)


async def test_stats_prune_and_clear(store: CacheStore) -> None:
    assert await store.stats() == CacheStats()
    await store.put_many({"a": Entry(b"12345", 0.02, 1000.0)}, ttl=1e12)
    await store.put_many({"b": Entry(b"123", 0.02, 3000.0), "c": Entry(b"", 0, 2000.0)}, ttl=1e12)
    await store.add_hits(3, 0.06)
    await store.add_hits(1, 0.02)
    await store.add_hits(0, 0.0)
    stats = await store.stats()
    assert (stats.entries, stats.bytes, stats.oldest, stats.newest) == (3, 8, 1000.0, 3000.0)
    assert (stats.expired, stats.hits, stats.saved) == (0, 4, pytest.approx(0.08))
    assert await store.clear() == 3
    assert await store.stats() == CacheStats()
    assert await store.get_many(["a", "b"], max_age=1e12) == [None, None]


async def test_a_log_is_read_in_order_from_where_a_reader_stopped(spec: str) -> None:
    """Records come back in the order they were added, each once to a reader that goes on
    from where it stopped; another store on the same spec (another process's) adds to the
    same log; logs of other names are apart; `clear` drops them."""
    writer, reader = await open_store(spec), await open_store(spec)
    try:
        assert await reader.read_log("a", "") == ([], "")
        await writer.put_many({}, ttl=60, logs={"a": [b"1", b"2"]})
        await writer.put_many({}, ttl=60, logs={"b": [b"other"]})
        await writer.put_many({}, ttl=60, logs={"a": [b"3"]})
        records, after = await reader.read_log("a", "")
        assert records == [b"1", b"2", b"3"]
        assert await reader.read_log("a", after) == ([], after)
        await reader.put_many({}, ttl=60, logs={"a": [bytes(range(256)), b""]})  # any bytes
        await writer.put_many({}, ttl=60, logs={"a": [b"4"]})
        records, after = await reader.read_log("a", after)
        assert records == [bytes(range(256)), b"", b"4"]
        assert (await writer.read_log("b", ""))[0] == [b"other"]
        await writer.clear()
        assert await reader.read_log("a", "") == ([], "")
        await writer.put_many({}, ttl=60, logs={"a": [b"5"]})  # after a clear, a reader goes on
        assert (await reader.read_log("a", after))[0] == [b"5"]
    finally:
        await reader.close()  # the last opened first (a Redis store's task group)
        await writer.close()


async def test_a_log_s_records_go_with_their_ttl(store: CacheStore) -> None:
    await store.put_many({}, ttl=0.2, logs={"log": [b"short"]})
    await anyio.sleep(0.4)
    assert await store.read_log("log", "") == ([], "")
    await store.put_many({}, ttl=60, logs={"log": [b"long"]})
    # a record that lives briefly never cuts the long one's life short
    await store.put_many({}, ttl=0.2, logs={"log": [b"brief"]})
    await anyio.sleep(0.4)
    assert (await store.read_log("log", ""))[0][0] == b"long"
    await store.prune()
    assert (await store.read_log("log", ""))[0][0] == b"long"
    if isinstance(store, SqliteStore):  # pruned: gone from the file
        db = sqlite3.connect(store.path)
        assert db.execute("SELECT record FROM logs").fetchall() == [(b"long",)]
        db.close()


async def test_a_cleared_file_gives_its_space_back(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    store = await open_store(path)
    await store.put_many({f"k{i}": Entry(bytes(5000)) for i in range(400)}, ttl=60)
    await store.close()
    full = path.stat().st_size
    assert full > 2_000_000
    store = await open_store(path)
    assert await store.clear() == 400
    await store.close()
    assert path.stat().st_size < full / 20


async def test_tasks_share_a_store(store: CacheStore) -> None:
    async def worker(n: int) -> None:
        for i in range(20):
            await store.put_many({f"{n}-{i}": Entry(b"%d" % i, 0.01)}, ttl=60)
            [entry] = await store.get_many([f"{n}-{i}"], max_age=60)
            assert entry is not None and entry.value == b"%d" % i

    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(worker, n)
    assert (await store.stats()).entries == 200


async def test_the_cache_counts_hits_and_keeps_them(spec: str) -> None:
    cache = await open_cache(spec, ttl=60)
    assert cache.on
    await cache.put_many({"a": Entry(b"A", 0.02), "b": Entry(b"B", 0.03)})
    got = await cache.get_many(["a", "b", "c", "a"])
    assert [e and e.value for e in got] == [b"A", b"B", None, b"A"]
    cache.served(3, sum(e.cost for e in got if e is not None))
    assert (cache.hits, cache.saved) == (3, pytest.approx(0.07))
    await cache.close()
    await cache.close()  # twice is fine
    assert await cache.get_many(["a"]) == [None]  # closed: a miss, no error
    again = await open_store(spec)
    try:
        stats = await again.stats()
        assert (stats.hits, stats.saved) == (3, pytest.approx(0.07))
    finally:
        await again.close()


async def test_the_cache_s_ttl_is_the_age_it_accepts(spec: str) -> None:
    writer = await open_cache(spec, ttl=1000)
    await writer.put_many({"k": Entry(b"v", stored_at=time.time() - 120)})
    await writer.close()
    strict, loose = await open_cache(spec, ttl=60), await open_cache(spec, ttl=600)
    try:
        assert await strict.get_many(["k"]) == [None]
        assert [e and e.value for e in await loose.get_many(["k"])] == [b"v"]
    finally:
        await loose.close()
        await strict.close()


async def test_redis_stats_walk_many_entries_of_their_own_prefix(redis_url: str) -> None:
    mine, other = await open_store(redis_url), await open_store(redis_url, prefix="other:")
    try:
        start = float(int(time.time()) - 3000)
        await mine.put_many({f"k{i}": Entry(b"xy", 0.0, start + i) for i in range(2500)}, ttl=1e4)
        await other.put_many({"k": Entry(b"z")}, ttl=60)
        stats = await mine.stats()  # 2,500 keys: several SCAN steps
        assert (stats.entries, stats.bytes) == (2500, 5000)
        assert (stats.oldest, stats.newest) == (start, start + 2499)
        assert await mine.clear() == 2500
        assert (await other.stats()).entries == 1
    finally:
        await other.close()
        await mine.close()


async def test_a_cache_needs_a_positive_ttl(spec: str) -> None:
    from dfs_async.errors import ConfigurationError

    for ttl in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ConfigurationError, match="TTL must be a positive number"):
            await open_cache(spec, ttl=ttl)
    with pytest.raises(ConfigurationError):
        Cache(None, ttl=0)


def allocated(path: Path) -> int:
    """The bytes the file system holds for `path` (holes not counted)."""
    return path.stat().st_blocks * 512


async def test_large_values_go_to_a_segment_and_their_space_comes_back(tmp_path: Path) -> None:
    path, now = tmp_path / "cache.db", time.time()
    blobs = tmp_path / "cache.db-blobs"
    store = await SqliteStore.open(path)
    big, small = os.urandom(EXTERNAL), b"s" * 100
    entries = {
        "ab12": Entry(big, 0.05, now),
        "small": Entry(small),
        "cd34": Entry(big, 0, now - 90),
    }
    await store.put_many(entries, ttl=60)
    [segment] = blobs.iterdir()  # one file for every large value of this store
    assert segment.suffix == ".seg"
    got = await store.get_many(["ab12", "small", "cd34"], max_age=60)
    assert [e and e.value for e in got] == [big, small, None]  # "cd34" expired
    stats = await store.stats()
    assert (stats.entries, stats.bytes, stats.expired) == (2, len(big) + len(small), 1)

    # a value replaced, or expired and pruned: its space is given back at once
    held = allocated(segment)
    newer = os.urandom(2 * EXTERNAL)
    await store.put_many({"ab12": Entry(newer, 0.05, now)}, ttl=60)
    assert allocated(segment) <= held - len(big) + 4096
    held = allocated(segment)
    assert await store.prune() == 1
    assert allocated(segment) <= held - len(big) + 4096
    assert [e and e.value for e in await store.get_many(["ab12"], max_age=60)] == [newer]

    # another writer's segments: one without rows, old (stopped between its value and its
    # row), is removed; a recent one is kept; an old one with values is cut to its last
    other = await SqliteStore.open(path)
    await other.put_many({"ef56": Entry(big, 0.01, now)}, ttl=60)
    [theirs] = set(blobs.iterdir()) - {segment}
    assert theirs.stat().st_size > 4 * len(big)  # space taken ahead
    orphan, fresh = blobs / "0000000000000000.seg", blobs / "1111111111111111.seg"
    for file, age in ((orphan, 2 * ORPHAN_AGE), (fresh, 0), (theirs, 2 * ORPHAN_AGE)):
        file.touch()
        os.utime(file, (now - age, now - age))
    assert await store.prune() == 0
    assert sorted(blobs.iterdir()) == sorted([segment, fresh, theirs])
    assert theirs.stat().st_size == len(big)
    assert [e and e.value for e in await store.get_many(["ef56"], max_age=60)] == [big]
    await other.close()

    # a segment taken meanwhile (by `clear` elsewhere): its values are misses, their rows
    # dropped by `prune`, and its writer starts another
    segment.unlink()
    assert await store.get_many(["ab12"], max_age=60) == [None]
    assert await store.prune() == 1
    await store.put_many({"gh78": Entry(big)}, ttl=60)
    assert [e and e.value for e in await store.get_many(["gh78"], max_age=60)] == [big]
    assert await store.clear() == 3 and not blobs.exists()
    await store.put_many({"gh78": Entry(big)}, ttl=60)  # a writer goes on after a clear
    assert [e and e.value for e in await store.get_many(["gh78"], max_age=60)] == [big]
    await store.close()
    [segment] = blobs.iterdir()
    assert segment.stat().st_size == len(big)  # the space taken ahead given back on close


async def test_a_large_record_goes_to_a_segment_and_its_space_comes_back(tmp_path: Path) -> None:
    """A log's large record (a bulk answer's targets) is written to the segment, not to the
    file's log, read from there in its place among the others, kept by `prune` while it
    lives (its segment not cut short) and given back once it expired."""
    path = tmp_path / "cache.db"
    store, other = await SqliteStore.open(path), await SqliteStore.open(path)
    big, brief = os.urandom(EXTERNAL_RECORD), os.urandom(2 * EXTERNAL_RECORD)
    await store.put_many({}, ttl=60, logs={"log": [b"small", big]})
    await store.put_many({}, ttl=0.2, logs={"log": [brief]})
    db = sqlite3.connect(path)
    stored = db.execute("SELECT record IS NULL, segment IS NOT NULL FROM logs ORDER BY id")
    assert stored.fetchall() == [(0, 0), (1, 1), (1, 1)]
    assert (await other.read_log("log", ""))[0] == [b"small", big, brief]
    [segment] = store.blobs.iterdir()
    held = allocated(segment)
    await anyio.sleep(0.4)
    assert await other.prune() == 0  # the brief one expired: its space given back
    assert allocated(segment) <= held - len(brief) + 4096
    old = time.time() - 2 * ORPHAN_AGE
    os.utime(segment, (old, old))  # nobody writes it any more: cut to its last live value
    assert await other.prune() == 0
    assert segment.stat().st_size == len(big)
    records, after = await other.read_log("log", "")
    assert records == [b"small", big]
    await store.close()
    segment.unlink()  # taken (by `clear` elsewhere): its records are left out, rows pruned
    assert await other.read_log("log", "") == ([b"small"], after)
    await other.prune()
    assert db.execute("SELECT count(*) FROM logs").fetchone() == (1,)
    db.close()
    await other.close()


async def test_a_record_pruned_while_it_is_read_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its row is gone between the read of the rows and of its bytes (its space given back,
    or its segment taken): what was read is not served, and a reader goes on after it."""
    path = tmp_path / "cache.db"
    store, other = await SqliteStore.open(path), await SqliteStore.open(path)
    big = os.urandom(EXTERNAL_RECORD)
    await store.put_many({}, ttl=60, logs={"log": [big]})
    pread, read = os.pread, []

    def cleared_meanwhile(fd: int, size: int, offset: int) -> bytes:
        monkeypatch.setattr(os, "pread", pread)
        anyio.from_thread.run(other.clear)
        read.append(pread(fd, size, offset))
        return read[-1]

    monkeypatch.setattr(os, "pread", cleared_meanwhile)
    records, after = await store.read_log("log", "")
    assert (records, read) == ([], [big])  # read (the file was open), and left out
    await other.put_many({}, ttl=60, logs={"log": [big]})
    assert await store.read_log("log", after) == ([big], str(int(after) + 1))
    await store.close()
    await other.close()


async def test_a_large_value_is_written_ahead_and_its_row_follows(tmp_path: Path) -> None:
    """`write_ahead` writes a large value at once (found by a get from then on, in this
    store object; committed by the next `put_many`, entries or not); a small one is left to
    the batch; a value written ahead and never committed gives its space back."""
    path = tmp_path / "cache.db"
    store, other = await SqliteStore.open(path), await SqliteStore.open(path)
    big, newer, now = os.urandom(2 * EXTERNAL), os.urandom(2 * EXTERNAL), time.time()

    def on_disk(key: str) -> tuple[Path, int, bytes]:
        """Where `key`'s value written ahead is, and what the file holds there now."""
        p = store._ahead[key].place
        file = store.blobs / p.segment
        return file, p.offset, file.read_bytes()[p.offset : p.offset + p.size]

    assert not store.write_ahead("small", Entry(b"s" * 100), ttl=60)
    assert store.write_ahead("ab12", Entry(big, 0.05, now), ttl=60)
    segment, first, there = on_disk("ab12")
    assert there == big  # written now
    [found] = await store.get_many(["ab12"], max_age=60)
    assert found == Entry(big, 0.05, now)
    assert await other.get_many(["ab12"], max_age=60) == [None]  # no row yet
    assert await store.get_many(["ab12"], max_age=0.0) == [None]  # too old for this reader

    # put again before its row was committed: the first value's space is punched out by
    # the next batch (which commits the newer)
    assert store.write_ahead("ab12", Entry(newer, 0.02, now), ttl=60)
    await store.put_many({}, ttl=60, logs={"log": [b"ab12"]})  # the row, then the record
    assert segment.read_bytes()[first : first + len(big)] == bytes(len(big))
    assert not store._ahead
    [found] = await other.get_many(["ab12"], max_age=60)
    assert found == Entry(newer, 0.02, now)
    assert (await other.read_log("log", ""))[0] == [b"ab12"]
    assert (await store.stats()).entries == 1

    # put in a batch after it was written ahead: the batch's value wins, the other's space
    # comes back
    assert store.write_ahead("ef56", Entry(big), ttl=60)
    segment, at, _ = on_disk("ef56")
    await store.put_many({"ef56": Entry(b"small")}, ttl=60)
    assert "ef56" not in store._ahead
    assert segment.read_bytes()[at : at + len(big)] == bytes(len(big))
    assert [e and e.value for e in await other.get_many(["ef56"], max_age=60)] == [b"small"]

    # one the cache failed before committing: its space comes back when the store closes
    assert store.write_ahead("cd34", Entry(big), ttl=60)
    segment, at, there = on_disk("cd34")
    assert there == big
    await store.close()
    assert segment.read_bytes()[at : at + len(big)] == bytes(len(big))
    [found] = await other.get_many(["ab12"], max_age=60)
    assert found is not None and found.value == newer
    assert await other.get_many(["cd34"], max_age=60) == [None]
    await other.close()


async def test_one_batch_at_a_time_and_the_next_commits_what_came_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two batches never run at once (what one takes of the values written ahead is its
    alone); a key written ahead again during the first is committed by the second, which
    gives the first value's space back."""
    store = await SqliteStore.open(tmp_path / "cache.db")
    first, second = os.urandom(EXTERNAL), os.urandom(EXTERNAL)
    assert store.write_ahead("ab12", Entry(first), ttl=60)
    place = store._ahead["ab12"].place
    transaction, inside = sqlite_store._transaction, []

    @contextlib.contextmanager
    def meanwhile(db: sqlite3.Connection) -> Iterator[None]:
        inside.append("begin")
        if len(inside) == 1:  # the first batch: the key written ahead again
            assert store.write_ahead("ab12", Entry(second), ttl=60)
        time.sleep(0.05)  # long enough for another batch to overlap, were it let
        with transaction(db):
            yield
        inside.append("end")

    monkeypatch.setattr(sqlite_store, "_transaction", meanwhile)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(store.put_many, {"x": Entry(b"x")}, ttl=60))
        await anyio.sleep(0.01)
        tg.start_soon(functools.partial(store.put_many, {"y": Entry(b"y")}, ttl=60))
    assert inside == ["begin", "end", "begin", "end"]  # one batch at a time
    monkeypatch.undo()

    segment = store.blobs / place.segment
    assert segment.read_bytes()[place.offset : place.offset + place.size] == bytes(place.size)
    other = await SqliteStore.open(tmp_path / "cache.db")
    [found] = await other.get_many(["ab12"], max_age=60)
    assert found is not None and found.value == second
    await other.close()
    await store.close()


async def test_a_value_superseded_during_a_batch_is_read_until_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch under way commits the value it took; its space is not given back while
    that row names it (never a hole's zeros), only once the next batch replaced it."""
    store = await SqliteStore.open(tmp_path / "cache.db")
    other = await SqliteStore.open(tmp_path / "cache.db")
    first, second = os.urandom(EXTERNAL), os.urandom(EXTERNAL)
    assert store.write_ahead("ab12", Entry(first), ttl=60)
    transaction = sqlite_store._transaction

    @contextlib.contextmanager
    def meanwhile(db: sqlite3.Connection) -> Iterator[None]:
        assert store.write_ahead("ab12", Entry(second), ttl=60)
        with transaction(db):
            yield

    monkeypatch.setattr(sqlite_store, "_transaction", meanwhile)
    await store.put_many({}, ttl=60)  # commits the first
    monkeypatch.undo()
    [found] = await other.get_many(["ab12"], max_age=60)
    assert found is not None and found.value == first  # not a hole: still its bytes
    await store.put_many({}, ttl=60)  # commits the second
    [found] = await other.get_many(["ab12"], max_age=60)
    assert found is not None and found.value == second
    await other.close()
    await store.close()


async def test_the_cache_keeps_no_bytes_a_store_wrote_ahead(tmp_path: Path) -> None:
    """With the local store, a large answer put is written at once: the cache's buffer
    holds its row alone, a get finds it meanwhile, and the next flush commits it."""
    cache = await open_cache(str(tmp_path / "cache.db"), ttl=60)
    big = os.urandom(EXTERNAL)
    cache.put("ab12", Entry(big, 0.05))
    cache.put("small", Entry(b"s", 0.01))
    assert cache._pending_bytes == 1 and not cache.due  # the small one's byte alone
    assert [e and e.value for e in await cache.get_many(["ab12", "small"])] == [big, b"s"]
    await cache.flush()
    assert not cache.due and cache._taken == 0
    reader = await open_store(str(tmp_path / "cache.db"))
    assert [e and e.value for e in await reader.get_many(["ab12", "small"], max_age=60)] == [
        big,
        b"s",
    ]
    await reader.close()
    await cache.close()


async def test_a_slow_write_ahead_leaves_the_bytes_to_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A write ahead that blocked the event loop longer than `SLOW_AHEAD` (a disk the
    kernel makes wait): from then on the batch carries the bytes, off the event loop."""
    cache = await open_cache(str(tmp_path / "cache.db"), ttl=60)
    store = cache._store
    assert isinstance(store, SqliteStore)
    write_ahead = store.write_ahead

    def slow(key: str, entry: Entry, *, ttl: float) -> bool:
        time.sleep(SLOW_AHEAD * 1.5)
        return write_ahead(key, entry, ttl=ttl)

    monkeypatch.setattr(store, "write_ahead", slow)
    cache = Cache(store, ttl=60)  # a cache over the slowed store
    big = os.urandom(EXTERNAL)
    with caplog.at_level(logging.INFO, logger="dfs_async.cache"):
        cache.put("ab12", Entry(big))  # slow, but written
        cache.put("cd34", Entry(big))  # in the batch
    assert cache._taken == 1 and cache._pending_bytes == len(big)
    assert "slow to write ahead" in caplog.text and cache.on
    await cache.close()
    reader = await open_store(str(tmp_path / "cache.db"))
    got = await reader.get_many(["ab12", "cd34"], max_age=60)
    assert [e and e.value for e in got] == [big, big]
    await reader.close()


async def test_a_write_ahead_that_fails_turns_the_cache_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No segment can be made (a file where its directory goes: root too is refused): one
    warning, the cache off, the answer dropped, and nothing raised to the run."""
    cache = await open_cache(str(tmp_path / "cache.db"), ttl=60)
    (tmp_path / "cache.db-blobs").write_bytes(b"not a directory")
    with caplog.at_level(logging.WARNING, logger="dfs_async.cache"):
        cache.put("ab12", Entry(os.urandom(EXTERNAL)))
    assert not cache.on and cache._taken == 0
    assert "cache off for the rest of this run" in caplog.text
    assert "Not a directory" in caplog.text or "File exists" in caplog.text
    await cache.close()


async def test_a_value_replaced_while_it_is_read_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer replaces a large value (and gives its space back) between the read of
    its row and of its bytes: what was read is a hole now, so it is not served."""
    path = tmp_path / "cache.db"
    store, other = await SqliteStore.open(path), await SqliteStore.open(path)
    old, new = os.urandom(EXTERNAL), os.urandom(EXTERNAL)
    await store.put_many({"ab12": Entry(old)}, ttl=60)
    pread, read = os.pread, []

    def replaced_meanwhile(fd: int, size: int, offset: int) -> bytes:
        monkeypatch.setattr(os, "pread", pread)
        anyio.from_thread.run(functools.partial(other.put_many, {"ab12": Entry(new)}, ttl=60))
        read.append(pread(fd, size, offset))
        return read[-1]

    monkeypatch.setattr(os, "pread", replaced_meanwhile)
    assert await store.get_many(["ab12"], max_age=60) == [None]
    assert read == [bytes(len(old))]  # the hole its space left
    assert [e and e.value for e in await store.get_many(["ab12"], max_age=60)] == [new]
    await store.close()
    await other.close()


async def test_a_cache_of_the_version_before_keeps_its_small_entries(tmp_path: Path) -> None:
    """Version 2 kept each large value in a file of its own: those entries are dropped (a
    cache: fetched again when asked), the rest kept."""
    path, blobs = tmp_path / "cache.db", tmp_path / "cache.db-blobs"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE entries (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE,
            key TEXT NOT NULL, stored_at REAL NOT NULL, expires_at REAL NOT NULL,
            cost REAL NOT NULL, size INTEGER NOT NULL, value BLOB);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
        INSERT INTO counters VALUES ('hits', 7);
        PRAGMA user_version = 2;
        """
    )
    now = time.time()
    rows = [
        (_hash("small"), "small", now, now + 60, 0.02, 5, b"small"),
        (_hash("ab12"), "ab12", now, now + 60, 0, 9, None),
    ]
    db.executemany("INSERT INTO entries VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    (blobs / "ab").mkdir(parents=True)
    (blobs / "ab" / "ab12").write_bytes(b"old value")
    store = await SqliteStore.open(path)
    got = await store.get_many(["small", "ab12"], max_age=60)
    assert [e and e.value for e in got] == [b"small", None]
    assert (await store.stats()).hits == 7
    assert list(blobs.iterdir()) == []
    await store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


async def test_a_cache_of_version_3_gains_its_logs_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE entries (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE,
            key TEXT NOT NULL, stored_at REAL NOT NULL, expires_at REAL NOT NULL,
            cost REAL NOT NULL, size INTEGER NOT NULL, value BLOB, segment TEXT,
            offset INTEGER);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
        PRAGMA user_version = 3;
        """
    )
    now = time.time()
    row = (_hash("small"), "small", now, now + 60, 0.02, 5, b"small", None, None)
    db.execute("INSERT INTO entries VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    db.commit()
    db.close()
    store = await SqliteStore.open(path)
    try:
        [entry] = await store.get_many(["small"], max_age=60)
        assert entry is not None and entry.value == b"small"
        await store.put_many({}, ttl=60, logs={"log": [b"one"]})
        assert (await store.read_log("log", ""))[0] == [b"one"]
    finally:
        await store.close()


async def test_a_cache_of_version_4_drops_its_log_and_keeps_its_entries(tmp_path: Path) -> None:
    """Version 4 kept every record in the file's log: the records are dropped (their bulk
    answers fetched again when asked), the entries kept."""
    path = tmp_path / "cache.db"
    store = await SqliteStore.open(path)
    await store.put_many({"small": Entry(b"small")}, ttl=60, logs={"log": [b"old"]})
    await store.close()
    db = sqlite3.connect(path)
    db.executescript(
        """
        DROP TABLE logs;
        CREATE TABLE logs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
            expires_at REAL NOT NULL, record BLOB NOT NULL);
        CREATE INDEX logs_by_name ON logs (name, id);
        INSERT INTO logs (name, expires_at, record) VALUES ('log', 1e12, x'6f6c64');
        PRAGMA user_version = 4;
        """
    )
    db.close()
    store = await SqliteStore.open(path)
    try:
        assert await store.read_log("log", "") == ([], "")
        [entry] = await store.get_many(["small"], max_age=60)
        assert entry is not None and entry.value == b"small"
        big = os.urandom(EXTERNAL_RECORD)
        await store.put_many({}, ttl=60, logs={"log": [b"one", big]})
        assert (await store.read_log("log", ""))[0] == [b"one", big]
    finally:
        await store.close()


async def test_keys_of_one_hash_never_read_each_other(tmp_path: Path) -> None:
    """The local store finds entries by 8 bytes of their key: two keys sharing them keep the
    last one written, and neither is ever read as the other."""
    store = await SqliteStore.open(tmp_path / "cache.db")
    first, second = "0123456789abcdef" + "a" * 24, "0123456789abcdef" + "b" * 24
    await store.put_many({first: Entry(b"first")}, ttl=60)
    await store.put_many({second: Entry(b"second")}, ttl=60)
    got = await store.get_many([first, second, "short", "0123"], max_age=60)
    assert [e and e.value for e in got] == [None, b"second", None, None]
    await store.close()
