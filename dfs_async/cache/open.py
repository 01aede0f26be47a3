"""From what a user writes (`--cache PATH|URL`, `DataForSEO(cache=...)`) to a store."""

from __future__ import annotations

import os

from dfs_async.cache.safe import DEFAULT_TTL, Cache, check_ttl
from dfs_async.cache.sqlite_store import SqliteStore
from dfs_async.cache.store import CacheStore
from dfs_async.errors import CacheError, ConfigurationError

__all__ = ["CacheSpec", "open_cache", "open_store"]

CacheSpec = str | os.PathLike[str] | CacheStore


async def open_store(
    spec: CacheSpec, *, prefix: str | None = None, busy_timeout: float = 5.0
) -> CacheStore:
    """The store `spec` names: a `redis://` / `rediss://` URL (needs the redis extra; keys
    under `prefix`, by default `redis_link.DEFAULT_PREFIX`), a file path (SQLite;
    `busy_timeout`: seconds to wait for another process's write), or an object with the
    store's interface (returned as is).

    A spec that cannot be a store (an unwritable path, an unreachable Redis, a wrong
    scheme) is a ConfigurationError; a store found broken (not a cache, locked), a
    CacheError. For the cache's own commands (stats, prune, clear): a run uses `open_cache`.
    """
    if isinstance(spec, CacheStore):
        return spec
    if not isinstance(spec, str | os.PathLike):
        raise ConfigurationError(
            f"cache: a file path, a redis:// URL or a store object, not {type(spec).__name__}"
        )
    text = os.fspath(spec)
    scheme, sep, _ = text.partition("://")
    if sep and scheme.lower() in ("redis", "rediss"):
        from dfs_async.cache.redis_store import RedisStore
        from dfs_async.redis_link import RedisLink

        link = RedisLink(text) if prefix is None else RedisLink(text, prefix=prefix)
        return await RedisStore.open(link)
    if sep:
        raise ConfigurationError(f"cache: {scheme}:// is not a store (a path or a redis:// URL)")
    if not text.strip():
        raise ConfigurationError("cache: the path is empty")
    return await SqliteStore.open(text, busy_timeout=busy_timeout)


async def open_cache(
    spec: CacheSpec, *, ttl: float = DEFAULT_TTL, prefix: str | None = None
) -> Cache:
    """The cache a run uses (see `safe.Cache`). A spec that cannot be a store raises
    ConfigurationError (before any request); a store found broken is one warning and a
    cache that is off: the run goes on without it. A store object given as `spec` stays
    the caller's: closing the cache leaves it open."""
    check_ttl(ttl)
    try:
        store = await open_store(spec, prefix=prefix)
    except CacheError as exc:
        return Cache(None, ttl=ttl, failure=str(exc))
    return Cache(store, ttl=ttl, owned=store is not spec)
