"""What a caller gets back: records of a stream, one page of a call, and the client's stats.

`Record`, `PageDone`, `TargetDone` and `Failure` are the events of a stream, in this order
per target: each page's records followed by its `PageDone`, then exactly one `TargetDone` or
`Failure`. They are frozen msgspec Structs (cheap to create by the million, no gc tracking:
they hold no cycles). `PageProgress` goes the other way: what an earlier run delivered of a
target, for a stream to resume it (see `plan/offset.py`, "Seeded plans").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from dfs_async.money import money

T = TypeVar("T")

__all__ = [
    "Event",
    "Failure",
    "Page",
    "PageDone",
    "PageProgress",
    "Record",
    "Stats",
    "TargetDone",
]


class Record(msgspec.Struct, Generic[T], frozen=True, gc=False):
    """One item of one target; `target` is the normalised target (see normalize_target),
    `item` the endpoint's item (or, for an unpaged endpoint, its result)."""

    target: str
    item: T


class PageDone(msgspec.Struct, frozen=True, gc=False):
    """The page at `offset` of `target` was answered; its `items` Records came just before.

    `total_count` is the latest total the target's answers reported (None if none did). The
    offsets and the last total are what a caller records to resume the target later without
    asking these pages again (`PageProgress`). `cursor` (offset-then-cursor kinds only) is
    where the target's cursor chain stands after this answer: `(the next position it owes,
    the token to ask it with)`; it only moves forward, so the latest one is the one to keep.
    """

    target: str
    offset: int
    total_count: int | None
    items: int
    cursor: tuple[int, str] | None = None


class PageProgress(msgspec.Struct, frozen=True):
    """What an earlier run delivered of one target: the offsets of its answered pages (on
    the same `limit`/`offset`/`max_items` grid), the latest `total_count` it saw and, for an
    offset-then-cursor kind, the latest `PageDone.cursor` (where its cursor chain stood)."""

    answered: frozenset[int] = frozenset()
    total_count: int | None = None
    cursor: tuple[int, str] | None = None


class TargetDone(msgspec.Struct, frozen=True, gc=False):
    """Every page of a target was answered: `items` were delivered over `pages` pages."""

    target: str
    items: int
    pages: int


class Failure(msgspec.Struct, frozen=True, gc=False):
    """A target failed for good, with the last status code and message of the page at fault.

    `status_code` is None when no API code exists (a network error, a truncated body);
    `attempts` counts the requests sent for that page (0: refused before any request).
    """

    target: str
    status_code: int | None
    status_message: str
    attempts: int


Event = Record[Any] | PageDone | TargetDone | Failure


class Page(msgspec.Struct, Generic[T], frozen=True, gc=False):
    """One page of one target, as a single call of a paged endpoint returns it."""

    target: str
    total_count: int | None
    items: list[T]
    cost: float
    offset: int
    limit: int


@dataclass(repr=False)
class Stats:
    """Counters of one client, readable at any time (progress displays read them live).

    `requests` sent, and how many of them the server `answered` (any HTTP status); `pages`
    answered with results (a page, an unpaged result, a bulk request's targets: one each),
    the `items` they delivered; `targets_done` and `targets_failed` by streams.

    `retries` counts retried requests by what caused them: the API's status code, the HTTP
    status when there was no usable envelope (e.g. 500), or the kind of network failure when
    there was no usable answer at all (`"timeout"`, `"connect"`, `"read"`, `"protocol"`,
    `"decode"`: see `transport.NetworkFailure`).
    `cost` is the sum of every task cost the server returned (failed tasks included), and
    `costs` the same by endpoint (`{"bulk_ranks": 0.05, ...}`: a job of several endpoints'
    shares). `cache_hits` counts the answers the response cache gave instead (a page, an
    unpaged result, a bulk target's item: one each; their items are in `items`, not in
    `pages`), `cache_saved` what fetching them had cost.
    """

    requests: int = 0
    answered: int = 0
    retries: dict[int | str, int] = field(default_factory=dict)
    pages: int = 0
    items: int = 0
    cost: float = 0.0
    costs: dict[str, float] = field(default_factory=dict)
    targets_done: int = 0
    targets_failed: int = 0
    cache_hits: int = 0
    cache_saved: float = 0.0
    started: float = field(default_factory=time.monotonic, repr=False)
    stopped: float | None = field(default=None, repr=False)

    @property
    def elapsed(self) -> float:
        """Seconds since the client was opened (until it was closed)."""
        end = self.stopped if self.stopped is not None else time.monotonic()
        return end - self.started

    def __repr__(self) -> str:
        return (
            f"Stats(requests={self.requests:,}, answered={self.answered:,},"
            f" retries={self.retries}, pages={self.pages:,}, items={self.items:,},"
            f" cost={money(self.cost)}, targets_done={self.targets_done:,},"
            f" targets_failed={self.targets_failed:,}, cache_hits={self.cache_hits:,},"
            f" cache_saved={money(self.cache_saved)}, elapsed={self.elapsed:.1f}s)"
        )

    def count_retry(self, cause: int | str) -> None:
        self.retries[cause] = self.retries.get(cause, 0) + 1

    def charge(self, endpoint: str, charged: float) -> None:
        """A task of `endpoint` cost `charged`. Sums are rounded below any price's precision:
        sums of floats drift (0.1 + 0.2 = 0.30000000000000004); money is shown to 5 decimals."""
        self.cost = round(self.cost + charged, 9)
        self.costs[endpoint] = round(self.costs.get(endpoint, 0.0) + charged, 9)

    def count_hits(self, hits: int, items: int, saved: float) -> None:
        """`hits` answers (with `items` items) came from the cache, saving `saved` USD."""
        self.cache_hits += hits
        self.items += items
        self.cache_saved = round(self.cache_saved + saved, 9)
