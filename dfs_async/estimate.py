"""What a stream would send and could cost, before anything is sent (`EndpointCall.estimate`).

Nothing is sent: the first request of each target is built as the stream builds it (its
plan's first page, the one place a task is made), a bulk endpoint's targets are packed as
the stream packs them (its `Packer`), and the bound is priced at the account's price where
the client has read it, else the documented one. The estimates of several calls add up
(`Estimate.total`), which is how a job of several parts is priced as a whole.

With a response cache (`recall`), the one I/O: what it holds of those first requests (a bulk
endpoint's targets, the others' first pages) is looked up at once, counted apart (`cached`,
`saved`) and left out of the requests and the bound. Later pages are counted as paid: the
bound stays a bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from dfs_async.endpoints import Endpoint, Price
from dfs_async.errors import InvalidTarget
from dfs_async.money import money
from dfs_async.plan import ONLY_REQUEST, Bulk, pack_fields
from dfs_async.wire import build_task

if TYPE_CHECKING:
    from dfs_async.engine.recall import Recall

__all__ = ["Estimate", "estimate"]


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """What a stream of some targets would send first, and the most it could cost.

    - `tasks`: the first requests' tasks as they would be sent (the first few);
    - `requests`: the first requests (one per target, or per pack of a bulk endpoint's
      targets); `most_requests`: every request at most, retries aside (None: not bounded,
      a paged endpoint without `max_items`);
    - `cost`: the most `most_requests` can cost at `price` (None: not bounded);
      `first_cost`: the most the first requests can cost; `request_cost`: the most the
      first request can cost;
    - `page_size`: the items a first page asks for; `packed`: the targets go many a request
      (a bulk endpoint), `page_size` at most a request;
    - `targets`: the valid targets counted, `invalid` the others (no request for them);
    - `cached`: the first requests (a bulk endpoint's targets) the response cache answers
      instead, none of them counted above; `saved`: what they cost when they were fetched.
    """

    endpoint: str
    method: str
    path: str
    price: Price
    targets: int
    invalid: int
    requests: int
    most_requests: int | None
    cost: float | None
    first_cost: float
    request_cost: float
    page_size: int
    packed: bool = False
    tasks: list[dict[str, Any]] = msgspec.field(default_factory=list)
    cached: int = 0
    saved: float = 0.0

    @staticmethod
    def total(estimates: Iterable[Estimate]) -> float | None:
        """The most several estimated streams can cost together (None: one is unbounded)."""
        costs = [e.cost for e in estimates]
        return None if None in costs else round(sum(c for c in costs if c is not None), 9)

    def __repr__(self) -> str:
        bound = "unbounded" if self.cost is None else f"at most {money(self.cost)}"
        cached = f", {self.cached:,} from the cache" if self.cached else ""
        return (
            f"Estimate({self.endpoint}: {self.targets:,} targets, {self.requests:,} first"
            f" requests{cached}, cost {bound})"
        )


async def estimate(
    endpoint: Endpoint,
    targets: Iterable[Any],
    fields: dict[str, Any],
    *,
    limit: int,
    offset: int,
    max_items: int | None,
    price: Price,
    show: int,
    recall: Recall | None = None,
) -> Estimate:
    """The estimate of a stream of `targets` with `fields` (checked already, `limit` and
    `offset` apart), at `price`; `show`: how many first tasks to keep (a bulk task's targets
    cut to as many); `recall`: the response cache to look the first requests up in."""
    keys: list[str] = []
    units: list[dict[str, Any]] = []
    invalid = 0
    for raw in targets:
        try:
            key, unit = endpoint.unit(raw)
        except InvalidTarget:
            invalid += 1
            continue
        keys.append(key)
        units.append(unit)
    common: dict[str, Any] = {
        "endpoint": endpoint.name, "method": endpoint.method, "path": endpoint.path,
        "price": price, "targets": len(keys), "invalid": invalid,
    }  # fmt: skip
    kind = endpoint.paging
    if isinstance(kind, Bulk):
        held: Mapping[int, float] = {}
        if recall is not None:
            answers = recall.held(endpoint, fields)
            await answers.start()
            held = answers.shares(keys)
        packed = [target for i, target in enumerate(keys) if i not in held]
        return _packed(endpoint, kind, packed, fields, price, show, common, held)
    first = kind.plan(limit=limit, offset=offset, max_items=max_items).owed()[0]
    each = price.worst(first.limit)
    held = {}
    if recall is not None:
        tasks = [build_task(endpoint, fields, unit, first) for unit in units]
        held = await _held(recall, [recall.key(endpoint, task) for task in tasks])
        tasks = [task for i, task in enumerate(tasks) if i not in held][:show]
    else:
        tasks = [build_task(endpoint, fields, unit, first) for unit in units[:show]]
    sizes = _pages(limit, max_items) if kind.max_limit is not None else [first.limit]
    cost = None
    if sizes is not None:
        cost = round(len(keys) * sum(map(price.worst, sizes)) - len(held) * each, 9)
    sent = len(keys) - len(held)
    return Estimate(
        **common,
        requests=sent,
        most_requests=None if sizes is None else len(keys) * len(sizes) - len(held),
        cost=cost,
        first_cost=round(sent * each, 9),
        request_cost=each,
        page_size=first.limit,
        tasks=tasks,
        cached=len(held),
        saved=round(sum(held.values()), 9),
    )


async def _held(recall: Recall, keys: list[str]) -> dict[int, float]:
    """Which of `keys` the cache holds (by index), with what each cost."""
    entries = await recall.cache.get_many(keys)
    return {i: entry.cost for i, entry in enumerate(entries) if entry is not None}


def _pages(limit: int, max_items: int | None) -> list[int] | None:
    """The sizes of a target's pages at most, on the grid the paged kinds page on (each asks
    `limit`, the last only what is left of `max_items`); None: no bound without
    `max_items`."""
    if max_items is None:
        return None
    return [min(limit, max_items - start) for start in range(0, max_items, limit)]


def _packed(
    endpoint: Endpoint,
    kind: Bulk,
    targets: Sequence[str],
    fields: dict[str, Any],
    price: Price,
    show: int,
    common: dict[str, Any],
    held: Mapping[int, float],
) -> Estimate:
    """A bulk endpoint's `targets` to send, packed as the stream packs them (`held`: those
    the cache holds)."""
    packer = kind.packer()
    packer.add_many(enumerate(targets))
    packs = []
    while (pack := packer.next_pack()) is not None:
        packs.append(pack.targets)
        packer.on_answered(pack)
    tasks = []
    if packs:
        shown = list(packs[0][:show]) + (["..."] if len(packs[0]) > show else [])
        tasks.append(build_task(endpoint, fields, pack_fields(shown), ONLY_REQUEST))
    cost = round(len(packs) * price.per_request + len(targets) * price.per_item, 9)
    return Estimate(
        **common,
        requests=len(packs),
        most_requests=len(packs),
        cost=cost,
        first_cost=cost,
        request_cost=price.worst(len(packs[0]) if packs else 0),
        page_size=packer.capacity,
        packed=True,
        tasks=tasks,
        cached=len(held),
        saved=round(sum(held.values()), 9),
    )
