"""The response cache through the client, against the emulator over a real loopback socket,
under asyncio and trio, in a local file and in a real Redis: a second run sends nothing and
delivers the same events; a bulk list overlapping an earlier one pays only for its new
targets; the audit, a job of several endpoints, likewise; a stale cursor falls back to the
walk again; a hit costs nothing and no budget; a stopped client takes nothing more from it;
an entry that is not the endpoint's answer is a miss; what failed is asked again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from dfs_async import (
    DataForSEO,
    Failure,
    Interrupted,
    PageDone,
    Record,
    RetryPolicy,
    TargetDone,
)
from dfs_async.audit import PARTS
from dfs_async.cache import CacheStats, Entry, Logs, cache_key
from dfs_async.emulator import EmulatorConfig, EmulatorHandle, running_emulator
from dfs_async.engine.recall import complete
from dfs_async.errors import ConfigurationError
from dfs_async.models import PagedResult
from dfs_async.plan import PageRequest

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base=0.005, cap=0.05, slow_base=0.01, throttle_base=0.005)
SIZES = {"one.com": 900, "two.com": 2500, "none.com": 0}  # 1, 3 and 1 pages of 1,000


@pytest.fixture(params=["sqlite", "redis"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "cache.db")
    url: str = request.getfixturevalue("redis_url")
    return url


@asynccontextmanager
async def emulator(**config: Any) -> AsyncIterator[EmulatorHandle]:
    async with running_emulator(EmulatorConfig(rate_limit=10**6, **config)) as emu:
        yield emu


def client(emu: EmulatorHandle, cache: Any, **options: Any) -> DataForSEO:
    return DataForSEO(
        emu.login, emu.password, base_url=emu.base_url, rate=None, retry_policy=FAST,
        cache=cache, **options,
    )  # fmt: skip


async def events_of(call: Any, targets: Sequence[str], **fields: Any) -> list[Any]:
    async with call.stream(targets, **fields) as records:
        return [event async for event in records.events()]


def by_target(events: list[Any]) -> dict[str, list[Any]]:
    """Each target's events in order (the stream's promise is per target)."""
    out: dict[str, list[Any]] = {}
    for event in events:
        out.setdefault(event.target, []).append(event)
    return out


async def test_a_second_run_sends_nothing_and_delivers_the_same_events(spec: str) -> None:
    async with emulator(target_sizes=SIZES) as emu:
        async with client(emu, spec) as dfs:
            first = await events_of(dfs.backlinks.domain_pages_summary, list(SIZES))
            paid = dfs.stats.cost
        assert emu.app.counters.requests == 5 and paid > 0
        emu.app.reset_counters()
        async with client(emu, spec) as dfs:
            second = await events_of(dfs.backlinks.domain_pages_summary, list(SIZES))
            stats = dfs.stats
            assert dfs.cache is not None and dfs.cache.on
        assert emu.app.counters.requests == 0
        assert (stats.requests, stats.cost, stats.pages) == (0, 0.0, 0)
        assert (stats.cache_hits, stats.cache_saved) == (5, pytest.approx(paid))
        assert stats.items == sum(type(e) is Record for e in first) and stats.targets_done == 3
        # the same events, target by target, of the same types: exactly once each
        first_of, second_of = by_target(first), by_target(second)
        assert second_of.keys() == first_of.keys()
        for target, events in first_of.items():
            assert sorted(map(repr, second_of[target])) == sorted(map(repr, events))
            assert type(second_of[target][-1]) is TargetDone
        kinds = {type(e.item) for e in second if type(e) is Record}
        assert kinds == {type(e.item) for e in first if type(e) is Record} and len(kinds) == 1
        # the store counts what it served, across clients
        stored = await _stats(spec)
        assert (stored.hits, stored.saved) == (5, pytest.approx(paid))


async def _stats(spec: str) -> CacheStats:
    from dfs_async.cache import open_store

    store = await open_store(spec)
    try:
        return await store.stats()
    finally:
        await store.close()


async def test_a_bulk_list_overlapping_an_earlier_one_pays_for_its_new_targets(
    spec: str,
) -> None:
    earlier = [f"site{i}.com" for i in range(1500)]
    later = earlier[500:] + [f"new{i}.com" for i in range(1000)]  # 1,000 shared, 1,000 new
    async with emulator() as emu:
        async with client(emu, spec) as dfs:
            await events_of(dfs.backlinks.bulk_ranks, earlier)
        emu.app.reset_counters()
        async with client(emu, spec) as dfs:
            events = await events_of(dfs.backlinks.bulk_ranks, later)
            stats = dfs.stats
        assert emu.app.counters.requests == 1  # the new targets, packed 1,000 a request
        # each target's share of its request: 500 of a pack of 1,000, 500 of one of 500
        assert stats.cache_hits == 1000 and stats.cache_saved == pytest.approx(0.05 / 2 + 0.035)
        per_target = by_target(events)
        assert set(per_target) == set(later)
        for target, mine in per_target.items():  # Record, PageDone, TargetDone: once each
            assert [type(e) for e in mine] == [Record, PageDone, TargetDone], target
            assert mine[0].item.target == target
        # the request's other fields are part of each target's key
        async with client(emu, spec) as dfs:
            await events_of(dfs.backlinks.bulk_ranks, later[:10], rank_scale="one_hundred")
            assert dfs.stats.cache_hits == 0


async def test_a_client_open_meanwhile_finds_another_s_bulk_answers(spec: str) -> None:
    """A client already open (its log read at its first run) finds at its next run what
    another client kept meanwhile: the log is read again when a run starts."""
    shared = [f"shared{i}.com" for i in range(1200)]
    async with emulator() as emu, client(emu, spec) as first:
        await events_of(first.backlinks.bulk_ranks, ["early.com"])
        async with client(emu, spec) as second:
            await events_of(second.backlinks.bulk_ranks, shared)
        emu.app.reset_counters()
        events = await events_of(first.backlinks.bulk_ranks, shared)
        assert emu.app.counters.requests == 0
        assert first.stats.cache_hits == len(shared)
        assert first.stats.cache_saved == pytest.approx(0.02 * 2 + 1200 * 0.00003)
    assert sorted(e.item.target for e in events if isinstance(e, Record)) == sorted(shared)


async def test_a_bulk_answer_gone_or_not_the_endpoint_s_is_fetched_again(
    dfs_emulator: EmulatorHandle,
) -> None:
    """The log names two answers: one whose entry is gone (evicted, or dropped by hand), one
    whose entry is not the endpoint's answer (another version's): their targets are misses,
    asked again, each delivered once."""
    store, targets = DictStore(), [f"t{i}.com" for i in range(1500)]
    async with client(dfs_emulator, store) as dfs:
        await events_of(dfs.backlinks.bulk_ranks, targets)
    assert len(store.entries) == 2 and sum(map(len, store.logs.values())) == 2
    gone, other = list(store.entries)
    del store.entries[gone]
    store.entries[other] = Entry(b'{"another": "version"}', 0.05)
    dfs_emulator.app.reset_counters()
    async with client(dfs_emulator, store) as dfs:
        events = await events_of(dfs.backlinks.bulk_ranks, targets)
        assert dfs.stats.cache_hits == 0
    assert dfs_emulator.app.counters.requests == 2
    assert sorted(e.item.target for e in events if isinstance(e, Record)) == sorted(targets)


async def test_an_audit_again_pays_only_for_what_the_cache_lacks(spec: str) -> None:
    """`dfs.audit` on a client with a cache: every part's answer for a domain is kept, so
    the same audit again sends nothing, its estimate counts what the cache holds, and an
    audit of a longer list pays only for the new domains, within a budget for those alone."""
    parts = [*PARTS, "summary"]
    domains = [f"site{i}.example.com" for i in range(40)]
    new = [f"new{i}.example.com" for i in range(10)]
    async with emulator() as emu:
        async with client(emu, spec) as dfs:
            async with dfs.audit(domains, parts=parts) as audit:
                first = {row.target: row async for row in audit}
            paid = dfs.stats.cost
        assert emu.app.counters.requests == len(PARTS) + len(domains) and paid > 0
        emu.app.reset_counters()
        async with client(emu, spec) as dfs:
            estimate = await dfs.audit.estimate(domains, parts=parts)
            async with dfs.audit(domains, parts=parts) as audit:
                second = {row.target: row async for row in audit}
            stats = dfs.stats
        assert emu.app.counters.requests == 0 and second == first
        assert (estimate.requests, estimate.cost, estimate.cached) == (0, 0, 40 * len(parts))
        assert estimate.saved == pytest.approx(paid)
        assert (stats.cost, stats.costs, stats.cache_hits) == (0, {}, 40 * len(parts))
        assert stats.cache_saved == pytest.approx(paid)
        # a longer list: a request a bulk part and one a new domain for summary, no more
        bulk, summary = 0.02 + len(new) * 0.00003, 0.02 + 0.00003
        budget = len(PARTS) * bulk + len(new) * summary
        async with client(emu, spec, max_cost=budget + 1e-6) as dfs:
            async with dfs.audit(domains + new, parts=parts) as audit:
                third = {row.target: row async for row in audit}
            assert dfs.stats.cost == pytest.approx(budget)
        assert emu.app.counters.requests == len(PARTS) + len(new)
        assert {t: r for t, r in third.items() if t in first} == first
        assert all(not third[t].failures and third[t].values["rank"] is not None for t in new)


async def test_a_stopped_client_takes_nothing_more_from_the_cache(tmp_path: Path) -> None:
    """`dfs.stop()` ends a stream at its next request, and an awaited call raises,
    whether the cache holds the answer or not."""
    targets = [f"site{i}.com" for i in range(50)]
    async with emulator() as emu, client(emu, str(tmp_path / "cache.db")) as dfs:
        await dfs.backlinks.summary("forbes.com")
        await events_of(dfs.backlinks.bulk_ranks, targets)
        await dfs.cache.flush()  # type: ignore[union-attr]
        dfs.stop()
        with pytest.raises(Interrupted):
            await dfs.backlinks.summary("forbes.com")
        with pytest.raises(Interrupted):
            await events_of(dfs.backlinks.bulk_ranks, targets)
        assert dfs.stats.cache_hits == 0 and emu.app.counters.requests == 2


async def test_an_awaited_call_is_answered_from_the_cache(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    async with emulator() as emu:
        async with client(emu, spec) as dfs:
            summary = await dfs.backlinks.summary("forbes.com")
            page = await dfs.backlinks.anchors("forbes.com", limit=5)
            ranks = await dfs.backlinks.bulk_ranks(["a.com", "b.com"])
            index = await dfs.backlinks.index()  # free, and it changes: never cached
        emu.app.reset_counters()
        async with client(emu, spec) as dfs:
            assert await dfs.backlinks.summary("forbes.com") == summary
            again = await dfs.backlinks.anchors("forbes.com", limit=5)
            assert (again.items, again.total_count, again.cost) == (
                page.items,
                page.total_count,
                0.0,
            )
            assert await dfs.backlinks.bulk_ranks(["a.com", "b.com"]) == ranks
            assert emu.app.counters.requests == 0
            assert await dfs.backlinks.index() == index
            assert emu.app.counters.requests == 1
            assert dfs.stats.cache_hits == 3 and dfs.stats.items == 1 + 5 + 2 + len(index)


async def test_a_stale_cursor_from_the_cache_is_walked_again_nothing_twice(
    tmp_path: Path,
) -> None:
    """`backlinks` past offset 20,000: a first run caches the grid and the first chain page;
    the server then forgets its tokens. A second run takes the grid and the first chain page
    from the cache, sends the cached token for the next one, is refused, and walks the chain
    again from the server: every backlink exactly once."""
    spec, target = str(tmp_path / "cache.db"), "bigsite.com"
    async with emulator(big_backlinks=23_500) as emu:
        total = emu.app.corpus.answer_task("backlinks", {"target": target, "limit": 1})[0]
        total = total.total_count
        assert 22_000 < total < 30_000  # a few chain pages past the first
        async with client(emu, spec) as dfs:
            first = await events_of(dfs.backlinks.backlinks, [target], max_items=22_000)
        assert sum(type(e) is Record for e in first) == 22_000
        emu.app.expire_tokens()
        emu.app.reset_counters()
        async with client(emu, spec) as dfs:
            events = await events_of(dfs.backlinks.backlinks, [target])
            hits = dfs.stats.cache_hits
        assert [e for e in events if type(e) is Failure] == []
        records = [e.item for e in events if type(e) is Record]
        assert len(records) == total
        every, _ = emu.app.corpus.answer_task("backlinks", {"target": target, "limit": 10**6})
        assert sorted(map(_key, records)) == sorted(map(_key, every.items))
        assert hits == 22  # the grid (0 to 20,000) and the first chain page
        assert emu.app.counters.by_status.get(40501) == 1  # the cached token, refused once


def _key(item: Any) -> bytes:
    return msgspec.json.encode(item)


async def test_a_hit_costs_no_budget(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    targets = [f"site{i}.com" for i in range(10)]
    async with emulator() as emu:
        async with client(emu, spec) as dfs:
            await events_of(dfs.backlinks.summary, targets)
        async with client(emu, spec, max_cost=0.01) as dfs:  # less than one request
            events = await events_of(dfs.backlinks.summary, targets)
            assert sum(type(e) is Record for e in events) == 10 and dfs.stats.cost == 0


async def test_what_failed_or_is_not_whole_is_asked_again(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    async with emulator(invalid_targets={"bad.com"}) as emu:
        for _ in range(2):
            async with client(emu, spec) as dfs:
                events = await events_of(dfs.backlinks.bulk_ranks, ["good.com", "bad.com"])
                failures = [e.target for e in events if type(e) is Failure]
                assert failures == ["bad.com"]
        # run 1: the pack (refused whole), then each half; run 2: "bad.com" alone
        assert emu.app.counters.requests == 3 + 1
    # a page shorter than asked while its total says there is more is not whole
    page = PageRequest(0, 100)
    assert complete(PagedResult(total_count=150, items=list(range(100))), page)
    assert complete(PagedResult(total_count=30, items=list(range(30))), page)
    assert not complete(PagedResult(total_count=150, items=list(range(60))), page)
    assert not complete(None, page)


async def test_an_entry_that_is_not_the_endpoint_s_answer_is_a_miss(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    async with emulator() as emu:
        async with client(emu, spec) as dfs:
            task = {"target": "forbes.com"}
            key = cache_key(emu.base_url, dfs.backlinks.summary.endpoint.path, task)
            assert dfs.cache is not None
            await dfs.cache.put_many({key: Entry(b'{"another": "version"}', 0.02)})
            summary = await dfs.backlinks.summary("forbes.com")
            assert summary is not None and emu.app.counters.requests == 1
            assert dfs.stats.cache_hits == 0
        async with client(emu, spec) as dfs:  # replaced by the answer fetched
            assert await dfs.backlinks.summary("forbes.com") == summary
            assert emu.app.counters.requests == 1 and dfs.stats.cache_hits == 1


async def test_the_ttl_is_how_long_an_answer_is_reused(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    async with emulator() as emu:
        async with client(emu, spec, cache_ttl=60) as dfs:
            await dfs.backlinks.summary("forbes.com")
        await anyio.sleep(0.3)
        async with client(emu, spec, cache_ttl=0.2) as dfs:
            await dfs.backlinks.summary("forbes.com")  # older than 0.2 s: asked again
            assert dfs.stats.cache_hits == 0
        async with client(emu, spec, cache_ttl=60) as dfs:
            await dfs.backlinks.summary("forbes.com")
            assert dfs.stats.cache_hits == 1
        assert emu.app.counters.requests == 2


async def test_the_estimate_counts_what_the_cache_holds(tmp_path: Path) -> None:
    spec = str(tmp_path / "cache.db")
    async with emulator(target_sizes=SIZES) as emu:
        async with client(emu, spec) as dfs:
            await events_of(dfs.backlinks.bulk_ranks, [f"s{i}.com" for i in range(1500)])
            await events_of(dfs.backlinks.domain_pages_summary, ["one.com"], max_items=2000)
            bulk = await dfs.backlinks.bulk_ranks.estimate([f"s{i}.com" for i in range(2500)])
            pages = await dfs.backlinks.domain_pages_summary.estimate(
                ["one.com", "two.com"], max_items=2000
            )
        assert (bulk.targets, bulk.cached, bulk.requests) == (2500, 1500, 1)
        assert bulk.cost == pytest.approx(0.02 + 1000 * 0.00003)
        assert bulk.saved == pytest.approx(0.02 * 2 + 1500 * 0.00003)
        # the first pages only: "one.com"'s is held; later pages are counted as paid
        assert (pages.cached, pages.requests, pages.most_requests) == (1, 1, 3)
        assert pages.cost == pytest.approx(3 * (0.02 + 1000 * 0.00003))
        assert [task["target"] for task in pages.tasks] == ["two.com"]
        unopened = DataForSEO("x", "y", cache=spec)  # nothing to look up in: all counted
        assert (await unopened.backlinks.bulk_ranks.estimate(["s1.com"])).cached == 0


class DictStore:
    """A store of one's own: the interface, on a dict."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.logs: dict[str, list[bytes]] = {}
        self.closed = False

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        return [self.entries.get(key) for key in keys]

    async def put_many(
        self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
    ) -> None:
        self.entries.update(entries)
        for log, records in (logs or {}).items():
            self.logs.setdefault(log, []).extend(records)

    async def read_log(self, log: str, after: str) -> tuple[list[bytes], str]:
        records = self.logs.get(log, [])[int(after or 0) :]
        return records, str(int(after or 0) + len(records))

    async def add_hits(self, hits: int, saved: float) -> None:
        pass

    async def stats(self) -> CacheStats:
        return CacheStats(entries=len(self.entries))

    async def prune(self) -> int:
        return 0

    async def clear(self) -> int:
        return 0

    async def close(self) -> None:
        self.closed = True


class CountingStore(DictStore):
    """A DictStore that counts its lookups (calls and keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[int] = []

    async def get_many(self, keys: Sequence[str], *, max_age: float) -> list[Entry | None]:
        self.lookups.append(len(keys))
        return await super().get_many(keys, max_age=max_age)


async def test_a_stream_looks_first_pages_up_a_batch_at_a_time(tmp_path: Path) -> None:
    """One lookup a batch of targets (their first pages), not one a page; a target whose
    first page the cache lacks is fetched to its end (one walk, one snapshot of its data),
    even if the cache holds later pages."""
    small = {f"t{i}.com": 10 for i in range(60)}
    async with emulator(target_sizes={**small, "two.com": 2500}) as emu:
        store = CountingStore()
        async with client(emu, store) as dfs:
            events = await events_of(dfs.backlinks.domain_pages_summary, [*small, "two.com"])
        assert sum(type(e) is TargetDone for e in events) == 61
        items = sum(type(e) is Record and e.target == "two.com" for e in events)
        assert emu.app.counters.requests == 63 and len(store.entries) == 63
        assert sum(store.lookups) == 61 and len(store.lookups) <= 4  # batches of 30
        # only two.com's later pages held: its first is fetched, and so are the others
        later = {
            key: entry
            for key, entry in store.entries.items()
            if msgspec.json.decode(entry.value)["tasks"][0]["data"].get("offset", 0) > 0
        }
        assert len(later) == 2
        emu.app.reset_counters()
        store = CountingStore()
        store.entries.update(later)
        async with client(emu, store) as dfs:
            events = await events_of(dfs.backlinks.domain_pages_summary, ["two.com"])
            assert dfs.stats.cache_hits == 0
        assert sum(type(e) is Record for e in events) == items > 2000
        assert emu.app.counters.requests == 3 and store.lookups == [1]


async def test_a_store_of_one_s_own_stays_open(dfs_emulator: EmulatorHandle) -> None:
    store = DictStore()
    for _ in range(2):
        async with client(dfs_emulator, store) as dfs:
            await dfs.backlinks.summary("forbes.com")
    assert len(store.entries) == 1 and not store.closed
    assert dfs_emulator.app.counters.requests == 1


async def test_a_store_that_fails_during_a_run_is_one_warning(
    dfs_emulator: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    class Failing(DictStore):
        async def put_many(
            self, entries: Mapping[str, Entry], *, ttl: float, logs: Logs | None = None
        ) -> None:
            raise OSError(28, "No space left on device")

    targets = [f"site{i}.com" for i in range(3000)]
    async with client(dfs_emulator, Failing()) as dfs:
        events = await events_of(dfs.backlinks.bulk_ranks, targets)
        assert dfs.cache is not None and not dfs.cache.on
    assert sum(type(e) is Record for e in events) == 3000
    [warning] = [r.getMessage() for r in caplog.records if r.name == "dfs_async.cache"]
    assert "No space left on device" in warning


def test_the_environment_names_the_default_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFORSEO_CACHE", str(tmp_path / "env.db"))
    assert DataForSEO("x", "y").cache_spec == str(tmp_path / "env.db")
    assert DataForSEO("x", "y", cache=False).cache_spec is None
    assert DataForSEO("x", "y", cache="other.db").cache_spec == "other.db"
    for bad in ({"cache": 3}, {"cache": True}, {"cache_ttl": 0}, {"cache_ttl": "1d"}):
        with pytest.raises(ConfigurationError, match="cache"):
            DataForSEO("x", "y", **bad)


async def test_a_store_that_cannot_be_used_is_refused_when_the_client_opens(
    tmp_path: Path, dfs_emulator: EmulatorHandle
) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match="cannot create its directory"):
        async with client(dfs_emulator, str(tmp_path / "file" / "cache.db")):
            pass
    assert dfs_emulator.app.counters.requests == 0
