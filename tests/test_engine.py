"""The engine's batching, retries and record order, against an in-process fake API.

Fast unit tests (httpx.MockTransport): the network behaviour is tested against the emulator
over a real socket in test_engine_emulator.py.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from dfs_async import (
    DataForSEO,
    Failure,
    PageDone,
    PageProgress,
    Record,
    RetryPolicy,
    TargetDone,
)

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.001, cap=0.01, slow_base=0.001, throttle_base=0.001)


def size_of(target: str) -> int:
    return sum(map(ord, target)) % 23


class FakeAPI:
    """Answers every task of a POST on its own; pages of `size_of(target)` items."""

    def __init__(self, *, flaky: int = 0, refused: frozenset[str] = frozenset()) -> None:
        self.batches: list[int] = []
        self.flaky = flaky  # the first `flaky` answers of each (target, offset) are 40103
        self.refused = refused  # targets answered 40501
        self.seen: collections.Counter[tuple[str, int]] = collections.Counter()
        self.cost = 0.0

    def handler(self, request: httpx.Request) -> httpx.Response:
        posted = msgspec.json.decode(request.content)
        self.batches.append(len(posted))
        tasks = [self.task(t) for t in posted]
        cost = sum(t["cost"] for t in tasks)
        self.cost += cost
        body = {"status_code": 20000, "status_message": "Ok.", "cost": cost, "tasks": tasks}
        return httpx.Response(200, content=msgspec.json.encode(body))

    def task(self, posted: dict[str, Any]) -> dict[str, Any]:
        target, offset, limit = posted["target"], posted["offset"], posted["limit"]
        key = (target, offset)
        self.seen[key] += 1
        if target in self.refused:
            return {"status_code": 40501, "status_message": "Invalid Field: 'target'.", "cost": 0}
        if self.seen[key] <= self.flaky:
            return {"status_code": 40103, "status_message": "Task Failed.", "cost": 0.001}
        total = size_of(target)
        urls = [f"https://{target}/p{i}" for i in range(offset, min(offset + limit, total))]
        items = [{"type": "backlinks_page_summary", "url": u} for u in urls]
        result = {"target": target, "total_count": total, "items_count": len(items), "items": items}
        return {
            "status_code": 20000,
            "status_message": "Ok.",
            "cost": round(0.02 + 0.00003 * len(items), 5),
            "result": [result],
        }


def client(api: FakeAPI, **kwargs: Any) -> DataForSEO:
    options: dict[str, Any] = {"rate": None, "retry_policy": FAST, "concurrency": 4}
    options.update(kwargs)
    return DataForSEO(
        "me",
        "pw",
        base_url="http://api.test",
        transport=httpx.MockTransport(api.handler),
        **options,
    )


async def test_every_item_once_through_retries_refusals_and_invalid_targets() -> None:
    api = FakeAPI(flaky=1, refused=frozenset({"refused.com"}))
    targets = [f"t{i}.com" for i in range(40)] + ["refused.com", "not a target"]
    events: list[Any] = []
    async with client(api) as dfs:
        async with dfs.backlinks.domain_pages_summary.stream(targets, limit=4) as records:
            events = [event async for event in records.events()]
        stats = dfs.stats
    assert set(api.batches) == {1}  # one task a request
    items = collections.Counter((e.target, e.item.url) for e in events if isinstance(e, Record))
    expected = {(t, f"https://{t}/p{i}") for t in targets[:40] for i in range(size_of(t))}
    assert set(items) == expected
    assert all(n == 1 for n in items.values())  # exactly once, though every page was retried
    failures = {e.target: e for e in events if isinstance(e, Failure)}
    assert failures["refused.com"] == Failure("refused.com", 40501, "Invalid Field: 'target'.", 1)
    assert failures["not a target"].status_code == 40501
    assert failures["not a target"].attempts == 0
    assert records.failures == [e for e in events if isinstance(e, Failure)]
    done = {e.target: e for e in events if isinstance(e, TargetDone)}
    assert set(done) == set(targets[:40])
    assert all(done[t].items == size_of(t) for t in done)
    assert stats.targets_done == 40 and stats.targets_failed == 2
    assert stats.items == len(expected)
    assert stats.retries == {40103: sum(1 for key in api.seen if key[0] != "refused.com")}
    assert stats.cost == pytest.approx(api.cost)
    assert stats.requests == len(api.batches)


async def test_a_targets_end_comes_after_all_its_records() -> None:
    """Per target: each page's Records then its PageDone, and the TargetDone last of all."""
    api = FakeAPI(flaky=1)
    targets = [f"site{i}.com" for i in range(30)]
    async with client(api, concurrency=6) as dfs:
        stream = dfs.backlinks.domain_pages_summary.stream(targets, limit=2)
        async with stream as records:
            ended: set[str] = set()
            unpaged: collections.Counter[str] = collections.Counter()
            pages: dict[str, set[int]] = collections.defaultdict(set)
            async for event in records.events():
                assert event.target not in ended
                if isinstance(event, Record):
                    unpaged[event.target] += 1
                elif isinstance(event, PageDone):
                    assert event.items == unpaged.pop(event.target, 0)
                    assert event.total_count == size_of(event.target)
                    assert event.offset not in pages[event.target]
                    pages[event.target].add(event.offset)
                else:
                    assert isinstance(event, TargetDone)
                    assert not unpaged[event.target]
                    assert len(pages[event.target]) == event.pages
                    ended.add(event.target)
    assert ended == set(targets)


async def test_a_resumed_stream_asks_and_delivers_only_the_pages_not_answered_before() -> None:
    """`resume`: what a first stream's PageDone events said, handed to a second stream."""
    targets = [f"site{i}.com" for i in range(12)]
    answered: dict[str, set[int]] = collections.defaultdict(set)
    totals: dict[str, int | None] = {}
    everything: dict[str, list[int]] = collections.defaultdict(list)  # positions delivered
    async with (
        client(FakeAPI()) as dfs,
        dfs.backlinks.domain_pages_summary.stream(targets, limit=3) as records,
    ):
        async for event in records.events():
            if isinstance(event, Record):
                everything[event.target].append(int(str(event.item.url).rsplit("/p", 1)[1]))
            elif isinstance(event, PageDone) and event.offset % 2 == 0:  # "a crash": some kept
                answered[event.target].add(event.offset)
                totals[event.target] = event.total_count
    answered["site0.com"] = set(range(0, size_of("site0.com"), 3))  # all of it
    progress = {t: PageProgress(frozenset(answered[t]), totals[t]) for t in answered}
    second = FakeAPI()
    async with client(second) as dfs:
        stream = dfs.backlinks.domain_pages_summary.stream(targets, limit=3, resume=progress)
        async with stream as records:
            events = [e async for e in records.events()]
    owed = {(t, o) for t in targets for o in set(range(0, size_of(t), 3)) - answered[t]}
    assert set(second.seen) == owed and all(n == 1 for n in second.seen.values())
    again: dict[str, list[int]] = collections.defaultdict(list)
    for e in events:
        if isinstance(e, Record):
            again[e.target].append(int(str(e.item.url).rsplit("/p", 1)[1]))
    for t in targets:
        kept = [p for p in everything[t] if p // 3 * 3 in answered[t]]
        assert sorted(kept + again[t]) == list(range(size_of(t)))  # each item exactly once
    done = {e.target: e for e in events if isinstance(e, TargetDone)}
    assert set(done) == set(targets) and done["site0.com"] == TargetDone("site0.com", 0, 0)


async def test_targets_are_read_lazily() -> None:
    pulled = 0

    def millions() -> Iterator[str]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield f"host{i}.com"

    api = FakeAPI()
    async with (
        client(api, concurrency=3) as dfs,
        dfs.backlinks.domain_pages_summary.stream(millions(), limit=5) as records,
    ):
        seen = 0
        async for _ in records:
            seen += 1
            if seen == 50:
                break
    assert pulled < 100


async def test_an_async_generator_of_targets_is_read_and_closed() -> None:
    closed = False

    async def targets() -> AsyncIterator[str]:
        nonlocal closed
        try:
            for i in range(10_000):
                yield f"gen{i}.com"
        finally:
            closed = True

    api = FakeAPI()
    async with (
        client(api) as dfs,
        dfs.backlinks.domain_pages_summary.stream(targets(), limit=5) as records,
    ):
        async for record in records:
            assert record.target.startswith("gen")
            break
    assert closed


async def test_retries_are_bounded_by_max_attempts() -> None:
    api = FakeAPI(flaky=10)
    async with client(api, retry_policy=dataclasses.replace(FAST, max_attempts=3)) as dfs:
        async with dfs.backlinks.domain_pages_summary.stream(["a.com", "b.com"]) as records:
            assert [r async for r in records] == []
        assert dfs.stats.retries == {40103: 4}
    assert sorted(records.failures, key=lambda f: f.target) == [
        Failure("a.com", 40103, "Task Failed.", 3),
        Failure("b.com", 40103, "Task Failed.", 3),
    ]
    assert api.seen == {("a.com", 0): 3, ("b.com", 0): 3}
