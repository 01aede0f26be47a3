"""The cache as a run uses it: a store with its TTL, writes batched, hits counted, and
failures contained.

Writes are batched off the hot path: `put` only adds an entry to a buffer (a get finds it
there at once), and `append` a log's record; the buffer is written to the store in one
`put_many` when it is `due` (`FLUSH_BYTES` or `FLUSH_ENTRIES` waiting, or its oldest entry
`FLUSH_SECONDS` old), by whoever calls `flush`, and on `close`, the records after the
entries (a record never names an entry not yet written). A store that `WritesAhead` takes an
entry when it is put (its bytes written at once, its row with the next batch), so the
buffer holds no answer's bytes (the local store's large values); a write ahead slower than
`SLOW_AHEAD` (a disk the kernel makes wait) ends that for the run, and the batch carries
the bytes again.

A paid run never fails because of its cache: the first time the store fails (corrupt,
locked, full, lost, or silent past `timeout`), `Cache` logs one warning on the
`dfs_async.cache` logger and turns itself off; from then on every get is a miss and every
put is dropped. Only cancellation goes through.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import anyio

from dfs_async.cache.store import CacheStore, Entry, WritesAhead
from dfs_async.duration import DAY
from dfs_async.errors import ConfigurationError

__all__ = ["DEFAULT_TTL", "Cache", "check_ttl"]

log: Final = logging.getLogger("dfs_async.cache")

DEFAULT_TTL: Final = DAY  # the API's index is updated daily at most

# When the buffered entries are written (see the module docstring): a few large pages, a
# couple of bulk requests' targets, or a second.
FLUSH_BYTES: Final = 4 * 2**20
FLUSH_ENTRIES: Final = 2000
FLUSH_SECONDS: Final = 1.0
SLOW_AHEAD: Final = 0.05  # seconds: a write ahead this slow blocks the event loop too long


class Cache:
    """`store` used with one `ttl` (seconds: entries are kept that long, and a get finds
    only entries stored less than `ttl` ago). `hits` and `saved` count this run's hits and
    the money they saved (`served`); they are added to the store's own counters on `close`,
    which closes the store too unless it is not `owned` (a caller's own store object).

    `store=None` with a `failure`: a cache that was off from the start (its store could
    not be opened), for the run to go on without it.
    """

    def __init__(
        self,
        store: CacheStore | None,
        *,
        ttl: float = DEFAULT_TTL,
        timeout: float = 30.0,
        failure: str | None = None,
        owned: bool = True,
    ) -> None:
        self.ttl = check_ttl(ttl)
        self.timeout = timeout
        self.owned = owned
        self.hits = 0
        self.saved = 0.0
        self.failure: str | None = None
        self._store = store
        self._ahead = store.write_ahead if isinstance(store, WritesAhead) else None
        self._pending: dict[str, Entry] = {}
        self._taken = 0  # entries written ahead since the last flush
        self._pending_bytes = 0
        self._records: dict[str, list[bytes]] = {}  # by log
        self._since = 0.0  # time.monotonic() of the oldest pending entry
        self._writing: list[Mapping[str, Entry]] = []  # batches being written
        if store is None or failure is not None:
            self._turn_off(failure or "no store")

    def __repr__(self) -> str:
        state = "on" if self.on else f"off: {self.failure}"
        return f"Cache({self._store!r}, ttl={self.ttl:g}, {state})"

    @property
    def on(self) -> bool:
        return self.failure is None

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        """The fresh entries of `keys`, in order (None: a miss); those still buffered too.
        Never raises."""
        if not (self._store is not None and self.on and keys):
            return [None] * len(keys)
        found: list[Entry | None] = [None] * len(keys)
        asked: Sequence[str] = keys
        if self._pending or self._writing:
            found = list(map(self._buffered, keys))
            asked = [key for key, entry in zip(keys, found, strict=True) if entry is None]
            if not asked:
                return found
        try:
            with anyio.fail_after(self.timeout):
                entries = await self._store.get_many(asked, max_age=self.ttl)
            if len(entries) != len(asked):
                raise ValueError(f"{len(entries)} entries for {len(asked)} keys")
        except Exception as exc:
            self._turn_off(_reason(self._store, exc))
            return found
        if asked is keys:
            return entries
        stored = iter(entries)
        return [entry if entry is not None else next(stored) for entry in found]

    def _buffered(self, key: str) -> Entry | None:
        entry = self._pending.get(key)
        if entry is None:
            for batch in self._writing:
                entry = batch.get(key)
                if entry is not None:
                    break
        return entry

    def served(self, hits: int, saved: float) -> None:
        """`hits` answers came from the cache, saving `saved` USD."""
        self.hits += hits
        self.saved = round(self.saved + saved, 9)

    def put(self, key: str, entry: Entry) -> None:
        """Keep `entry` for `ttl` seconds: buffered until the next `flush`."""
        self.put_all(((key, entry),))

    def put_all(self, entries: Iterable[tuple[str, Entry]]) -> None:
        """`put` each of `entries`."""
        if self.on:
            if not (self._pending or self._taken):
                self._since = time.monotonic()
            pending = self._pending
            for key, entry in entries:
                if self._ahead is not None and self._written_ahead(key, entry):
                    self._taken += 1
                elif self.on:  # else it failed: dropped
                    pending[key] = entry
                    self._pending_bytes += len(entry.value)

    def _written_ahead(self, key: str, entry: Entry) -> bool:
        assert self._store is not None and self._ahead is not None
        started = time.perf_counter()
        try:
            taken = self._ahead(key, entry, ttl=self.ttl)
        except Exception as exc:
            self._turn_off(_reason(self._store, exc))
            return False
        if time.perf_counter() - started > SLOW_AHEAD:
            self._ahead = None
            log.info("cache %r: slow to write ahead; in the batch from now on", self._store)
        return taken

    def append(self, name: str, record: bytes) -> None:
        """Add `record` to the log `name` (for `ttl` seconds), after the entries `put` so
        far."""
        if self.on:
            self._records.setdefault(name, []).append(record)

    async def read_log(self, name: str, after: str) -> tuple[list[bytes], str]:
        """The records of the log `name` after the point `after` ("": the start), and the
        point to read on from. Never raises: a failure reads nothing."""
        if not (self._store is not None and self.on):
            return [], after
        try:
            with anyio.fail_after(self.timeout):
                return await self._store.read_log(name, after)
        except Exception as exc:
            self._turn_off(_reason(self._store, exc))
            return [], after

    @property
    def due(self) -> bool:
        """Enough is buffered to be written now (see the module docstring)."""
        return bool(self._pending or self._taken) and (
            self._pending_bytes >= FLUSH_BYTES
            or len(self._pending) + self._taken >= FLUSH_ENTRIES
            or time.monotonic() - self._since >= FLUSH_SECONDS
        )

    async def flush(self) -> None:
        """Write what is buffered, in one batch. Never raises; a write begun is finished
        even if the caller is cancelled meanwhile (within `timeout`)."""
        if not (self._pending or self._records or self._taken):
            return
        batch, self._pending, self._pending_bytes = self._pending, {}, 0
        self._taken = 0
        records, self._records = self._records, {}
        if self._store is None or not self.on:
            return
        self._writing.append(batch)
        try:
            with anyio.CancelScope(shield=True), anyio.fail_after(self.timeout):
                await self._store.put_many(batch, ttl=self.ttl, logs=records)
        except Exception as exc:
            self._turn_off(_reason(self._store, exc))
        finally:
            self._writing.remove(batch)

    async def put_many(self, entries: Mapping[str, Entry]) -> None:
        """Store `entries` now (with whatever is buffered). Never raises."""
        self.put_all(entries.items())
        await self.flush()

    async def close(self) -> None:
        """Write what is buffered, add this run's hits to the store's counters, then close
        the store (if `owned`). Never raises.

        Call it in the task that opened the store, outside any cancel scope or task group
        entered since (a Redis store leaves its connections' task group here).
        """
        if self._store is None:
            return
        await self.flush()
        store, self._store = self._store, None
        if self.on:
            try:
                with anyio.fail_after(self.timeout):
                    await store.add_hits(self.hits, self.saved)
            except Exception as exc:
                self._turn_off(_reason(store, exc))
        if self.owned:
            try:
                await store.close()
            except Exception as exc:
                self._turn_off(_reason(store, exc))

    def _turn_off(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            self._pending, self._pending_bytes, self._records = {}, 0, {}
            self._taken, self._ahead = 0, None
            log.warning("cache off for the rest of this run: %s", reason)


def check_ttl(ttl: float) -> float:
    number = isinstance(ttl, int | float) and not isinstance(ttl, bool)
    if not (number and math.isfinite(ttl) and ttl > 0):
        raise ConfigurationError(f"cache TTL must be a positive number of seconds, got {ttl!r}")
    return float(ttl)


def _reason(store: CacheStore, exc: Exception) -> str:
    """One line: our stores' errors name their store; anything else gets it added."""
    text = " ".join(str(exc).split())
    if text.startswith("cache "):
        return text
    if isinstance(exc, TimeoutError) and not text:
        text = "no answer in time"
    return f"cache {store!r}: {type(exc).__name__}: {text}"
