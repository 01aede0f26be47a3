"""Bulk packing in the engine, against an in-process fake API (fast unit tests).

The emulator over a real socket is in test_engine_emulator.py; here the fake answers a bulk
task with one item per target, or refuses the whole task (40501) when it holds a target the
"server" does not accept, so the split-and-isolate path is exercised exactly.
"""

from __future__ import annotations

import collections
from typing import Any

import httpx
import msgspec
import pytest

from dfs_async import DataForSEO, Failure, Record, RetryPolicy, TargetDone

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.001, cap=0.01, slow_base=0.001, throttle_base=0.001)


class FakeBulkAPI:
    """`bulk_ranks`: one item per target; a task holding a refused target is refused whole."""

    def __init__(self, refused: frozenset[str] = frozenset(), flaky: int = 0) -> None:
        self.refused = refused
        self.flaky = flaky  # the first `flaky` requests answer 50000
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
        items = [{"type": "bulk_ranks", "target": t, "rank": len(t)} for t in reversed(targets)]
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


async def stream(api: FakeBulkAPI, targets: list[str]) -> list[Any]:
    async with client(api) as dfs, dfs.backlinks.bulk_ranks.stream(targets) as records:
        return [event async for event in records.events()]


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
