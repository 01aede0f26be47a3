"""What a cache store is: the small interface every store implements (the local file, Redis,
or your own), and the values it keeps.

A store keeps bytes under keys (`keys.cache_key`), each with what fetching it cost and when
it was stored; it forgets an entry `ttl` seconds after it was stored, and a read can ask
for entries no older than `max_age`. It also keeps logs: records appended under a name and
read in order from where a reader stopped, each forgotten `ttl` seconds after it was added
(a bulk endpoint's answers say there which targets they hold: `engine.held`). Its failures
raise (`CacheError` for ours): `safe.Cache`, what a run uses, turns them into one warning
and a cache that is off.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import msgspec

__all__ = ["CacheStats", "CacheStore", "Entry", "Logs", "WritesAhead"]


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One stored answer: the bytes (the task's result as the API's JSON, or one bulk
    target's item), what fetching them cost in USD (a bulk target: its share), and when
    they were stored (Unix time)."""

    value: bytes
    cost: float = 0.0
    stored_at: float = msgspec.field(default_factory=time.time)


class CacheStats(msgspec.Struct, frozen=True):
    """A store's contents: live entries, their bytes, the oldest and newest (Unix times),
    entries expired but not yet pruned, and every hit it served with the money they saved."""

    entries: int = 0
    bytes: int = 0
    oldest: float | None = None
    newest: float | None = None
    expired: int = 0
    hits: int = 0
    saved: float = 0.0


Logs = Mapping[str, Sequence[bytes]]
"""Records to add to logs, by log name (`CacheStore.put_many`)."""


@runtime_checkable
class CacheStore(Protocol):
    """The store's interface. Methods may raise on failure; none is called after `close`."""

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        """The entries of `keys`, in order: None for a key absent, expired, or stored more
        than `max_age` seconds ago."""
        ...

    async def put_many(
        self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
    ) -> None:
        """Store each entry under its key (replacing any), forgotten `ttl` seconds after its
        `stored_at`; then add each of `logs`' records to the end of its log, forgotten `ttl`
        seconds from now (after the entries: a record may name them)."""
        ...

    async def read_log(self, log: str, after: str) -> tuple[list[bytes], str]:
        """The records of `log` added after the point `after` (an earlier call's, or "":
        the start), in the order they were added, and the point to read on from. A record
        forgotten meanwhile is skipped; a record added is read once, by each reader."""
        ...

    async def add_hits(self, hits: int, saved: float) -> None:
        """Add to the hits served and the money they saved (kept for `stats`)."""
        ...

    async def stats(self) -> CacheStats: ...

    async def prune(self) -> int:
        """Drop the expired entries and log records; how many entries were dropped."""
        ...

    async def clear(self) -> int:
        """Drop every entry, log and the counters; how many entries were dropped."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class WritesAhead(Protocol):
    """A store that can take an entry when it is put, before the batch it would be written
    in: its bytes at once, on the caller's thread (so cheaply, and waiting for no other
    process: the local store's copy into its file's page cache), and the rest with the next
    `put_many`, which commits what was written ahead (even with no entries of its own). A
    get finds it meanwhile. Optional."""

    def write_ahead(self, key: str, entry: Entry, *, ttl: float) -> bool:
        """Take `entry` under `key` (True), or leave it to the batch (False). May raise."""
        ...
