"""The local store: one SQLite file (the standard library's sqlite3), safe for several
processes at once, and a directory beside it for the large values.

SQLite's write-ahead log lets readers go on while one process writes; writers wait for each
other up to `busy_timeout`, each batch of entries one short transaction. Every call runs
in a worker thread (anyio's, at most `threads` at once, each with its own connection
from a small pool), never on the event loop.

An entry is one row, appended (its `id`), found by an index of its key's hash (8 bytes;
the key itself is checked): random keys in a B-tree touch a page each, and small ones touch
fewer (a bulk request keeps a thousand entries at once). A small value (a bulk target's
item, a summary) is its last column, so counting and pruning never read it. A large one
(`EXTERNAL` bytes or more: a page of a thousand items is 700 KB) is a file of its own in
`PATH-blobs/` (named by its key, written whole to a temporary name, then renamed), and its
row holds no value: the log would write it twice (the log, then the file), a few KB at a
time with a checksum each, for several times the CPU of one plain write. A row is
committed after its file is in place, so a reader never finds a row without its file,
unless `clear` or `prune` took the file meanwhile: then it is a miss. Files without a row
(a writer stopped between the two) are swept by `prune`. The file reclaims the space of
dropped entries (incremental vacuum) after `prune` and `clear`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

import anyio

from dfs_async.cache.store import CacheStats, Entry
from dfs_async.errors import CacheError, ConfigurationError

__all__ = ["SqliteStore"]

T = TypeVar("T")

SCHEMA_VERSION: Final = 2
EXTERNAL: Final = 32 * 1024  # a value this large or larger is a file of its own
ORPHAN_AGE: Final = 600.0  # seconds before `prune` takes a file without a row as an orphan
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
    value BLOB  -- NULL: in its own file (`_blob`)
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""
# Errors that mean "this path cannot be a cache here" rather than "this cache is broken".
_CANNOT_WRITE: Final = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")


class SqliteStore:
    """A cache in one SQLite file. `await SqliteStore.open(path)`; `close()` when done."""

    def __init__(self, path: Path, *, busy_timeout: float, threads: int) -> None:
        self.path = path
        self.blobs = path.with_name(path.name + "-blobs")
        self.busy_timeout = busy_timeout
        self._limiter = anyio.CapacityLimiter(threads)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
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
            await anyio.to_thread.run_sync(store._create)
            await store._run(store._check_schema)
        except BaseException:
            await store.close()
            raise
        return store

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
        if version == 0:
            if db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                raise sqlite3.DatabaseError("an SQLite file, but not a cache of dfs-async")
            for statement in _SCHEMA.split(";"):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
        if version not in (0, SCHEMA_VERSION):
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
        if self._closed:
            raise CacheError(f"cache {self.path}: closed")
        try:
            return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(_CANNOT_WRITE):
                raise ConfigurationError(f"cache {self.path}: cannot write there: {exc}") from exc
            raise CacheError(f"cache {self.path}: {exc}") from exc
        except OSError as exc:
            raise CacheError(f"cache {self.path}: {exc}") from exc

    def _blob(self, key: str) -> Path:
        """Where the value of `key` is when it is a file of its own."""
        return self.blobs / key[:2] / key

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        def work(db: sqlite3.Connection) -> list[Entry | None]:
            now = time.time()
            wanted = set(keys)
            found: dict[str, Entry] = {}
            for start in range(0, len(keys), _CHUNK):
                chunk = list(map(_hash, keys[start : start + _CHUNK]))
                rows = db.execute(
                    "SELECT key, value, cost, stored_at FROM entries WHERE hash IN "
                    f"({','.join('?' * len(chunk))}) AND expires_at > ? AND stored_at > ?",
                    (*chunk, now, now - max_age),
                )
                for key, value, cost, stored_at in rows:
                    if key not in wanted:  # another key of the same hash
                        continue
                    if value is None:
                        try:
                            value = self._blob(key).read_bytes()
                        except FileNotFoundError:  # dropped meanwhile: a miss
                            continue
                    found[key] = Entry(value, cost, stored_at)
            return [found.get(key) for key in keys]

        return await self._run(work) if keys else []

    async def put_many(self, entries: Mapping[str, Entry], *, ttl: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            rows = []
            for key, e in entries.items():
                value: bytes | None = e.value
                if len(e.value) >= EXTERNAL:
                    self._write_blob(key, e.value)
                    value = None
                stored, size = e.stored_at, len(e.value)
                rows.append((_hash(key), key, stored, stored + ttl, e.cost, size, value))
            with _transaction(db):
                db.executemany(
                    "INSERT OR REPLACE INTO entries (hash, key, stored_at, expires_at, cost,"
                    " size, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

        if entries:
            await self._run(work)

    def _write_blob(self, key: str, value: bytes) -> None:
        """`value` as the file of `key`: whole, or not at all (a temporary name renamed)."""
        path = self._blob(key)
        temporary = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(value)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

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
        """Drop the expired entries (and their files), and the files no row names that are
        older than `ORPHAN_AGE` (a writer stopped between its file and its row)."""

        def work(db: sqlite3.Connection) -> int:
            now = time.time()
            files = "SELECT key FROM entries WHERE value IS NULL"
            expired = [key for (key,) in db.execute(f"{files} AND expires_at <= ?", (now,))]
            dropped = _delete(db, "WHERE expires_at <= ?", now)
            for key in expired:
                self._blob(key).unlink(missing_ok=True)
            kept = {key for (key,) in db.execute(files)}
            for path in self.blobs.glob("*/*"):
                if path.name not in kept and path.stat().st_mtime < now - ORPHAN_AGE:
                    path.unlink(missing_ok=True)
            return dropped

        return await self._run(work)

    async def clear(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM counters")
            dropped = _delete(db, "")
            shutil.rmtree(self.blobs, ignore_errors=True)
            return dropped

        return await self._run(work)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            await anyio.to_thread.run_sync(db.close)


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


def _delete(db: sqlite3.Connection, where: str, *args: float) -> int:
    with _transaction(db):
        dropped = db.execute(f"DELETE FROM entries {where}", args).rowcount
    db.executescript("PRAGMA incremental_vacuum")  # run to the end (`execute` frees one page)
    return dropped
