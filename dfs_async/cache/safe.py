"""The cache as a run uses it: a store with its TTL, hits counted, and failures contained.

A paid run never fails because of its cache: the first time the store fails (corrupt,
locked, full, lost, or silent past `timeout`), `Cache` logs one warning on the
`dfs_async` logger and turns itself off; from then on every get is a miss and every put
is dropped. Only cancellation goes through.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Final

import anyio

from dfs_async.cache.store import CacheStore, Entry
from dfs_async.errors import ConfigurationError

__all__ = ["DEFAULT_TTL", "Cache", "check_ttl"]

log: Final = logging.getLogger("dfs_async")

DEFAULT_TTL: Final = 86400.0  # a day: the API's index is updated daily at most


class Cache:
    """`store` used with one `ttl` (seconds: entries are kept that long, and a get finds
    only entries stored less than `ttl` ago). `hits` and `saved` count this run's hits and
    the money they saved; they are added to the store's own counters on `close`.

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
    ) -> None:
        self.ttl = check_ttl(ttl)
        self.timeout = timeout
        self.hits = 0
        self.saved = 0.0
        self.failure: str | None = None
        self._store = store
        if store is None or failure is not None:
            self._turn_off(failure or "no store")

    def __repr__(self) -> str:
        state = "on" if self.on else f"off: {self.failure}"
        return f"Cache({self._store!r}, ttl={self.ttl:g}, {state})"

    @property
    def on(self) -> bool:
        return self.failure is None

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        """The fresh entries of `keys`, in order (None: a miss). Never raises."""
        if self._store is not None and self.on and keys:
            try:
                with anyio.fail_after(self.timeout):
                    entries = await self._store.get_many(keys, max_age=self.ttl)
                if len(entries) != len(keys):
                    raise ValueError(f"{len(entries)} entries for {len(keys)} keys")
            except Exception as exc:
                self._turn_off(_reason(self._store, exc))
            else:
                for entry in entries:
                    if entry is not None:
                        self.hits += 1
                        self.saved += entry.cost
                return entries
        return [None] * len(keys)

    async def put_many(self, entries: Mapping[str, Entry]) -> None:
        """Store `entries` for `ttl` seconds. Never raises."""
        if self._store is not None and self.on and entries:
            try:
                with anyio.fail_after(self.timeout):
                    await self._store.put_many(entries, ttl=self.ttl)
            except Exception as exc:
                self._turn_off(_reason(self._store, exc))

    async def close(self) -> None:
        """Add this run's hits to the store's counters, then close it. Never raises.

        Call it in the task that opened the store, outside any cancel scope or task group
        entered since (a Redis store leaves its connections' task group here).
        """
        if self._store is None:
            return
        store, self._store = self._store, None
        if self.on:
            try:
                with anyio.fail_after(self.timeout):
                    await store.add_hits(self.hits, self.saved)
            except Exception as exc:
                self._turn_off(_reason(store, exc))
        try:
            await store.close()
        except Exception as exc:
            self._turn_off(_reason(store, exc))

    def _turn_off(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            log.warning("cache off for the rest of this run: %s", reason)


def check_ttl(ttl: float) -> float:
    if not (math.isfinite(ttl) and ttl > 0):
        raise ConfigurationError(f"cache TTL must be a positive number of seconds, got {ttl!r}")
    return ttl


def _reason(store: CacheStore, exc: Exception) -> str:
    """One line: our stores' errors name their store; anything else gets it added."""
    text = " ".join(str(exc).split())
    if text.startswith("cache "):
        return text
    if isinstance(exc, TimeoutError) and not text:
        text = "no answer in time"
    return f"cache {store!r}: {type(exc).__name__}: {text}"
