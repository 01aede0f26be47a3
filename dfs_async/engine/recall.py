"""The response cache as the engine uses it (`Recall`): which answers a request takes from the
cache instead of the server, and which it keeps for the next time.

- Whole answers (an awaited call, a page of a stream): the key is the task's
  (`cache.keys.cache_key`); the entry is the response body as the server sent it (nothing
  to encode on a miss), and a hit is decoded by the endpoint's own decoder (`wire.read`):
  the same types and records as a fetch, for the CPU of the decode alone. An entry that
  does not decode as the endpoint's answer (another version wrote it) is a miss.
- A bulk task's targets: each target's entry is its item alone, keyed by the task's other
  fields and the target (`cache.keys.target_key`), costing its share of the request; a
  stream looks a pack's worth of targets up at once, and decodes its hits in one go.
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
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import msgspec

from dfs_async.cache.keys import cache_key, target_key
from dfs_async.cache.safe import Cache
from dfs_async.cache.store import Entry
from dfs_async.codes import Action
from dfs_async.endpoints import Endpoint
from dfs_async.plan import PageRequest
from dfs_async.records import Stats
from dfs_async.transport import Answer
from dfs_async.wire import Outcome, read

__all__ = ["Keep", "Recall", "complete"]

Keep = Callable[[Outcome, bytes], None]
"""Given a delivered outcome and the body it came in: keep it, if it is worth keeping."""

_ENCODER: Final = msgspec.json.Encoder()


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
        self._item_decoders: dict[str, tuple[msgspec.json.Decoder[Any], ...]] = {}

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

    def target_key(self, endpoint: Endpoint, fields: dict[str, Any]) -> Callable[[str], str]:
        """The key of each target of a bulk task with `fields` (see `cache.keys`)."""
        return target_key(self.server, endpoint.path, fields)

    def decode_items(self, endpoint: Endpoint, values: Sequence[bytes]) -> list[Any]:
        """Each of `values` as the endpoint's item, in one decode when they all are; None
        for one that is not (a miss)."""
        whole, one = self._item_decoders.get(endpoint.name) or self._decoders(endpoint)
        try:
            items: list[Any] = whole.decode(b"[" + b",".join(values) + b"]")
            return items
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
        out: list[Any] = []
        for value in values:
            try:
                out.append(one.decode(value))
            except (msgspec.DecodeError, msgspec.ValidationError):
                out.append(None)
        return out

    def _decoders(self, endpoint: Endpoint) -> tuple[msgspec.json.Decoder[Any], ...]:
        item = endpoint.item
        decoders = (msgspec.json.Decoder(list[item]), msgspec.json.Decoder(item))  # type: ignore[valid-type]
        self._item_decoders[endpoint.name] = decoders
        return decoders

    def keep_items(self, keys: Iterable[str], items: Iterable[Any], cost: float) -> None:
        """Keep each target's item under its key, at `cost` each; None (no item) is not
        kept."""
        now = time.time()
        encode = _ENCODER.encode
        self.cache.put_all(
            (key, Entry(encode(item), cost, now))
            for key, item in zip(keys, items, strict=True)
            if item is not None
        )

    # -- accounting and writing -----------------------------------------------------------

    def served(self, hits: int, items: int, saved: float) -> None:
        """`hits` answers came from the cache, with `items` items, saving `saved` USD."""
        self.cache.served(hits, saved)
        self._stats.count_hits(hits, items, saved)

    @property
    def due(self) -> bool:
        return self.cache.due

    async def flush(self) -> None:
        await self.cache.flush()

    async def close(self) -> None:
        await self.cache.close()
