"""The corpus on its own (no socket): sizes, reproducibility, the query interface."""

from __future__ import annotations

import statistics

import pytest

from dfs_async.emulator import EmulatorConfig
from dfs_async.emulator.corpus import Corpus, host_size
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
