"""The corpus on its own (no socket): sizes, reproducibility, the query interface."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dfs_async.emulator import EmulatorConfig
from dfs_async.emulator.corpus import Corpus, host_size
from dfs_async.emulator.corpus.cache import Cache
from dfs_async.emulator.corpus.core import group_codes, source_codes
from dfs_async.emulator.corpus.tally import domain_figures, figures
from dfs_async.errors import UnknownField, ValidationError


def test_sizes_range_from_zero_to_tens_of_thousands_mostly_small() -> None:
    c = EmulatorConfig()
    sizes = [host_size(c.seed, f"site{i}.com", c.min_pages, c.max_pages, c.size_skew)
             for i in range(2000)]  # fmt: skip
    assert min(sizes) == 0 and max(sizes) > 20_000
    assert statistics.median(sizes) < 2_000
    assert sum(s > 10_000 for s in sizes) > 100


def test_target_sizes_pin_a_host() -> None:
    corpus = Corpus(EmulatorConfig(target_sizes={"pinned.com": 1234}))
    assert corpus.profile("pinned.com").pages == 1234
    total, items = corpus.query({"target": "pinned.com", "backlinks_status_type": "all"})
    assert total == len(items) == 1234


def test_the_same_seed_and_host_give_the_same_pages_in_any_corpus() -> None:
    a = Corpus(EmulatorConfig(seed=5, target_sizes={"x.com": 300}))
    b = Corpus(EmulatorConfig(seed=5, target_sizes={"x.com": 300}, corpus_cache_size=1))
    b.query({"target": "other.com"})  # x.com's structures evicted, rebuilt: still the same
    assert a.query({"target": "x.com"}) == b.query({"target": "x.com"})


def test_query_refuses_what_the_api_refuses() -> None:
    corpus = Corpus(EmulatorConfig())
    with pytest.raises(UnknownField):
        corpus.query({"target": "x.com", "nope": 1})
    with pytest.raises(ValidationError, match="limit"):
        corpus.query({"target": "x.com", "limit": 0})


TASKS = [
    ("domain_pages_summary", {"target": "x.com", "order_by": ["backlinks,desc"]}),
    ("referring_domains", {"target": "x.com", "filters": ["backlinks", ">", 1]}),
    ("referring_domains", {"target": "x.com", "include_subdomains": False}),
    ("anchors", {"target": "x.com", "backlinks_status_type": "all"}),
    ("backlinks", {"target": "x.com", "order_by": ["rank,desc"], "offset": 10}),
    ("backlinks", {"target": "x.com", "mode": "one_per_anchor"}),
    ("summary", {"target": "x.com", "backlinks_filters": ["dofollow", "=", True]}),
    ("referring_networks", {"target": "x.com", "network_address_type": "subnet"}),
    ("page_intersection", {"targets": {"1": "x.com", "2": "y.com"}}),
    ("domain_intersection", {"targets": {"1": "x.com", "2": "y.com"}}),
]


def test_an_answer_does_not_depend_on_what_was_asked_before() -> None:
    """The caches only trade memory for time: a corpus that dropped everything it built
    answers the same as one that kept it, and as one asked in another order."""
    config = EmulatorConfig(seed=5, target_sizes={"x.com": 300, "y.com": 200})
    kept = Corpus(config)
    first = [kept.answer_task(name, task) for name, task in TASKS]
    assert [kept.answer_task(name, task) for name, task in TASKS] == first
    small = Corpus(EmulatorConfig(seed=5, target_sizes={"x.com": 300, "y.com": 200},
                                  corpus_cache_size=1))  # fmt: skip
    for name, task in reversed(TASKS):
        small.answer_task("referring_domains", {"target": f"other-{name}.com"})
        assert small.answer_task(name, task) == first[TASKS.index((name, task))]


def test_the_cache_keeps_within_its_budget_and_builds_a_key_once() -> None:
    cache: Cache[int, bytes] = Cache(1000, len)
    for key in range(100):
        cache.get(key, lambda: b"x" * 300)
    assert cache.weight <= 1000 and len(cache) == 3
    builds = []
    release = threading.Event()

    def build() -> bytes:
        builds.append(1)
        release.wait(5)
        return b"built"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, "same", build) for _ in range(8)]  # type: ignore[arg-type]
        time.sleep(0.2)
        release.set()
        assert {f.result() for f in futures} == {b"built"}
    assert len(builds) == 1


@pytest.mark.parametrize("status", ["live", "lost", "all"])
def test_a_domains_whole_links_add_up_as_when_taken_one_by_one(status: str) -> None:
    """The arithmetic of whole lists (`tally`) and the link-by-link sums agree."""
    corpus = Corpus(EmulatorConfig(seed=2, target_sizes={"x.com": 500}))
    source = corpus.source("x.com")
    whole = corpus.grouping(source, status)
    listed = group_codes(source.links, list(source_codes(source, status)))
    assert list(whole.order) == list(listed.order)
    for x in list(whole.order)[:300]:
        a, b = whole.domain(x), listed.domain(x)
        assert isinstance(a.live, range) and isinstance(a.lost, range)
        assert isinstance(b.live, list) or isinstance(b.lost, list)  # link by link
        assert domain_figures(source.links, a) == figures(source.links, [b])
