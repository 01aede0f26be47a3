"""The shared store: Redis, through `redis_link`, for processes and machines that share
answers.

An entry is one Redis string, `<stored_at><cost>` (two little-endian doubles) then the
value, under `{prefix}cache:e:{key}`, expiring by itself `ttl` seconds after it was
stored (Redis's own expiry, at an absolute time): nothing to prune.
A log is a stream, `{prefix}cache:l:{name}`, a record an entry of it (field `r`): each
append drops the records older than its `ttl` (`MINID`; a client with a longer TTL than
the last writer's finds fewer of the older answers) and keeps the stream at least `ttl`
longer, and a reader goes on after the last id it read.
Hits and money saved are a hash, `{prefix}cache:stats`. `stats` and `clear` walk the
entries with SCAN in a Lua script, a thousand keys a call, never `KEYS *`, and read only
each entry's 16-byte head.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from typing import Any, Final

import anyio

from dfs_async.cache.store import CacheStats, Entry, Logs
from dfs_async.errors import CacheError
from dfs_async.redis_link import FAILURES, RedisLink

__all__ = ["RedisStore"]

_HEAD: Final = struct.Struct("<dd")  # stored_at, cost

# One SCAN step over the entries: their count, the bytes of their values, the oldest and
# newest stored_at (as strings: a Lua number comes back as an integer).
_STATS: Final = """
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 1000)
local n, size, oldest, newest = 0, 0, nil, nil
for _, key in ipairs(reply[2]) do
    local head = redis.call('GETRANGE', key, 0, 15)
    if #head == 16 then
        local stored_at = struct.unpack('<d', head)
        n = n + 1
        size = size + redis.call('STRLEN', key) - 16
        if oldest == nil or stored_at < oldest then oldest = stored_at end
        if newest == nil or stored_at > newest then newest = stored_at end
    end
end
return {reply[1], n, size, oldest and string.format('%.6f', oldest) or '',
        newest and string.format('%.6f', newest) or ''}
"""
# Every entry of a batch in one call (a pipeline of a SET each costs the client a command's
# Python work per entry: ten times as much for a bulk request's thousand targets).
_PUT: Final = """
local n = #KEYS
for i = 1, n do
    redis.call('SET', KEYS[i], ARGV[i], 'PXAT', ARGV[n + i])
end
return n
"""
# A log's records, added in one call: those older than the TTL dropped first.
_APPEND: Final = """
for i = 3, #ARGV do
    redis.call('XADD', KEYS[1], 'MINID', ARGV[1], '*', 'r', ARGV[i])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return #ARGV - 2
"""
# A log's records after an id (exclusive), as XRANGE gives them: [id, [field, record]] each.
_READ: Final = """
return redis.call('XRANGE', KEYS[1], ARGV[1], '+')
"""
# One SCAN step that drops what it finds.
_CLEAR: Final = """
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 1000)
if #reply[2] > 0 then redis.call('UNLINK', unpack(reply[2])) end
return {reply[1], #reply[2]}
"""


class RedisStore:
    """A cache in Redis. `await RedisStore.open(url)`; `close()` in the same task."""

    def __init__(self, link: RedisLink, exits: AsyncExitStack) -> None:
        self.link = link
        self._exits = exits
        self._stats_key = link.key("cache", "stats")
        self._pattern = link.pattern("cache", "e", "")
        self._logs = link.pattern("cache", "l", "")
        self._put = link.script(_PUT)
        self._append = link.script(_APPEND)
        self._read = link.script(_READ)
        self._stats_step = link.script(_STATS)
        self._clear_step = link.script(_CLEAR)
        # One read at a time: coredis parses a connection's replies from one buffer that it
        # empties only once it has parsed all it holds, so large values read at once pile up
        # in it and are copied as it grows (twice the CPU of a hit at 30 at once).
        self._reading = anyio.Lock()

    def __repr__(self) -> str:
        return f"RedisStore({str(self.link.url)!r})"

    @classmethod
    async def open(cls, link: RedisLink) -> RedisStore:
        """Connect (`link` not yet entered): a server that cannot be used is a
        ConfigurationError (see RedisLink). The link is left when the store closes."""
        exits = AsyncExitStack()
        await exits.enter_async_context(link)
        return cls(link, exits)

    def _key(self, key: str) -> str:
        return self.link.key("cache", "e", key)

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        if not keys:
            return []
        with self._failing():
            async with self._reading:
                raws = await self.link.client.mget([self._key(k) for k in keys])
        oldest = time.time() - max_age
        out: list[Entry | None] = []
        for raw in raws:
            entry = None
            if raw is not None and len(raw) >= _HEAD.size:
                stored_at, cost = _HEAD.unpack_from(raw)
                if stored_at > oldest:
                    entry = Entry(raw[_HEAD.size :], cost, stored_at)
            out.append(entry)
        return out

    async def put_many(
        self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
    ) -> None:
        with self._failing():
            if entries:
                keys = [self._key(key) for key in entries]
                values: list[bytes | int] = [
                    _HEAD.pack(e.stored_at, e.cost) + e.value for e in entries.values()
                ]
                values += [math.ceil((e.stored_at + ttl) * 1000) for e in entries.values()]
                await self._put(keys=keys, args=values)
            ms = math.ceil(ttl * 1000)
            for log, records in (logs or {}).items():
                if records:
                    oldest = max(0, math.floor(time.time() * 1000) - ms)
                    key = self.link.key("cache", "l", log)
                    await self._append(keys=[key], args=[oldest, ms, *records])

    async def read_log(self, log: str, after: str) -> tuple[list[bytes], str]:
        with self._failing():
            reply: list[Any] = await self._read(
                keys=[self.link.key("cache", "l", log)], args=[f"({after}" if after else "-"]
            )
        if not reply:
            return [], after
        return [fields[1] for _, fields in reply], reply[-1][0].decode()

    async def add_hits(self, hits: int, saved: float) -> None:
        if not hits:
            return
        with self._failing():
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(self._stats_key, "hits", hits)
                pipe.hincrbyfloat(self._stats_key, "saved", saved)

    async def stats(self) -> CacheStats:
        cursor, entries, size = b"0", 0, 0
        oldest: float | None = None
        newest: float | None = None
        with self._failing():
            while True:
                step: list[Any] = await self._stats_step(args=[cursor, self._pattern])
                cursor, n, more, first, last = step
                entries, size = entries + int(n), size + int(more)
                if first:
                    oldest = min(float(first), oldest if oldest is not None else math.inf)
                    newest = max(float(last), newest if newest is not None else -math.inf)
                if cursor == b"0":
                    break
            counters = await self.link.client.hgetall(self._stats_key)
        return CacheStats(
            entries=entries,
            bytes=size,
            oldest=oldest,
            newest=newest,
            hits=int(counters.get(b"hits", 0)),
            saved=float(counters.get(b"saved", 0.0)),
        )

    async def prune(self) -> int:
        return 0  # Redis expires entries by itself

    async def clear(self) -> int:
        with self._failing():
            dropped = await self._clear_all(self._pattern)
            await self._clear_all(self._logs)
            await self.link.client.delete([self._stats_key])
        return dropped

    async def _clear_all(self, pattern: str) -> int:
        """Drop every key that matches `pattern`, a SCAN step at a time; how many."""
        cursor, dropped = b"0", 0
        while True:
            step: list[Any] = await self._clear_step(args=[cursor, pattern])
            cursor, n = step
            dropped += int(n)
            if cursor == b"0":
                return dropped

    async def close(self) -> None:
        await self._exits.aclose()

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """Redis failing (lost, refusing, silent past the link's timeout): a CacheError."""
        try:
            yield
        except FAILURES as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CacheError(f"cache {self.link.url}: {reason}") from exc
