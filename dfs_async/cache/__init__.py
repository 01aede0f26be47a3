"""A response cache made for an API of paid JSON POSTs: answers kept by a canonical key of
the task, in a local SQLite file or a shared Redis, so a rerun does not pay twice.

- `keys`: `cache_key` (a task's answer) and `bulk_log` (the log of a bulk endpoint's answers);
- `store`: `Entry`, `CacheStats` and `CacheStore`, the small interface of every store
  (and `WritesAhead`, what a store that takes a value's bytes at once adds);
- `sqlite_store.SqliteStore` (local, several processes at once) and
  `redis_store.RedisStore` (shared; the redis extra);
- `safe.Cache`: a store as a run uses it (TTL, hits counted, failures turned into one
  warning and a cache that is off);
- `open.open_store` / `open.open_cache`: from a path, a URL or a store object.
"""

from dfs_async.cache.keys import bulk_log, cache_key
from dfs_async.cache.open import CacheSpec, open_cache, open_store
from dfs_async.cache.safe import DEFAULT_TTL, Cache
from dfs_async.cache.sqlite_store import SqliteStore
from dfs_async.cache.store import CacheStats, CacheStore, Entry, Logs, WritesAhead

__all__ = [
    "DEFAULT_TTL",
    "Cache",
    "CacheSpec",
    "CacheStats",
    "CacheStore",
    "Entry",
    "Logs",
    "SqliteStore",
    "WritesAhead",
    "bulk_log",
    "cache_key",
    "open_cache",
    "open_store",
]
