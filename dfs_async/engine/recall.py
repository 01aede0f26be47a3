"""The response cache as the engine uses it (`Recall`): which answers a request takes from the
cache instead of the server, and which it keeps for the next time.

- Whole answers (an awaited call, a page of a stream): the key is the task's
  (`cache.keys.cache_key`); the entry is the response body as the server sent it (nothing
  to encode on a miss), and a hit is decoded by the endpoint's own decoder (`wire.read`):
  the same types and records as a fetch, for the CPU of the decode alone. An entry that
  does not decode as the endpoint's answer (another version wrote it) is a miss.
- A bulk task's targets: its answer is kept whole, and a log says which targets it holds
  (`held.Held`, one per endpoint and task fields); a stream looks a pack's worth of
  targets up at once.
- Kept: what a task answered 20000 with, complete (`complete`): never a failure, a null
  result, a page shorter than asked while its total says there is more, nor a bulk target
  the answer had no item for.
- Cached: the endpoints of units of work only (`Endpoint.takes_units`); the utilities are
  free, and answer what changes (`errors`, `id_list`).

A hit takes no pacing slot, no place in the rate window and no budget; it counts in
`Stats.cache_hits` and `Stats.cache_saved`. Writes are batched by the `Cache` (`due`,
`flush`), off the hot path.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from dfs_async.cache.keys import bulk_log, cache_key
from dfs_async.cache.safe import Cache
from dfs_async.cache.store import Entry
from dfs_async.codes import Action
from dfs_async.endpoints import Endpoint
from dfs_async.engine.held import Held
from dfs_async.plan import Bulk, PageRequest
from dfs_async.records import Stats
from dfs_async.transport import Answer
from dfs_async.wire import Outcome, read

__all__ = ["Keep", "Recall", "complete"]

Keep = Callable[[Outcome, bytes], None]
"""Given a delivered outcome and the body it came in: keep it, if it is worth keeping."""


def complete(result: Any, page: PageRequest) -> bool:
    """Whether `result`, the answer to `page`, is whole: a result (not null), and if it is a
    page of a total, as long as asked or reaching the total."""
    if result is None:
        return False
    total = getattr(result, "total_count", None)
    if total is None:
        return True
    got = len(getattr(result, "items", None) or ())
    return got >= page.limit or page.offset + got >= total


class Recall:
    """One client's response cache, as its engine uses it; see the module docstring."""

    def __init__(self, cache: Cache, server: str, stats: Stats) -> None:
        self.cache = cache
        self.server = server
        self._stats = stats
        self._held: dict[str, Held] = {}  # by log

    def __repr__(self) -> str:
        return f"Recall({self.cache!r})"

    # -- whole answers --------------------------------------------------------------------

    def key(self, endpoint: Endpoint, task: dict[str, Any]) -> str:
        return cache_key(self.server, endpoint.path, task)

    async def entries(self, keys: Sequence[str]) -> list[Entry | None]:
        """The fresh entries of `keys` (answers, or bulk targets' items), in order; None for
        a miss."""
        return await self.cache.get_many(keys)

    def decoded(self, endpoint: Endpoint, entry: Entry) -> Outcome | None:
        """The entry as the outcome of the request it answers (its `cost`: what fetching it
        cost, not spent now), or None when it is not the endpoint's answer (a miss)."""
        outcome = read(Answer(200, entry.value), endpoint.decoder)
        if outcome.action is not Action.DELIVER:
            return None
        return Outcome(outcome.action, outcome.code, outcome.message, entry.cost, outcome.results)

    def keeper(self, key: str, page: PageRequest) -> Keep:
        """What keeps the answer to `page` under `key` (see `Engine.exchange`)."""
        return functools.partial(self._keep, key, page)

    def _keep(self, key: str, page: PageRequest, outcome: Outcome, body: bytes) -> None:
        if complete(outcome.result, page):
            self.cache.put(key, Entry(body, outcome.cost, time.time()))

    # -- bulk targets ---------------------------------------------------------------------

    def held(self, endpoint: Endpoint, fields: dict[str, Any]) -> Held:
        """The answers of `endpoint` (a bulk one) with `fields` (see `held`)."""
        log = bulk_log(self.server, endpoint.path, fields)
        held = self._held.get(log)
        if held is None:
            held = self._held[log] = Held(self.cache, log)
        return held

    async def items(self, held: Held, endpoint: Endpoint, targets: Sequence[str]) -> list[Any]:
        """The item the cache holds of each of `targets` of `endpoint` (None: a miss),
        counted as hits: the answers `held` names read, each decoded once."""
        fresh = held.fresh(targets)
        if not fresh:
            return [None] * len(targets)
        wanted: dict[str, list[str]] = {}  # an answer's key: the targets wanted of it
        for target, answer in fresh.items():
            wanted.setdefault(answer.key, []).append(target)
        keys = list(wanted)
        target_of = operator.attrgetter(cast(Bulk, endpoint.paging).key_field)
        found: dict[str, Any] = {}
        for key, entry in zip(keys, await self.entries(keys), strict=True):
            outcome = None if entry is None else self.decoded(endpoint, entry)
            result = None if outcome is None else outcome.result
            if result is None:
                continue
            items = result.items or ()
            item_of = dict(zip(map(target_of, items), items, strict=True))
            found.update((t, item_of[t]) for t in wanted[key] if t in item_of)
        out = list(map(found.get, targets))
        hits = len(out) - out.count(None)
        self.served(hits, hits, sum(fresh[t].share for t in targets if t in found))
        return out

    # -- accounting and writing -----------------------------------------------------------

    def served(self, hits: int, items: int, saved: float) -> None:
        """`hits` answers came from the cache, with `items` items, saving `saved` USD."""
        self.cache.served(hits, saved)
        self._stats.count_hits(hits, items, saved)

    @property
    def due(self) -> bool:
        return self.cache.due

    async def flush(self, *, read: bool = True) -> None:
        """Write what is buffered, then (with `read`: during a run) read what other clients
        added to the logs in use; a run's next lookup reads them anyway."""
        await self.cache.flush()
        if read:
            for held in list(self._held.values()):
                await held.read(wait=False)

    async def close(self) -> None:
        await self.cache.close()
