"""The corpus object: every target's pages and links, and the dispatch of a checked task to
its endpoint's answer (`answer_task(name, task)`).

Answers register themselves in `ANSWERS` by endpoint name (see `answers_*` modules); each
returns `(result, items_charged)`: the app charges `per_request + per_item * items_charged`.

An answer makes the items of the page it serves from compact structures (a host's `Links`
and `Runs`, the order a filtered or sorted list takes as indices); the one list kept whole
is a host's page summaries, each of which adds up its page's links. All of it sits in caches
bounded by weight (`cache.Cache`) and is made again the same when dropped, so memory stays
flat however many targets are asked, and an answer does not depend on what was asked before.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.corpus.cache import Cache
from dfs_async.emulator.corpus.links import (
    Links,
    Profile,
    RecordCache,
    Ref,
    Runs,
    anchors_of,
    is_server_invalid,
    make_profile,
    make_runs,
    make_spread,
)
from dfs_async.emulator.corpus.pages import scale_rank, truncate_maps
from dfs_async.emulator.corpus.tally import DomainLinks, Tally
from dfs_async.emulator.query import compile_filter, getter, sort_rows
from dfs_async.endpoints import BACKLINK_FILTER_FIELDS, DOMAIN_PAGES_SUMMARY, Endpoint
from dfs_async.models import Backlink, DomainPageSummary
from dfs_async.plan.bulk import root_domain
from dfs_async.targets import target_host

Answer = Callable[["Corpus", Mapping[str, Any]], tuple[Any, int]]
ANSWERS: Final[dict[str, Answer]] = {}
"""Each endpoint's answer from the corpus, by endpoint name."""

DEFAULT_INTERNAL_LIST_LIMIT: Final = 10
STATUSES: Final = {"live": (False,), "lost": (True,), "all": (False, True)}
NONE: Final = range(0)  # no links of a list
CHUNK: Final = 1000  # items made at once when a whole list is filtered or sorted
MB: Final = 1 << 20
ITEM_BYTES: Final = 1700  # roughly what an item holds (a page summary with its maps)


def register(name: str) -> Callable[[Answer], Answer]:
    def deco(fn: Answer) -> Answer:
        ANSWERS[name] = fn
        return fn

    return deco


@dataclass(frozen=True)
class Source:
    """What a target's backlinks are: per status (lost or not) ranges of positions of its
    host's status lists (`(start, count)`), in order. A page target is its page's run
    (`page`: its index); an unknown page has none. The host's `links` are made when asked
    for: counts need only the profile (a bulk task of 1,000 domains builds no lists)."""

    profile: Profile
    ranges: Mapping[bool, tuple[tuple[int, int], ...]]
    fetch: Callable[[], Links] = field(repr=False, compare=False)
    page: int | None = None

    @property
    def links(self) -> Links:
        return self.fetch()

    @property
    def host(self) -> str:
        return self.profile.host

    def count(self, status: str) -> int:
        return sum(c for lost in STATUSES[status] for _, c in self.ranges[lost])

    def positions(self, status: str) -> Iterator[tuple[bool, int]]:
        for lost in STATUSES[status]:
            for start, count in self.ranges[lost]:
                for k in range(start, start + count):
                    yield lost, k

    def is_prefix(self) -> bool:
        return all(len(r) <= 1 and (not r or r[0][0] == 0) for r in self.ranges.values())

    def ranges_key(self) -> list[list[int]]:
        """The ranges as JSON (part of a cache key)."""
        return [[int(lost), start, count] for lost, r in self.ranges.items() for start, count in r]

    def is_whole(self, lost: bool) -> bool:
        r = self.ranges[lost]
        total = self.profile.lost if lost else self.profile.live
        return not r or (len(r) == 1 and r[0] == (0, total))

    def domains(self, status: str) -> int:
        """How many referring domains the backlinks of `status` come from."""
        p = self.profile
        if self.is_prefix():
            live = self.count("live") if status != "lost" else 0
            lost = self.count("lost") if status != "live" else 0
            return p.prefix_domains(live, lost)
        return len(self._pool(status))

    def nofollow(self, status: str) -> int:
        """How many of those referring domains link with nofollow."""
        p = self.profile
        if self.is_prefix():
            live = self.count("live") if status != "lost" else 0
            lost = self.count("lost") if status != "live" else 0
            return p.prefix_nofollow(live, lost)
        return sum(1 for x in self._pool(status) if p.is_nofollow(x))

    def _pool(self, status: str) -> set[int]:
        return {self.links.locate(lost, k)[0] for lost, k in self.positions(status)}


@dataclass
class Grouping:
    """A source's links domain by domain, in order of first appearance: `order[n]` is the
    pool index of the n-th domain, `domain(x)` its links (each list whole, or the link
    numbers listed)."""

    links: Links
    order: Sequence[int]
    live: Mapping[int, Sequence[int]] | None = None  # None: each domain's whole list
    lost: Mapping[int, Sequence[int]] | None = None
    whole: tuple[bool, bool] = (True, True)  # per list: taken whole (else only `live`/`lost`)
    nbytes: int = field(default=0)

    def __len__(self) -> int:
        return len(self.order)

    def domain(self, x: int) -> DomainLinks:
        ref = self.links.ref(x)
        live = range(ref.live) if self.whole[0] else (self.live or {}).get(x, NONE)
        lost = range(ref.lost) if self.whole[1] else (self.lost or {}).get(x, NONE)
        return DomainLinks(ref, live, lost)


class Corpus:
    """Every target's pages and links, and the answer to a checked task of any endpoint.

    `query(task)` is what tests of the client compare against: the same items the emulator
    serves, in the same order.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        hosts = config.corpus_cache_size
        self._profiles: Cache[str, Profile] = Cache(16 * hosts + 2000)
        self._links: Cache[str, Links] = Cache(hosts * MB, lambda v: v.nbytes)
        self._runs: Cache[tuple[str, bool], Runs] = Cache(hosts * MB // 2, lambda v: v.nbytes)
        self._pages: Cache[bytes, list[DomainPageSummary]] = Cache(hosts * MB, _nbytes)
        self._derived: Cache[bytes, Any] = Cache(hosts * MB // 2, _nbytes)
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

    # -- hosts --------------------------------------------------------------------------------

    def profile(self, host: str) -> Profile:
        """The link profile of a host (cheap: nothing built)."""
        return self._profiles.get(host, lambda: make_profile(self.config, host))

    def links(self, host: str) -> Links:
        def build() -> Links:
            p = self.profile(host)
            return Links(
                p, (make_spread(p, False), make_spread(p, True)), self.records, anchors_of(p)
            )

        return self._links.get(host, build)

    def runs(self, host: str, lost: bool) -> Runs:
        """Which page each position of a host's status list points at."""
        return self._runs.get((host, lost), lambda: make_runs(self.profile(host), lost))

    def server_invalid(self, target: str) -> bool:
        """Unknown to the API (see `links.is_server_invalid`)."""
        return is_server_invalid(self.config, site_of(target))

    def find_page(self, url: str) -> tuple[str, int] | None:
        """(host, page index) of a page URL: the page of its host's corpus, or of a parent
        domain's (a subdomain's pages are also its domain's), read leniently (scheme and
        `www.` aside). None for a page nobody links to."""
        host = site_of(url)
        labels = host.split(".")
        root = len(root_domain(host).split("."))
        for n in range(len(labels), root - 1, -1):
            candidate = ".".join(labels[-n:])
            index = self.profile(candidate).layout.index_of(url)
            if index is not None:
                return candidate, index
        return None

    def source(self, target: str, include_subdomains: bool = True) -> Source:
        """The backlinks of a target (see `Source`): a domain's lists (a prefix of them
        without subdomains), or a page's run."""
        ranges: dict[bool, tuple[tuple[int, int], ...]] = {False: (), True: ()}
        page = None
        if "://" in target:
            found = self.find_page(target)
            host = site_of(target) if found is None else found[0]
            if found is not None:
                page = found[1]
                lost = self.profile(host).layout.is_lost(page)
                ranges[lost] = (self.runs(host, lost).run_of(page),)
        else:
            host = target
            p = self.profile(host)
            for lost in (False, True):
                total = p.lost if lost else p.live
                if not include_subdomains and total:
                    total = self.runs(host, lost).main_count
                ranges[lost] = ((0, total),) if total else ()
        return Source(self.profile(host), ranges, lambda: self.links(host), page)

    # -- links of a source --------------------------------------------------------------------

    def grouping(self, source: Source, status: str, kept: Sequence[int] | None = None) -> Grouping:
        """A source's links of `status` (or only the `kept` ones: positions as `code`s)
        grouped by referring domain, in order of first appearance."""
        if kept is not None:
            return group_codes(source.links, kept)
        if not all(source.is_whole(lost) for lost in STATUSES[status]):
            return group_codes(source.links, list(source_codes(source, status)))
        p = source.profile
        lo = p.lost_base if status == "lost" else 0
        hi = p.domains_live if status == "live" else p.lost_base + p.domains_lost
        if not source.count(status):
            hi = lo
        return Grouping(source.links, range(lo, hi), whole=(status != "lost", status != "live"))

    def kept(self, source: Source, status: str, expr: Any) -> array[int]:
        """The positions (`code`s) of a source's backlinks of `status` that
        `backlinks_filters` keeps, in list order (cached)."""

        def build() -> array[int]:
            keep = compile_filter(expr, BACKLINK_FILTER_FIELDS, "backlinks_filters")
            out = array("q")
            for chunk in _chunks(list(source_codes(source, status)), CHUNK):
                out.extend(
                    c
                    for c, b in zip(chunk, self.backlinks_at(source, chunk), strict=True)
                    if keep(b)
                )
            return out

        key = {"kept": source.host, "r": source.ranges_key(), "s": status, "f": expr}
        found: array[int] = self._derived.get(_key(key), build)
        return found

    def backlinks_at(self, source: Source, codes: Sequence[int]) -> list[Backlink]:
        """The backlinks at positions `codes` of a source's host, in that order."""
        links = source.links
        host = source.host
        layout = source.profile.layout
        refs: dict[int, Ref] = {}
        urls: dict[int, str] = {}
        runs: dict[bool, Runs] = {}
        out = []
        for c in codes:
            lost, k = bool(c & 1), c >> 1
            x, m = links.locate(lost, k)
            ref = refs.get(x)
            if ref is None:
                ref = refs[x] = links.ref(x)
            r = runs.get(lost)
            if r is None:
                r = runs[lost] = self.runs(host, lost)
            page = r.page_at(k)
            url = urls.get(page)
            if url is None:
                url = urls[page] = layout.url(page)
            out.append(links.backlink(lost, x, m, url, ref))
        return out

    def backlink_slice(self, source: Source, status: str, start: int, stop: int) -> list[Backlink]:
        """Backlinks [start, stop) of a source's list of `status` (live, then lost)."""
        return self.backlinks_at(source, _slice_codes(source, status, start, stop))

    def backlinks_of(self, source: Source, status: str) -> list[Backlink]:
        """Every backlink of a source in list order (live, then lost)."""
        return self.backlink_slice(source, status, 0, source.count(status))

    # -- pages ------------------------------------------------------------------------------

    def page_list(self, host: str, status: str, subdomains: bool) -> array[int]:
        """The indices of a host's pages of `status` (under the host only, or not)."""

        def build() -> array[int]:
            layout = self.profile(host).layout
            want = STATUSES[status]
            return array(
                "q",
                (
                    i
                    for i in range(layout.size)
                    if layout.is_lost(i) in want and (subdomains or layout.on_main(i))
                ),
            )

        key = {"pages": host, "s": status, "sub": subdomains}
        found: array[int] = self._derived.get(_key(key), build)
        return found

    def page_summary(
        self, links: Links, page: int, kept: Sequence[int] | None = None
    ) -> DomainPageSummary | None:
        """A page's summary from its links (only the `kept` ones, when given: positions as
        `code`s); None when none of its links is kept."""
        layout = links.profile.layout
        lost = layout.is_lost(page)
        if kept is None:
            start, count = self.runs(links.profile.host, lost).run_of(page)
            positions: Iterable[tuple[bool, int]] = ((lost, k) for k in range(start, start + count))
        elif kept:
            positions = ((bool(c & 1), c >> 1) for c in kept)
        else:
            return None
        tally = Tally(links)
        ref_of = links.ref
        add = tally.add
        for lost, k in positions:
            x, m = links.locate(lost, k)
            add(ref_of(x), lost, m)
        fig = tally.figures()
        backlinks = fig.pop("backlinks")
        for name in ("rank", "first_seen", "lost_date"):
            del fig[name]
        return layout.summary(page, backlinks, fig)

    def pages_kept(self, source: Source, status: str, expr: Any) -> dict[int, array[int]]:
        """A host's pages' links that `backlinks_filters` keeps, by page (cached)."""

        def build() -> dict[int, array[int]]:
            by_page: dict[int, array[int]] = {}
            for c in self.kept(source, status, expr):
                page = self.runs(source.host, bool(c & 1)).page_at(c >> 1)
                by_page.setdefault(page, array("q")).append(c)
            return by_page

        key = {"pages_kept": source.host, "r": source.ranges_key(), "s": status, "f": expr}
        found: dict[int, array[int]] = self._derived.get(_key(key), build)
        return found

    def select(self, task: Mapping[str, Any]) -> list[DomainPageSummary]:
        """Every page of a checked domain_pages_summary task (null-free), filtered and
        sorted, maps untruncated."""
        pages = self.pages_of(task)
        order = self.ordered("pages", task, len(pages), pages.make, pages.fields)
        return pages.make(order)

    def pages_of(self, task: Mapping[str, Any]) -> Listing:
        """The pages a domain_pages_summary (or domain_pages) task lists, before its
        `filters` and `order_by`: index -> item. A page's summary adds up its links, so the
        summaries are kept, a block of the list at a time (an answer makes only the blocks
        it serves)."""
        target: str = task["target"]
        status = task.get("backlinks_status_type", "live")
        subdomains = task.get("include_subdomains", True)
        one_hundred = task.get("rank_scale", "one_thousand") == "one_hundred"
        source = self.source(target, subdomains)
        links = source.links
        expr = task.get("backlinks_filters")
        if expr is not None:
            by_page = self.pages_kept(source, status, expr)
            wanted = [source.page] if source.page is not None else None
            listed = self.page_list(source.host, status, subdomains) if wanted is None else wanted
            indices: Sequence[int] = [i for i in listed if i in by_page]

            def make_one(i: int) -> DomainPageSummary:
                item = self.page_summary(links, i, by_page[i])
                assert item is not None
                return item
        else:
            if source.page is not None:
                indices = [source.page] if source.count(status) else []
            elif "://" in target:
                indices = []
            else:
                indices = self.page_list(source.host, status, subdomains)

            def make_one(i: int) -> DomainPageSummary:
                item = self.page_summary(links, i)
                assert item is not None
                return item

        shape = {"host": source.host, "page": source.page, "s": status, "sub": subdomains,
                 "f": expr}  # fmt: skip

        def block(b: int) -> list[DomainPageSummary]:
            key = _key({**shape, "block": b})
            return self._pages.get(key, lambda: [make_one(i) for i in indices[b * CHUNK :][:CHUNK]])

        def make(which: Sequence[int]) -> list[DomainPageSummary]:
            blocks: dict[int, list[DomainPageSummary]] = {}
            items = []
            for n in which:
                b = n // CHUNK
                found = blocks.get(b)
                if found is None:
                    found = blocks[b] = block(b)
                items.append(found[n % CHUNK])
            return [scale_rank(it) for it in items] if one_hundred else items

        return Listing(len(indices), make, DOMAIN_PAGES_SUMMARY.filter_fields)

    def query(self, task: Mapping[str, Any]) -> tuple[int, list[DomainPageSummary]]:
        """(total_count, every item) for a domain_pages_summary task, maps truncated as served.

        Raises ValidationError/UnknownField for a task the API would refuse.
        """
        clean = DOMAIN_PAGES_SUMMARY.check_task(task)
        items = self.select(clean)
        limit = clean.get("internal_list_limit", DEFAULT_INTERNAL_LIST_LIMIT)
        return len(items), [truncate_maps(item, limit) for item in items]

    # -- lists of items ---------------------------------------------------------------------

    def ordered(
        self,
        kind: str,
        task: Mapping[str, Any],
        n: int,
        make: Callable[[Sequence[int]], list[Any]],
        fields: Mapping[str, str],
    ) -> Sequence[int]:
        """The indices 0..n-1 of a list of n items that the task's `filters` keep, in its
        `order_by` order (a stable sort over the list's order): `range(n)` when it has
        neither, else made a chunk of items at a time and cached by the task's shaping
        fields (paging fields left out)."""
        expr, order_by = task.get("filters"), task.get("order_by")
        if expr is None and not order_by:
            return range(n)

        def build() -> array[int]:
            keep = compile_filter(expr, fields) if expr is not None else None
            getters = [getter(rule.partition(",")[0]) for rule in order_by or ()]
            rows: list[tuple[int, tuple[Any, ...]]] = []
            for chunk in _chunks(range(n), CHUNK):
                for i, item in zip(chunk, make(chunk), strict=True):
                    if keep is None or keep(item):
                        rows.append((i, tuple(g(item) for g in getters)))
            sort_rows(rows, order_by or ())
            return array("q", (i for i, _ in rows))

        shape = {k: v for k, v in task.items() if k not in _PAGING}
        found: array[int] = self._derived.get(_key({"kind": kind, **shape}), build)
        return found

    def cached(self, key: Mapping[str, Any], build: Callable[[], Any]) -> Any:
        """A derived value kept by `key` (any JSON-able mapping) in the bounded cache."""
        return self._derived.get(_key(key), build)


@dataclass(frozen=True)
class Listing:
    """A list of items made on demand: `make(indices)` makes the items at those indices."""

    count: int
    make: Callable[[Sequence[int]], list[Any]]
    fields: Mapping[str, str]

    def __len__(self) -> int:
        return self.count


def group_codes(links: Links, codes: Sequence[int]) -> Grouping:
    """The links at positions `codes` grouped by referring domain, in order of first
    appearance."""
    found: dict[bool, dict[int, list[int]]] = {False: {}, True: {}}
    order: dict[int, None] = {}
    for c in codes:
        lost = bool(c & 1)
        x, m = links.locate(lost, c >> 1)
        found[lost].setdefault(x, []).append(m)
        order[x] = None
    return Grouping(
        links,
        array("q", order),
        found[False],
        found[True],
        (False, False),
        nbytes=40 * len(codes) + 8 * len(order),
    )


def code(lost: bool, k: int) -> int:
    """Position k of a status list as one integer (what arrays of positions hold)."""
    return k << 1 | lost


def source_codes(source: Source, status: str) -> Iterator[int]:
    for lost, k in source.positions(status):
        yield code(lost, k)


def _slice_codes(source: Source, status: str, start: int, stop: int) -> list[int]:
    out: list[int] = []
    skip = start
    want = stop - start
    for lost in STATUSES[status]:
        for first, count in source.ranges[lost]:
            if skip >= count:
                skip -= count
                continue
            take = min(count - skip, want - len(out))
            out.extend(code(lost, k) for k in range(first + skip, first + skip + take))
            skip = 0
            if len(out) >= want:
                return out
    return out


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _key(shape: Mapping[str, Any]) -> bytes:
    return msgspec.json.encode(shape, order="sorted")


def _nbytes(value: Any) -> int:
    """Roughly the memory a derived value holds."""
    if isinstance(value, array):
        return value.itemsize * len(value) + 64
    if isinstance(value, dict):
        return sum(_nbytes(v) + 100 for v in value.values()) + 64
    if isinstance(value, list):
        return ITEM_BYTES * len(value) + 64
    return int(getattr(value, "nbytes", 1000))


def site_of(target: str) -> str:
    """The host whose corpus holds a target (an URL's host without `www.`)."""
    host = target_host(target).lower()
    if "://" in target and host.startswith("www."):
        return host[4:]
    return host


_PAGING: Final = frozenset({"limit", "offset", "search_after_token", "tag"})


@dataclass(frozen=True)
class HostPages:
    """A host's pages as `domain_pages_summary` lists them (every status), in index order."""

    host: str
    items: list[DomainPageSummary]


def build_host(seed: int, host: str, size: int) -> HostPages:
    """The `size` pages of `host` in a corpus of `seed` (for tools that want realistic
    pages without an emulator)."""
    corpus = Corpus(EmulatorConfig(seed=seed, target_sizes={host: size}))
    items = corpus.select({"target": host, "backlinks_status_type": "all"})
    return HostPages(host, items)
