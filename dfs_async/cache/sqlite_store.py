"""The local store: one SQLite file (the standard library's sqlite3), safe for several
processes at once, and a directory beside it for the large values.

SQLite's write-ahead log lets readers go on while one process writes; writers wait for each
other up to `busy_timeout`, each batch of entries one short transaction. Every call to
SQLite runs in a worker thread (anyio's, at most `threads` at once, each with its own
connection from a small pool), never on the event loop.

An entry is one row, appended (its `id`), found by an index of its key's hash (8 bytes;
the key itself is checked): random keys in a B-tree touch a page each, and small ones touch
fewer. A small value (a summary) is its last column, so counting and pruning never read it.

A large one (`EXTERNAL` bytes or more: a page of a thousand items is 700 KB) is appended to
a segment, a file in `PATH-blobs/` that one store object alone writes (so processes never
wait for each other there), and its row says where (`segment`, `offset`, `size`). In the
log, it would be written twice (the log, then the file) a few KB at a time with a checksum
each; as a file of its own, the file system finds a free inode for it, for several times
the CPU of the write itself. A segment takes its space `GROW` bytes at a time (one
allocation for many values) and is closed past `SEGMENT_BYTES`. A row is committed after
its value is written. A value no row names any more (replaced, or expired and pruned) is
punched out of its segment, so its space comes back at once; a reader therefore checks, once
it has read a value, that its row still names it (else it is a miss, never a hole's zeros),
and a value in a segment `clear` or `prune` took meanwhile is a miss too. `prune` drops the
rows whose segment is gone, and cuts a segment nobody has written for `ORPHAN_AGE` seconds
to its last live value (removed without one). The file reclaims the space of dropped
entries (incremental vacuum) after `prune` and `clear`.

A large value is written when it is put, by the caller (`write_ahead`, which
`safe.Cache.put` calls on the event loop): a copy into the page cache while the bytes are
still in the CPU's cache, waiting for no other process (a segment has one writer); its row
is committed with the next batch (`put_many`), and a get finds it meanwhile. So a batch
is rows alone, written about once a second, and no answer's bytes wait for it in memory.
Written in the batch (every 4 MB), the bytes had gone cold and a worker thread copied them
while contending with the event loop for the GIL: a run of 1,000-item pages with no hits
cost 1.15x the CPU of one without a cache, against about 1.0x now (`benchmarks/cache.py`).
A store object writes one batch at a time (what a batch takes of the values written ahead
is its alone); a key written ahead again before its row was committed gives the first
value's space back with the next batch, since the one under way may be committing it.

A log's record is a row of `logs`, its id given once only (AUTOINCREMENT): a reader goes
on from the last id it read, and a writer's transaction is the only one at a time, so ids
are committed in order. A large record (`EXTERNAL_RECORD` bytes or more: a bulk answer's
thousand targets are 25 KB) goes to the segment like a large value, its row saying where:
in the file's log it was written twice (the log, then the file when the last connection
closes: 4.4 ms of a run of 100,000 targets against 0.8 ms now), and grew the file by as
much as the answers' targets. A reader reads it from the segment and keeps it if its row
is still there once read (else pruned or cleared meanwhile: a hole or another writer's
bytes); `prune` gives an expired one's space back, and never cuts a segment short of a
live one.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import operator
import os
import secrets
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar, cast

import anyio

from dfs_async.cache.store import CacheStats, Entry, Logs
from dfs_async.errors import CacheError, ConfigurationError

__all__ = ["SqliteStore"]

T = TypeVar("T")

SCHEMA_VERSION: Final = 5
EXTERNAL: Final = 32 * 1024  # a value this large or larger goes to a segment
EXTERNAL_RECORD: Final = 4096  # a log's record this large or larger too
SEGMENT_BYTES: Final = 256 * 2**20  # a segment past this size takes no more values
GROW: Final = 16 * 2**20  # a segment's space is taken this much at a time
SUFFIX: Final = ".seg"
ORPHAN_AGE: Final = 600.0  # seconds unwritten before `prune` cuts a segment to its values
_CHUNK: Final = 500  # keys per SELECT ... IN (...), under SQLite's parameter limit
_SCHEMA: Final = """
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL UNIQUE,  -- `_hash(key)`: two keys of one hash keep the last
    key TEXT NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    cost REAL NOT NULL,
    size INTEGER NOT NULL,
    value BLOB,  -- NULL: `size` bytes at `offset` in the file `segment` (`_Segment`)
    segment TEXT,
    offset INTEGER
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""
# Logs (version 4): AUTOINCREMENT, so that an id is never given again once its row is gone
# (a reader goes on after the last id it read). Version 5: a large record in a segment.
_LOGS: Final = """
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    expires_at REAL NOT NULL,
    record BLOB,  -- NULL: `size` bytes at `offset` in the file `segment`, as for an entry
    segment TEXT,
    offset INTEGER,
    size INTEGER
);
CREATE INDEX logs_by_name ON logs (name, id)
"""
# Version 2 kept each large value in a file of its own: its rows are dropped, its files too.
_FROM_2: Final = """
DELETE FROM entries WHERE value IS NULL;
ALTER TABLE entries ADD COLUMN segment TEXT;
ALTER TABLE entries ADD COLUMN offset INTEGER;
"""
# Errors that mean "this path cannot be a cache here" rather than "this cache is broken".
_CANNOT_WRITE: Final = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")


class _Place(NamedTuple):
    """Where a large value is, and its entry's other fields."""

    key: str
    segment: str
    offset: int
    size: int
    cost: float
    stored_at: float


class _Ahead(NamedTuple):
    """A value written ahead (`SqliteStore.write_ahead`), its row not yet committed."""

    place: _Place
    expires_at: float


class _Segment:
    """A file of large values that one store object alone appends to."""

    def __init__(self, directory: Path) -> None:
        self.name = secrets.token_hex(8) + SUFFIX
        path, flags = directory / self.name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            self.fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            directory.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, flags, 0o644)
        self.end = self.taken = 0

    @property
    def usable(self) -> bool:
        """Not full, and still in its directory (not taken by `clear` or `prune`)."""
        return self.end < SEGMENT_BYTES and os.fstat(self.fd).st_nlink > 0

    def append(self, value: bytes) -> int:
        """Write `value` at the end; where it starts."""
        at, end = self.end, self.end + len(value)
        if end > self.taken:
            grow = max(GROW, end - self.taken)
            os.posix_fallocate(self.fd, self.taken, grow)
            self.taken += grow
        view, written = memoryview(value), 0
        while written < len(value):
            written += os.pwrite(self.fd, view[written:], at + written)
        self.end = end
        return at

    def close(self) -> None:
        """Give back the space taken and not used."""
        try:
            os.ftruncate(self.fd, self.end)
        finally:
            os.close(self.fd)


def _punch(path: Path, ranges: Iterable[tuple[int, int]]) -> None:
    """Give the file system back the space of values no row names (`offset`, `size` each),
    where it can (Linux's hole punching); else it comes back with their segment."""
    if _fallocate is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:  # gone, or not ours to write
        return
    try:
        for offset, size in ranges:
            if _fallocate(fd, _PUNCH_HOLE, offset, size) != 0:
                return
    finally:
        os.close(fd)


def _libc_fallocate() -> Callable[[int, int, int, int], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


_PUNCH_HOLE: Final = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_fallocate: Final = _libc_fallocate() if sys.platform == "linux" else None


class SqliteStore:
    """A cache in one SQLite file. `await SqliteStore.open(path)`; `close()` when done."""

    def __init__(self, path: Path, *, busy_timeout: float, threads: int) -> None:
        self.path = path
        self.blobs = path.with_name(path.name + "-blobs")
        self.busy_timeout = busy_timeout
        self._limiter = anyio.CapacityLimiter(threads)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._segment: _Segment | None = None
        self._appending = threading.Lock()  # the segment's writer
        self._ahead: dict[str, _Ahead] = {}  # written ahead, rows not yet committed
        self._superseded: list[_Place] = []  # written ahead, then again before a batch
        self._batch = anyio.Lock()  # one batch at a time: what it takes is its alone
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, busy_timeout: float = 5.0, threads: int = 4
    ) -> SqliteStore:
        """Open (or create) the cache at `path`, creating its directory.

        A path where the file cannot be created or written is a ConfigurationError; a file
        that is not a cache of ours, or locked past `busy_timeout`, a CacheError.
        """
        store = cls(Path(path), busy_timeout=busy_timeout, threads=threads)
        try:
            await store._in_thread(store._open)
        except BaseException:
            await store.close()
            raise
        return store

    def _open(self) -> None:
        """In a worker thread: the file's directory made, its schema checked (one hop)."""
        self._create()
        self._call(self._check_schema)

    def _create(self) -> None:
        self.path = self.path.expanduser()
        self.blobs = self.path.with_name(self.path.name + "-blobs")
        where = f"cache {self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot create its directory: {exc}") from None
        if self.path.is_dir():
            raise ConfigurationError(f"{where}: is a directory")
        if not os.access(self.path.parent, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            raise ConfigurationError(f"{where}: cannot write there")

    def _check_schema(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process, first?
        # version 4's records are dropped: the bulk answers they named are fetched again
        script = {0: _SCHEMA, 2: _FROM_2, 3: "", 4: "DROP TABLE logs;"}.get(version)
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
            raise sqlite3.DatabaseError("an SQLite file, but not a cache of dfs-async")
        if script is not None:
            for statement in (script + _LOGS).split(";"):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
        if version == 2:
            for old in self.blobs.glob("*/"):  # its files, in directories by key
                shutil.rmtree(old, ignore_errors=True)
        if script is None and version != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"a cache of another version of dfs-async ({version})")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            # Before the log: a new file's pages freed by prune and clear are given back
            # (a no-op on a file with tables).
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise sqlite3.OperationalError("cannot use a write-ahead log here")
            db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """In a worker thread: `work` on a pooled connection (closed if it failed)."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            result = work(db)
        except BaseException:
            db.close()
            raise
        with self._lock:
            if self._closed:
                db.close()
            else:
                self._idle.append(db)
        return result

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._in_thread(functools.partial(self._call, work))

    async def _in_thread(self, function: Callable[[], T]) -> T:
        """`function` in a worker thread, its failures our errors."""
        if self._closed:
            raise CacheError(f"cache {self.path}: closed")
        try:
            return await anyio.to_thread.run_sync(function, limiter=self._limiter)
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(_CANNOT_WRITE):
                raise ConfigurationError(f"cache {self.path}: cannot write there: {exc}") from exc
            raise CacheError(f"cache {self.path}: {exc}") from exc
        except OSError as exc:
            raise CacheError(f"cache {self.path}: {exc}") from exc

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        def work(db: sqlite3.Connection) -> list[Entry | None]:
            now = time.time()
            wanted = set(keys)
            found: dict[str, Entry] = {}
            outside: list[_Place] = []
            rows = _where_in(
                db,
                "SELECT key, value, cost, stored_at, segment, offset, size FROM entries"
                " WHERE hash IN ({}) AND expires_at > ? AND stored_at > ?",
                list(map(_hash, keys)),
                now,
                now - max_age,
            )
            for key, value, cost, stored_at, segment, offset, size in rows:
                if key not in wanted:  # another key of the same hash
                    continue
                if value is None:
                    outside.append(_Place(key, segment, offset, size, cost, stored_at))
                else:
                    found[key] = Entry(value, cost, stored_at)
            if outside:
                found.update(self._read(db, outside))
            if self._ahead and len(found) < len(wanted):
                found.update(self._read_ahead(wanted - found.keys(), now, max_age))
            return [found.get(key) for key in keys]

        return await self._run(work) if keys else []

    def _read(self, db: sqlite3.Connection, places: list[_Place]) -> dict[str, Entry]:
        """The values at `places`, those still there once read: a value replaced or dropped
        meanwhile (its space given back: `_give_back`), or in a segment taken by `clear`
        or `prune`, is a miss."""
        read = self._pread(places)
        query = "SELECT key, segment, offset FROM entries WHERE hash IN ({})"
        still = set(_where_in(db, query, [_hash(key) for key in read]))
        for p in places:
            if p.key in read and (p.key, p.segment, p.offset) not in still:
                del read[p.key]
        return read

    def _read_ahead(self, keys: Iterable[str], now: float, max_age: float) -> dict[str, Entry]:
        """The fresh values of `keys` written ahead, their rows not yet committed."""
        with self._lock:
            ahead = [a for a in map(self._ahead.get, keys) if a is not None]
        oldest = now - max_age
        return self._pread(
            [a.place for a in ahead if a.expires_at > now and a.place.stored_at > oldest]
        )

    def _pread(self, places: list[_Place]) -> dict[str, Entry]:
        """The values at `places`, each read whole (a segment gone: none of its own)."""
        read: dict[str, Entry] = {}
        places = sorted(places, key=operator.attrgetter("segment", "offset"))
        for segment, group in itertools.groupby(places, key=operator.attrgetter("segment")):
            try:
                fd = os.open(self.blobs / segment, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                for p in group:
                    value = os.pread(fd, p.size, p.offset)
                    if len(value) == p.size:
                        read[p.key] = Entry(value, p.cost, p.stored_at)
            finally:
                os.close(fd)
        return read

    def write_ahead(self, key: str, entry: Entry, *, ttl: float) -> bool:
        """Write `entry`'s value to the segment now if it is large (True), its row to be
        committed by the next `put_many` (see the module docstring)."""
        if len(entry.value) < EXTERNAL or self._closed:
            return False
        try:
            [(segment, offset)] = self._append([entry.value])
        except OSError as exc:
            raise CacheError(f"cache {self.path}: {exc}") from exc
        place = _Place(key, segment, offset, len(entry.value), entry.cost, entry.stored_at)
        with self._lock:
            before = self._ahead.get(key)
            self._ahead[key] = _Ahead(place, entry.stored_at + ttl)
            if before is not None:  # its space given back by the next batch (one under
                self._superseded.append(before.place)  # way may be committing its row)
        return True

    async def put_many(
        self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
    ) -> None:
        """Store `entries` and the rows of the values written ahead, then `logs`' records:
        one transaction, one batch at a time."""
        records = [(name, r) for name, some in (logs or {}).items() for r in some]

        def work(db: sqlite3.Connection) -> None:
            with self._lock:
                taken = dict(self._ahead)
                superseded, self._superseded = self._superseded, []
            ahead = {k: a for k, a in taken.items() if k not in entries}  # else replaced
            large = [key for key, e in entries.items() if len(e.value) >= EXTERNAL]
            outside = [r for _, r in records if len(r) >= EXTERNAL_RECORD]
            places = iter(self._append([*(entries[key].value for key in large), *outside]))
            where = {key: next(places) for key in large}
            rows = [
                (_hash(key), key, e.stored_at, e.stored_at + ttl, e.cost, len(e.value))
                + ((None, *where[key]) if key in where else (e.value, None, None))
                for key, e in entries.items()
            ]
            for key, (p, expires_at) in ahead.items():
                row = (p.stored_at, expires_at, p.cost, p.size, None, p.segment, p.offset)
                rows.append((_hash(key), key, *row))
            with _transaction(db):
                hashes = [_hash(key) for key in (*large, *ahead)]
                replaced = _ranges(
                    db, "entries", f"hash IN ({','.join('?' * len(hashes))})", hashes
                )
                db.executemany(
                    "INSERT OR REPLACE INTO entries (hash, key, stored_at, expires_at, cost,"
                    " size, value, segment, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                expires_at = time.time() + ttl
                db.executemany(
                    "INSERT INTO logs (name, expires_at, record, segment, offset, size)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (name, expires_at, None, *next(places), len(r))
                        if len(r) >= EXTERNAL_RECORD
                        else (name, expires_at, r, None, None, None)
                        for name, r in records
                    ],
                )
            with self._lock:  # committed: found by their rows from now on
                for key, a in taken.items():
                    if self._ahead.get(key) is a:
                        del self._ahead[key]
            superseded += (a.place for key, a in taken.items() if key not in ahead)
            spans = _spans(superseded)
            for segment, old in replaced.items():
                spans.setdefault(segment, []).extend(old)
            self._give_back(spans)

        if entries or records or self._ahead or self._superseded:
            async with self._batch:
                await self._run(work)

    def _append(self, values: list[bytes]) -> list[tuple[str, int]]:
        """`values` written to this store's segment (a new one if it has none usable): the
        segment and offset of each."""
        if not values:
            return []
        with self._appending:
            segment = self._segment
            if segment is None or not segment.usable:
                self._segment = None
                if segment is not None:
                    segment.close()
                segment = self._segment = _Segment(self.blobs)
            return [(segment.name, segment.append(value)) for value in values]

    def _give_back(self, ranges: Mapping[str, list[tuple[int, int]]]) -> None:
        """Punch the values no row names any more out of their segments (`_punch`)."""
        for segment, spans in ranges.items():
            _punch(self.blobs / segment, spans)

    async def read_log(self, log: str, after: str) -> tuple[list[bytes], str]:
        """The records after the id `after`; one in a segment is read there, and is left out
        if its row is gone once it was read (pruned or cleared: its space given back)."""

        def work(db: sqlite3.Connection) -> tuple[list[bytes], str]:
            rows = db.execute(
                "SELECT id, record, segment, offset, size FROM logs"
                " WHERE name = ? AND id > ? AND expires_at > ? ORDER BY id",
                (log, int(after or 0), time.time()),
            ).fetchall()
            outside = [_Place(str(i), s, at, n, 0.0, 0.0) for i, r, s, at, n in rows if r is None]
            found = self._pread(outside) if outside else {}
            kept: set[str] = set()
            if found:  # those whose rows are still there once they were read
                query = "SELECT id FROM logs WHERE id IN ({})"
                kept.update(str(i) for (i,) in _where_in(db, query, list(map(int, found))))
            read = {i: entry.value for i, entry in found.items() if i in kept}
            records = [r if r is not None else read.get(str(i)) for i, r, *_ in rows]
            last = str(rows[-1][0]) if rows else after
            return [record for record in records if record is not None], last

        return await self._run(work)

    async def add_hits(self, hits: int, saved: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.executemany(
                    "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET value = value + excluded.value",
                    [("hits", hits), ("saved", saved)],
                )

        if hits:
            await self._run(work)

    async def stats(self) -> CacheStats:
        def work(db: sqlite3.Connection) -> CacheStats:
            now = time.time()
            entries, size, oldest, newest = db.execute(
                "SELECT count(*), coalesce(sum(size), 0), min(stored_at), "
                "max(stored_at) FROM entries WHERE expires_at > ?",
                (now,),
            ).fetchone()
            (expired,) = db.execute(
                "SELECT count(*) FROM entries WHERE expires_at <= ?", (now,)
            ).fetchone()
            counters = dict(db.execute("SELECT name, value FROM counters"))
            return CacheStats(
                entries=entries,
                bytes=size,
                oldest=oldest,
                newest=newest,
                expired=expired,
                hits=int(counters.get("hits", 0)),
                saved=counters.get("saved", 0.0),
            )

        return await self._run(work)

    async def prune(self) -> int:
        """Drop the expired entries and records (their bytes punched out of their segments)
        and those whose segment is gone; cut each segment nobody wrote for `ORPHAN_AGE`
        seconds to its last live value or record, or remove it without one. Returns the
        entries dropped."""

        def work(db: sqlite3.Connection) -> int:
            now = time.time()
            with _transaction(db):
                expired = _ranges(db, "entries", "expires_at <= ?", (now,))
                for segment, spans in _ranges(db, "logs", "expires_at <= ?", (now,)).items():
                    expired.setdefault(segment, []).extend(spans)
                dropped = db.execute("DELETE FROM entries WHERE expires_at <= ?", (now,)).rowcount
                db.execute("DELETE FROM logs WHERE expires_at <= ?", (now,))
            self._give_back(expired)
            ends = dict(
                db.execute(
                    "SELECT segment, max(value_end) FROM (SELECT segment, offset + size AS"
                    " value_end FROM entries UNION ALL SELECT segment, offset + size FROM logs)"
                    " WHERE segment IS NOT NULL GROUP BY segment"
                )
            )
            # Listed after the rows were read: a segment is made before its first row, so
            # one that has rows and is not listed is gone.
            files = {path.name: path for path in self.blobs.glob(f"*{SUFFIX}")}
            gone = [(name,) for name in ends if name not in files]
            if gone:
                with _transaction(db):
                    cursor = db.executemany("DELETE FROM entries WHERE segment = ?", gone)
                    dropped += cursor.rowcount
                    db.executemany("DELETE FROM logs WHERE segment = ?", gone)
            for name, path in files.items():
                with suppress(FileNotFoundError):
                    if path.stat().st_mtime < now - ORPHAN_AGE:
                        end = ends.get(name)
                        if end is None:
                            path.unlink()
                        elif path.stat().st_size > end:
                            os.truncate(path, end)
            _vacuum(db)
            return dropped

        return await self._run(work)

    async def clear(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            with self._lock:  # their segment goes too
                self._ahead.clear()
                self._superseded.clear()
            with _transaction(db):
                db.execute("DELETE FROM counters")
                db.execute("DELETE FROM logs")
                dropped: int = db.execute("DELETE FROM entries").rowcount
            _vacuum(db)
            shutil.rmtree(self.blobs, ignore_errors=True)
            return dropped

        return await self._run(work)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            ahead, self._ahead = self._ahead, {}  # never committed: the run's cache failed
            uncommitted = [a.place for a in ahead.values()] + self._superseded
        await anyio.to_thread.run_sync(self._close, idle, uncommitted)

    def _close(self, idle: list[sqlite3.Connection], uncommitted: list[_Place]) -> None:
        """In a worker thread: the connections closed, the space of the values written ahead
        and never committed given back, the segment closed."""
        for db in idle:
            db.close()
        self._give_back(_spans(uncommitted))
        with self._appending:
            segment, self._segment = self._segment, None
            if segment is not None:
                segment.close()


def _where_in(
    db: sqlite3.Connection, query: str, values: Sequence[object], *more: object
) -> Iterator[tuple[Any, ...]]:
    """The rows of `query`, its `IN ({})` given `values` a chunk at a time (under SQLite's
    limit of parameters), and `more` after each chunk."""
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        yield from db.execute(query.format(",".join("?" * len(chunk))), (*chunk, *more))


def _ranges(
    db: sqlite3.Connection, table: str, test: str, args: Sequence[float]
) -> dict[str, list[tuple[int, int]]]:
    """Where the rows of `table` (entries or logs) that pass `test` (with `args`) keep their
    values in segments: (offset, size) by segment."""
    if not args:
        return {}
    ranges: dict[str, list[tuple[int, int]]] = {}
    rows = db.execute(
        f"SELECT segment, offset, size FROM {table} WHERE segment IS NOT NULL AND {test}", args
    )
    for segment, offset, size in rows:
        ranges.setdefault(segment, []).append((offset, size))
    return ranges


def _spans(places: Iterable[_Place]) -> dict[str, list[tuple[int, int]]]:
    """Where `places` are: (offset, size) by segment."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for p in places:
        spans.setdefault(p.segment, []).append((p.offset, p.size))
    return spans


def _hash(key: str) -> int:
    """The first 8 bytes of a key made by `keys` (40 hex digits: a hash already), else of
    its hash, as a signed 64-bit integer."""
    head = key[:16]
    if len(head) == 16 and head.isalnum():  # no sign, space or "_" that int() would take
        try:
            return int(head, 16) - (1 << 63)
        except ValueError:
            pass
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), signed=True)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """`BEGIN IMMEDIATE`: take the write lock first (waiting up to the busy timeout) rather
    than fail when a read turns into a write; COMMIT, or ROLLBACK on an error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _vacuum(db: sqlite3.Connection) -> None:
    """Give the file's free pages back (incremental vacuum)."""
    db.executescript("PRAGMA incremental_vacuum")  # run to the end (`execute` frees one page)
