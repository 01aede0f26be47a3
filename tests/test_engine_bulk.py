"""Bulk packing in the engine, against an in-process fake API (fast unit tests).

The emulator over a real socket is in test_engine_emulator.py; here the fake answers a bulk
task with one item per target, or refuses the whole task (40501) when it holds a target the
"server" does not accept, so the split-and-isolate path is exercised exactly.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import msgspec
import pytest

from dfs_async import DataForSEO, Failure, PageDone, PageProgress, Record, RetryPolicy, TargetDone

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.001, cap=0.01, slow_base=0.001, throttle_base=0.001)


class FakeBulkAPI:
    """`bulk_ranks`: one item per target; a task holding a refused target is refused whole."""

    def __init__(
        self,
        refused: frozenset[str] = frozenset(),
        flaky: int = 0,
        missing: frozenset[str] = frozenset(),
    ) -> None:
        self.refused = refused
        self.flaky = flaky  # the first `flaky` requests answer 50000
        self.missing = missing  # targets the answer has no item for
        self.tasks: list[list[str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        (task,) = msgspec.json.decode(request.content)
        targets = task["targets"]
        self.tasks.append(targets)
        if len(self.tasks) <= self.flaky:
            return self.envelope({"status_code": 50000, "status_message": "Error.", "cost": 0})
        if self.refused & set(targets):
            answer = {"status_code": 40501, "status_message": "Invalid Field: 'targets'."}
            return self.envelope({**answer, "cost": 0})
        items = [
            {"type": "bulk_ranks", "target": t, "rank": len(t)}
            for t in reversed(targets)
            if t not in self.missing
        ]
        result = {"items_count": len(items), "items": items}
        cost = round(0.02 + 0.00003 * len(items), 5)
        return self.envelope({"status_code": 20000, "cost": cost, "result": [result]})

    def envelope(self, task: dict[str, Any]) -> httpx.Response:
        body = {"status_code": 20000, "cost": task["cost"], "tasks": [task]}
        return httpx.Response(200, content=msgspec.json.encode(body))


def client(api: FakeBulkAPI) -> DataForSEO:
    transport = httpx.MockTransport(api.handler)
    return DataForSEO(
        "me", "pw", base_url="http://api.test", transport=transport, rate=None, retry_policy=FAST
    )


async def stream(
    api: FakeBulkAPI, targets: Iterable[str] | AsyncIterator[str], **kw: Any
) -> list[Any]:
    async with client(api) as dfs, dfs.backlinks.bulk_ranks.stream(targets, **kw) as records:
        return [event async for event in records.events()]


async def one_by_one(targets: list[str]) -> AsyncIterator[str]:
    for target in targets:
        yield target


def by_target(events: list[Any]) -> dict[str, list[str]]:
    """Each target's events in order, by kind."""
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for event in events:
        seen[event.target].append(type(event).__name__)
    return dict(seen)


async def test_ten_thousand_targets_take_ten_requests() -> None:
    api = FakeBulkAPI()
    targets = [f"site{i}.com" for i in range(10_000)]
    events = await stream(api, targets)
    assert [len(task) for task in api.tasks] == [1000] * 10
    records = {e.target: e.item for e in events if isinstance(e, Record)}
    assert len(records) == 10_000 and all(records[t].rank == len(t) for t in targets)
    assert sum(isinstance(e, TargetDone) for e in events) == 10_000


async def test_a_bad_target_is_isolated_and_its_neighbours_delivered() -> None:
    bad = frozenset({"bad1.com", "bad2.com"})
    api = FakeBulkAPI(refused=bad, flaky=1)
    targets = [f"site{i}.com" for i in range(1500)]
    targets[10:10], targets[1200:1200] = ["bad1.com"], ["bad2.com"]
    events = await stream(api, targets)
    delivered = collections.Counter(e.target for e in events if isinstance(e, Record))
    assert set(delivered) == set(targets) - bad and set(delivered.values()) == {1}
    failures = {e.target: e for e in events if isinstance(e, Failure)}
    assert set(failures) == bad and {f.status_code for f in failures.values()} == {40501}
    # 2 packs (one retried after a 50000), then at most 2 * ceil(log2(1000)) halves per bad one
    assert len(api.tasks) <= 2 + 1 + 2 * 2 * 10
    assert all(len(task) <= 1000 for task in api.tasks)


async def test_targets_invalid_by_syntax_never_enter_a_task() -> None:
    api = FakeBulkAPI()
    events = await stream(api, ["good.com", "not a target", "http://"])
    assert api.tasks == [["good.com"]]
    failures = [e for e in events if isinstance(e, Failure)]
    assert {f.target for f in failures} == {"not a target", "http://"}
    assert all(f.attempts == 0 and f.status_code == 40501 for f in failures)


async def test_each_target_gets_its_record_page_done_and_target_done_in_order() -> None:
    api = FakeBulkAPI(missing=frozenset({"site7.com"}))
    targets = [f"site{i}.com" for i in range(2500)]
    events = await stream(api, targets)
    # packs full but the last (requests go out together: in any order)
    assert sorted(len(task) for task in api.tasks) == [500, 1000, 1000]
    seen = by_target(events)
    assert set(seen) == set(targets)
    assert seen["site7.com"] == ["PageDone", "TargetDone"]  # answered without its item
    assert all(seen[t] == ["Record", "PageDone", "TargetDone"] for t in targets if t != "site7.com")
    done = {e.target: e for e in events if isinstance(e, TargetDone)}
    assert done["site7.com"] == TargetDone("site7.com", 0, 1)
    assert done["site1.com"] == TargetDone("site1.com", 1, 1)
    pages = [e for e in events if isinstance(e, PageDone)]
    assert all(p.offset == 0 and p.total_count is None and p.cursor is None for p in pages)


async def test_a_plain_list_and_an_async_source_give_the_same_events() -> None:
    targets = [f"site{i}.com" for i in range(1200)]
    targets[5:5] = ["not a target", "WWW.Site3.com", "site9.com", "https://site2.com/"]
    from_list = await stream(FakeBulkAPI(), targets)
    from_async = await stream(FakeBulkAPI(), one_by_one(targets))
    assert sorted(map(repr, from_list)) == sorted(map(repr, from_async))
    assert by_target(from_list) == by_target(from_async)
    # a target twice (site3, site9, site2) is two jobs: each gets its own three events
    assert by_target(from_list)["site3.com"] == ["Record", "PageDone", "TargetDone"] * 2


async def test_a_fresh_target_gets_the_events_its_plan_would_give() -> None:
    # A target answered at its first request gets its events without a plan (the common
    # case); one resumed from nothing is given its plan at once: the same events.
    targets = [f"site{i}.com" for i in range(1500)]
    missing = frozenset({"site3.com", "site1400.com"})
    fresh = await stream(FakeBulkAPI(missing=missing), targets)
    planned = await stream(FakeBulkAPI(missing=missing), targets, resume=lambda t: PageProgress())
    assert sorted(map(repr, fresh)) == sorted(map(repr, planned))
    assert by_target(fresh) == by_target(planned)


async def test_a_resumed_target_is_done_without_a_request() -> None:
    api = FakeBulkAPI()
    targets = ["a.com", "b.com", "c.com", "bad target"]
    finished = {"b.com": PageProgress(answered=frozenset({0}))}
    events = await stream(api, targets, resume=finished)
    assert api.tasks == [["a.com", "c.com"]]
    seen = by_target(events)
    assert seen["b.com"] == ["TargetDone"]
    assert seen["a.com"] == seen["c.com"] == ["Record", "PageDone", "TargetDone"]
    assert seen["bad target"] == ["Failure"]
    assert next(e for e in events if e.target == "b.com") == TargetDone("b.com", 0, 0)


async def test_a_failing_pack_costs_each_target_an_attempt() -> None:
    api = FakeBulkAPI(flaky=10**6)  # every request fails (50000)
    targets = [f"site{i}.com" for i in range(3)]
    async with client(api) as dfs:
        async with dfs.backlinks.bulk_ranks.stream(targets) as records:
            events = [event async for event in records.events()]
        stats = dfs.stats
    attempts = FAST.max_attempts
    sent = collections.Counter(t for task in api.tasks for t in task)
    assert sent == dict.fromkeys(targets, attempts)  # each pack sent cost each target one
    assert sorted(events, key=repr) == [Failure(t, 50000, "Error.", attempts) for t in targets]
    assert (stats.targets_failed, stats.targets_done, stats.pages) == (3, 0, 0)


async def test_the_stats_count_each_target_once() -> None:
    api = FakeBulkAPI(refused=frozenset({"bad.com"}), flaky=1)
    targets = [f"site{i}.com" for i in range(1500)] + ["bad.com", "not a target"]
    async with client(api) as dfs:
        async with dfs.backlinks.bulk_ranks.stream(targets) as records:
            events = [event async for event in records.events()]
        stats = dfs.stats
    assert stats.targets_done == 1500 == sum(isinstance(e, TargetDone) for e in events)
    assert stats.targets_failed == 2 == sum(isinstance(e, Failure) for e in events)
    # pages: answered requests (a pack each), retries: requests retried (the first pack)
    answered = [t for t in api.tasks[api.flaky :] if "bad.com" not in t]
    assert stats.pages == len(answered) and stats.items == 1500
    assert stats.retries == {50000: 1}
