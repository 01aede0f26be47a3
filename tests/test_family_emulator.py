"""The whole family against the emulator over a real loopback socket, asyncio and trio.

Each kind's path is tested for exactly-once delivery under the emulator's faults: offset
pages (test_engine_emulator.py), the cursor chain of `backlinks` past offset 20,000, bulk
packing (with server-invalid targets mixed in), the single result and the series, the
intersections' queries and the utilities.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from dfs_async import DataForSEO, Failure, Record, RetryPolicy, TargetDone
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, FaultConfig, running_emulator
from dfs_async.endpoints import BY_NAME, ENDPOINTS

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)
FAULTS = FaultConfig(
    seed=3,
    http_500=0.05,
    envelope_50000=0.05,
    task_40103=0.05,
    drop_connection=0.03,
    truncated_body=0.03,
)
DOMAINS = ["alpha.com", "beta.org", "gamma.net"]


@asynccontextmanager
async def session(**config: Any) -> AsyncIterator[tuple[EmulatorHandle, DataForSEO]]:
    async with running_emulator(EmulatorConfig(rate_limit=10**6, **config)) as emu:
        client = DataForSEO(
            emu.login, emu.password, base_url=emu.base_url, rate=None, retry_policy=FAST
        )
        async with client as dfs:
            yield emu, dfs


async def collect(call: Any, targets: list[Any], **fields: Any) -> tuple[list[Any], list[Any]]:
    async with call.stream(targets, **fields) as records:
        events = [event async for event in records.events()]
    return [e for e in events if isinstance(e, Record)], [e for e in events if type(e) is Failure]


@pytest.mark.parametrize(
    "name",
    [e.name for e in ENDPOINTS if e.name not in ("domain_intersection", "page_intersection")],
)
async def test_every_endpoint_streams_what_the_corpus_holds(name: str) -> None:
    """Each endpoint, under faults, delivers exactly its corpus answer, once."""
    spec = BY_NAME[name]
    async with session(faults=FAULTS, max_pages=30) as (emu, dfs):
        fields: dict[str, Any] = {}
        if "limit" in spec.fields:
            fields["limit"] = 50  # several pages per target
        records, failures = await collect(getattr(dfs.backlinks, name), DOMAINS, **fields)
        assert failures == []
        assert {r.target for r in records} <= set(DOMAINS)
        assert records  # the corpus holds something for these domains
        for domain in DOMAINS:
            got = [r.item for r in records if r.target == domain]
            unit = spec.unit(domain)[1]
            expected = _expected(emu, spec.name, unit, spec.paging.max_limit)
            assert sorted(map(_key, got)) == sorted(map(_key, expected)), domain


def _expected(emu: EmulatorHandle, name: str, unit: dict[str, Any], paged: int | None) -> list[Any]:
    """Every record of a unit, asked of the corpus directly (one big page when paged)."""
    result, _ = emu.app.corpus.answer_task(name, {**unit, **({"limit": 10**9} if paged else {})})
    if name == "summary":
        return [result]
    return list(result.items or ())


def _key(item: Any) -> bytes:
    import msgspec

    return msgspec.json.encode(item)


async def test_summary_agrees_with_the_other_answers() -> None:
    async with session() as (_, dfs):
        target = "delta.com"
        summary = await dfs.backlinks.summary(target)
        backlinks = await dfs.backlinks.backlinks(target, limit=1)
        referring = await dfs.backlinks.referring_domains(target, limit=1)
        figures: dict[str, Any] = {}
        for name in ("bulk_backlinks", "bulk_referring_domains", "bulk_ranks", "bulk_spam_score"):
            async with getattr(dfs.backlinks, name).stream([target]) as records:
                (record,) = [r async for r in records]
                figures[name] = record.item
    assert summary.backlinks == backlinks.total_count == figures["bulk_backlinks"].backlinks
    assert summary.referring_domains == referring.total_count
    assert summary.referring_domains == figures["bulk_referring_domains"].referring_domains
    assert summary.rank == figures["bulk_ranks"].rank
    assert summary.backlinks_spam_score == figures["bulk_spam_score"].spam_score


async def test_backlinks_past_offset_20000_arrive_exactly_once_under_faults() -> None:
    """A target of more than 45,000 backlinks: offsets to 20,000 in parallel, then the
    `search_after_token` chain; no offset above 20,000 is ever sent (the emulator would
    refuse it: 40501), every backlink once."""
    async with session(faults=FAULTS) as (emu, dfs):
        target = "bigsite.com"
        total = (await dfs.backlinks.backlinks(target, limit=1)).total_count
        assert total > 45_000
        records, failures = await collect(dfs.backlinks.backlinks, [target])
        assert failures == []
        assert len(records) == total
        every, _ = emu.app.corpus.answer_task("backlinks", {"target": target, "limit": 10**6})
        assert sorted(_key(r.item) for r in records) == sorted(map(_key, every.items))
        assert emu.app.counters.by_status.get(40501, 0) == 0


async def test_a_bulk_audit_of_ten_thousand_targets_takes_ten_requests_a_endpoint() -> None:
    targets = [f"site{i}.com" for i in range(10_000)]
    async with session() as (emu, dfs):
        for name in ("bulk_ranks", "bulk_backlinks"):
            emu.app.reset_counters()
            records, failures = await collect(getattr(dfs.backlinks, name), targets)
            assert failures == [] and len({r.target for r in records}) == 10_000
            assert emu.app.counters.requests == 10


@pytest.mark.parametrize("faults", [None, FAULTS], ids=["no faults", "faults"])
async def test_server_invalid_targets_are_isolated_and_the_others_delivered(
    faults: FaultConfig | None,
) -> None:
    """A task refused as invalid is split until its bad targets are isolated. Without
    faults every valid target is delivered; under faults (about one request in five fails,
    and a failed pack costs each of its targets an attempt) a valid target is delivered
    once or reported as failed transiently, never lost, never twice, never as invalid."""
    targets = [f"site{i}.com" for i in range(3000)]
    bad = ["gone.invalid", "nowhere.test", "dead.invalid"]
    for i, one in enumerate(bad):
        targets.insert(500 + 900 * i, one)
    async with session(**({"faults": faults} if faults else {})) as (_, dfs):
        records, failures = await collect(dfs.backlinks.bulk_spam_score, targets)
    delivered = collections.Counter(r.target for r in records)
    assert set(delivered.values()) == {1}
    failed = {f.target: f.status_code for f in failures}
    assert set(bad) <= set(failed)  # isolated (under faults, perhaps transiently first)
    if faults is None:
        assert {t: failed[t] for t in bad} == dict.fromkeys(bad, 40501)
    transient = {t for t, c in failed.items() if t not in bad}
    assert all(failed[t] != 40501 for t in transient)
    assert set(delivered) | transient == set(targets) - set(bad)
    assert not set(delivered) & transient
    if faults is None:
        assert not transient
    else:  # a pack failing for good takes its targets along: few, and reported
        assert len(transient) < len(targets) // 10


async def test_an_intersection_query_is_one_unit_of_work() -> None:
    async with session() as (_, dfs):
        records, failures = await collect(
            dfs.backlinks.domain_intersection, ["alpha.com,beta.org", ["gamma.net", "delta.com"]]
        )
        assert failures == []
        assert {r.target for r in records} <= {"alpha.com,beta.org", "gamma.net,delta.com"}
        page = await dfs.backlinks.domain_intersection("alpha.com,beta.org")
        assert page.total_count == sum(r.target == "alpha.com,beta.org" for r in records)


async def test_series_items_are_the_records_and_dates_are_checked_first() -> None:
    async with session() as (emu, dfs):
        records, failures = await collect(
            dfs.backlinks.timeseries_summary, DOMAINS, date_from="2025-01-01", group_range="month"
        )
        assert failures == [] and len(records) >= 3 * 11
        with pytest.raises(ValueError, match="2019-01-30"):
            dfs.backlinks.timeseries_summary.stream(DOMAINS, date_from="2019-01-01")
    assert emu.app.counters.by_status.get(40501, 0) == 0


async def test_the_utilities_answer() -> None:
    async with session() as (_, dfs):
        (index,) = await dfs.backlinks.index()
        assert index.total_backlinks and index.index_history
        (filters,) = await dfs.backlinks.available_filters()
        assert "rank" in filters.backlinks and "url" in filters.domain_pages_summary
        errors = await dfs.backlinks.errors(limit=5)
        assert isinstance(errors, list) and len(errors) <= 5


async def test_targets_done_once_per_unit() -> None:
    async with session() as (_, dfs), dfs.backlinks.summary.stream(DOMAINS) as records:
        done = [e.target async for e in records.events() if isinstance(e, TargetDone)]
    assert sorted(done) == sorted(DOMAINS)
