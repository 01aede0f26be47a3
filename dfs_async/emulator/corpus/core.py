"""The corpus object: a target's pages, link profile and backlinks, cached, and the dispatch
of a checked task to its endpoint's answer (`answer_task(name, task)`).

Answers register themselves in `ANSWERS` by endpoint name (see `answers_*` modules); each
returns `(result, items_charged)`: the app charges `per_request + per_item * items_charged`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.corpus.links import (
    BLOCK,
    Profile,
    RecordCache,
    Runs,
    backlink_block,
    is_server_invalid,
    make_profile,
    make_runs,
)
from dfs_async.emulator.corpus.pages import (
    LRU,
    HostCorpus,
    backlinks_share,
    build_host,
    host_size,
    make_item,
    scale_rank,
    stable_seed,
    truncate_maps,
)
from dfs_async.emulator.query import compile_filter, sort_items
from dfs_async.endpoints import DOMAIN_PAGES_SUMMARY, Endpoint
from dfs_async.models import Backlink, DomainPageSummary
from dfs_async.targets import target_host

Answer = Callable[["Corpus", Mapping[str, Any]], tuple[Any, int]]
ANSWERS: Final[dict[str, Answer]] = {}
"""Each endpoint's answer from the corpus, by endpoint name."""

DEFAULT_INTERNAL_LIST_LIMIT: Final = 10
STATUSES: Final = {"live": (False,), "lost": (True,), "all": (False, True)}


def register(name: str) -> Callable[[Answer], Answer]:
    def deco(fn: Answer) -> Answer:
        ANSWERS[name] = fn
        return fn

    return deco


@dataclass(frozen=True)
class Source:
    """What a target's backlinks are: per status (lost or not), ranges of positions of its
    host's status lists (`(start, count)`), in order."""

    host: str
    profile: Profile
    ranges: Mapping[bool, tuple[tuple[int, int], ...]]

    def count(self, status: str) -> int:
        return sum(c for lost in STATUSES[status] for _, c in self.ranges[lost])

    def positions(self, status: str) -> Iterator[tuple[bool, int]]:
        for lost in STATUSES[status]:
            for start, count in self.ranges[lost]:
                for k in range(start, start + count):
                    yield lost, k

    def is_prefix(self) -> bool:
        return all(len(r) <= 1 and (not r or r[0][0] == 0) for r in self.ranges.values())

    def domains(self, status: str) -> int:
        """How many referring domains the backlinks of `status` come from."""
        p = self.profile
        if self.is_prefix():
            live = self.count("live") if status != "lost" else 0
            lost = self.count("lost") if status != "live" else 0
            return p.prefix_domains(live, lost)
        return len({p.domain_index(lost, k) for lost, k in self.positions(status)})


class Corpus:
    """Every target's pages and links, and the answer to a checked task of any endpoint.

    `query(task)` is what tests of the client compare against: the same items the emulator
    serves, in the same order. Answers are cached by the fields that shape them, so the pages
    of one paged walk cost one filter-and-sort, not one per page.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._hosts: LRU[str, HostCorpus] = LRU(config.corpus_cache_size)
        self._answers: LRU[bytes, Any] = LRU(4 * config.corpus_cache_size)
        self._profiles: LRU[str, Profile] = LRU(16 * config.corpus_cache_size + 2000)
        self._runs: LRU[tuple[str, bool], Runs] = LRU(2 * config.corpus_cache_size)
        self._blocks: LRU[tuple[str, bool, int], list[Backlink]] = LRU(256)
        self._full: LRU[tuple[str, bool], list[Backlink]] = LRU(4)
        self.records = RecordCache(config.seed)
        self.token_epoch = 0  # backlinks tokens of another epoch are refused (figures.py)

    # -- dispatch ---------------------------------------------------------------------------

    def answer(self, endpoint: Endpoint, task: Mapping[str, Any]) -> tuple[Any, int]:
        """The result of a checked task of `endpoint` as served, and how many items it
        holds (what the task is charged for)."""
        return self.answer_task(endpoint.name, task)

    def answer_task(self, name: str, task: Mapping[str, Any]) -> tuple[Any, int]:
        """The result of a checked, null-free task of endpoint `name`, and the items it is
        charged for. Raises ValidationError for what the server refuses (40501), KeyError
        for an endpoint the corpus does not serve."""
        return ANSWERS[name](self, task)

    # -- pages --------------------------------------------------------------------------------

    def host(self, host: str) -> HostCorpus:
        """The pages of a domain or subdomain (API form)."""
        c = self.config
        size = c.target_sizes.get(host)
        if size is None:
            size = host_size(c.seed, host, c.min_pages, c.max_pages, c.size_skew)
        if size == 0 and self.profile(host).pages:
            size = self.profile(host).pages  # a big host has at least one page
        return self._hosts.get_or_build(host, lambda: build_host(c.seed, host, size))

    def query(self, task: Mapping[str, Any]) -> tuple[int, list[DomainPageSummary]]:
        """(total_count, every item) for a domain_pages_summary task, maps truncated as served.

        Raises ValidationError/UnknownField for a task the API would refuse.
        """
        clean = DOMAIN_PAGES_SUMMARY.check_task(task)
        items = self.select(clean)
        limit = clean.get("internal_list_limit", DEFAULT_INTERNAL_LIST_LIMIT)
        return len(items), [truncate_maps(item, limit) for item in items]

    def select(self, task: Mapping[str, Any]) -> list[DomainPageSummary]:
        """The filtered and sorted pages of a checked task (null-free), maps untruncated."""
        shape = {k: task.get(k) for k in _SHAPING}
        key = b"pages" + msgspec.json.encode(shape)
        found: list[DomainPageSummary] = self._answers.get_or_build(key, lambda: self._select(task))
        return found

    def _select(self, task: Mapping[str, Any]) -> list[DomainPageSummary]:
        target: str = task["target"]
        status = task.get("backlinks_status_type", "live")
        if "://" in target:
            items = self._page(target)
        else:
            corpus = self.host(target)
            if task.get("include_subdomains", True):
                items = corpus.items
            else:
                items = [
                    it for it, main in zip(corpus.items, corpus.on_main_host, strict=True) if main
                ]
        if status != "all":
            lost = status == "lost"
            items = [it for it in items if (it.lost_date is not None) == lost]
        if task.get("backlinks_filters") is not None:
            share = backlinks_share(task["backlinks_filters"])
            items = [kept for it in items if (kept := share(it)) is not None]
        if task.get("rank_scale", "one_thousand") == "one_hundred":
            items = [scale_rank(it) for it in items]
        if task.get("filters") is not None:
            keep = compile_filter(task["filters"], DOMAIN_PAGES_SUMMARY.filter_fields)
            items = [it for it in items if keep(it)]
        if task.get("order_by"):
            items = sort_items(items, task["order_by"])
        return list(items)

    def _page(self, url: str) -> list[DomainPageSummary]:
        """A page target: its page in its site's corpus, else a page of its own (or none)."""
        host = target_host(url)
        site = host[4:] if host.startswith("www.") else host
        found = self.host(site).page(url)
        if found is not None:
            return [found]
        rnd = random.Random(stable_seed(self.config.seed, "page", url))
        if rnd.random() < 0.25:  # a page nobody links to
            return []
        return [make_item(rnd, url, lost_share=0.15)]

    # -- links --------------------------------------------------------------------------------

    def profile(self, host: str) -> Profile:
        """The link profile of a host (cheap: no pages built)."""
        return self._profiles.get_or_build(host, lambda: make_profile(self.config, host))

    def runs(self, host: str, lost: bool) -> Runs:
        """A host's status list spread over its pages (builds the pages); a page URL's list
        is all of that page."""
        profile = self.profile(host)
        total = profile.lost if lost else profile.live
        if "://" in host:
            return Runs([0], [total], [host], total)
        return self._runs.get_or_build(
            (host, lost), lambda: make_runs(self.host(host), total, lost)
        )

    def server_invalid(self, target: str) -> bool:
        """Unknown to the API (see `links.is_server_invalid`)."""
        return is_server_invalid(self.config, site_of(target))

    def source(self, target: str, include_subdomains: bool = True) -> Source:
        """The backlinks of a target (see `Source`)."""
        profile = self.profile(target)
        ranges: dict[bool, tuple[tuple[int, int], ...]] = {}
        include_subdomains = include_subdomains or "://" in target
        for lost in (False, True):
            total = profile.lost if lost else profile.live
            if not include_subdomains and total:
                total = self.runs(target, lost).main_count
            ranges[lost] = ((0, total),) if total else ()
        return Source(target, profile, ranges)

    def block(self, host: str, lost: bool, block: int) -> list[Backlink]:
        def build() -> list[Backlink]:
            runs = self.runs(host, lost)
            return backlink_block(
                self.config.seed, self.profile(host), runs, lost, block, self.records
            )

        return self._blocks.get_or_build((host, lost, block), build)

    def backlink_at(self, host: str, lost: bool, k: int) -> Backlink:
        return self.block(host, lost, k // BLOCK)[k % BLOCK]

    def backlink_slice(self, source: Source, status: str, start: int, stop: int) -> list[Backlink]:
        """Backlinks [start, stop) of a source's status list, made block by block."""
        out: list[Backlink] = []
        skip = start
        for lost in STATUSES[status]:
            for first, count in source.ranges[lost]:
                if skip >= count:
                    skip -= count
                    continue
                k = first + skip
                end = first + count
                skip = 0
                while k < end and len(out) < stop - start:
                    chunk = self.block(source.host, lost, k // BLOCK)
                    take = min(end, (k // BLOCK + 1) * BLOCK, k + (stop - start - len(out)))
                    out.extend(chunk[k % BLOCK : k % BLOCK + (take - k)])
                    k = take
        return out

    def full(self, host: str, lost: bool) -> list[Backlink]:
        """Every backlink of a host's status list (cached for a few hosts)."""

        def build() -> list[Backlink]:
            profile = self.profile(host)
            runs = self.runs(host, lost)
            total = profile.lost if lost else profile.live
            out: list[Backlink] = []
            for b in range(-(-total // BLOCK)):
                out.extend(backlink_block(self.config.seed, profile, runs, lost, b, self.records))
            return out

        return self._full.get_or_build((host, lost), build)

    def backlinks_of(self, source: Source, status: str) -> list[Backlink]:
        """Every backlink of a source in list order (live, then lost)."""
        out: list[Backlink] = []
        for lost in STATUSES[status]:
            ranges = source.ranges[lost]
            if not ranges:
                continue
            whole = self.full(source.host, lost)
            for start, count in ranges:
                out.extend(whole[start : start + count])
        return out

    def cached(self, kind: str, task: Mapping[str, Any], build: Callable[[], Any]) -> Any:
        """A derived list cached by its task's shaping fields (paging fields left out)."""
        shape = {k: v for k, v in task.items() if k not in _PAGING}
        key = kind.encode() + msgspec.json.encode(shape, order="sorted")
        return self._answers.get_or_build(key, build)


def site_of(target: str) -> str:
    """The host whose corpus holds a target (an URL's host without `www.`)."""
    host = target_host(target)
    if "://" in target and host.startswith("www."):
        return host[4:]
    return host


_SHAPING: Final = (
    "target", "include_subdomains", "backlinks_status_type", "backlinks_filters",
    "rank_scale", "filters", "order_by",
)  # fmt: skip
_PAGING: Final = frozenset({"limit", "offset", "search_after_token", "tag"})
