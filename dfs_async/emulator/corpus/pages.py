"""A host's pages: a reproducible set of pages for any target, made up on first use.

A host's pages come from a generator seeded by (seed, host), so the same emulator seed gives
the same corpus in every process, and another seed gives another. Building a large host takes
a fraction of a second, so built hosts are kept in an LRU cache (`corpus_cache_size`).

What a host's corpus looks like:
- pages under the host itself (or `www.` + host, decided per host) and a few subdomains
  (`blog.`, `shop.`, ...): `include_subdomains=false` keeps only the first kind;
- the home page first, then pages under plausible sections, each url unique;
- heavy-tailed `backlinks` (a few pages hold most), the other counts consistent with it
  (`referring_main_domains <= referring_domains <= referring_pages <= backlinks`, ...);
- `rank` on the 0..1000 scale, growing with the backlinks;
- `first_seen` between 2015 and mid-2025; a share of pages lost (`lost_date` after
  `first_seen`), which `backlinks_status_type` selects;
- maps of real-looking keys with counts, largest first (so `internal_list_limit` keeps the
  largest): link types summing to `backlinks`, TLDs, ISO countries, platforms, attributes and
  semantic locations.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import msgspec

from dfs_async.models import DomainPageSummary

ITEM_TYPE: Final = "backlinks_page_summary"

# Map vocabularies, most common first (a page's keys are drawn mostly from the front).
TLDS: Final = (
    "com", "org", "net", "de", "uk", "io", "fr", "ru", "info", "nl", "it", "es", "co", "in",
    "jp", "br", "au", "ca", "pl", "edu", "gov", "ch", "se", "us",
)  # fmt: skip
LINK_TYPES: Final = ("anchor", "image", "link", "meta", "canonical", "alternate", "redirect")
ATTRIBUTES: Final = ("nofollow", "noopener", "noreferrer", "external", "ugc", "sponsored")
PLATFORM_TYPES: Final = (
    "cms", "blogs", "ecommerce", "message-boards", "wikis", "news", "organization",
)  # fmt: skip
SEMANTIC_LOCATIONS: Final = ("article", "section", "main", "footer", "header", "aside", "nav")
COUNTRIES: Final = (
    "US", "DE", "GB", "FR", "IN", "CA", "NL", "RU", "BR", "JP", "AU", "ES", "IT", "PL", "UA",
    "SE", "CN", "SG", "IE", "CH",
)  # fmt: skip
MAP_VOCABULARY: Final[dict[str, tuple[str, ...]]] = {
    "referring_links_tld": TLDS,
    "referring_links_types": LINK_TYPES,
    "referring_links_attributes": ATTRIBUTES,
    "referring_links_platform_types": PLATFORM_TYPES,
    "referring_links_semantic_locations": SEMANTIC_LOCATIONS,
    "referring_links_countries": COUNTRIES,
}

SUBDOMAINS: Final = ("blog", "shop", "news", "help", "docs", "m", "support", "community", "dev")
SECTIONS: Final = (
    "blog", "news", "products", "docs", "help", "about", "category", "tag", "author", "press",
    "guides", "reviews", "events", "careers",
)  # fmt: skip
WORDS: Final = (
    "best", "how", "guide", "review", "new", "top", "free", "cheap", "home", "garden", "travel",
    "money", "health", "tech", "food", "sport", "music", "tips", "list", "world", "city",
    "story", "data", "open", "small", "business", "career", "design", "market", "report",
)  # fmt: skip

_FIRST_SEEN_FROM: Final = 1_420_070_400  # 2015-01-01 00:00:00 UTC
_FIRST_SEEN_TO: Final = 1_748_736_000  # 2025-06-01
_LOST_BY: Final = 1_751_241_600  # 2025-06-30: the corpus has no clock


def api_time(ts: float) -> str:
    """The API's datetime format for a UTC timestamp."""
    return time.strftime("%Y-%m-%d %H:%M:%S +00:00", time.gmtime(ts))


def stable_seed(*parts: object) -> int:
    """A seed from values, the same in every process (unlike `hash`)."""
    text = "\x00".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass
class HostCorpus:
    """The pages of one host, in corpus order (the order of answers without `order_by`)."""

    host: str
    items: list[DomainPageSummary]
    on_main_host: list[bool]  # per item: under the host itself (or its www.), not a subdomain
    _by_url: dict[str, DomainPageSummary] | None = field(default=None, repr=False)

    def page(self, url: str) -> DomainPageSummary | None:
        if self._by_url is None:
            self._by_url = {item.url: item for item in self.items if item.url}
        return self._by_url.get(url)


def host_size(seed: int, host: str, min_pages: int, max_pages: int, skew: float) -> int:
    u = random.Random(stable_seed(seed, "size", host)).random()
    return min_pages + int((max_pages - min_pages) * u**skew)


def build_host(seed: int, host: str, size: int) -> HostCorpus:
    """The reproducible pages of `host` (a domain or subdomain in the API's form)."""
    rnd = random.Random(stable_seed(seed, "host", host))
    main = f"www.{host}" if host.count(".") == 1 and rnd.random() < 0.6 else host
    scheme = "https" if rnd.random() < 0.9 else "http"
    subs = [f"{s}.{host}" for s in rnd.sample(SUBDOMAINS, rnd.randint(1, 4))]
    sub_share = rnd.uniform(0.05, 0.35)
    lost_share = rnd.uniform(0.08, 0.3)
    items: list[DomainPageSummary] = []
    on_main: list[bool] = []
    for i in range(size):
        if i == 0:
            page_host, path = main, "/"
        else:
            page_host = main if rnd.random() >= sub_share else rnd.choice(subs)
            w1, w2 = rnd.choice(WORDS), rnd.choice(WORDS)
            path = f"/{rnd.choice(SECTIONS)}/{w1}-{w2}-{i:x}/"
        on_main.append(page_host == main)
        items.append(make_item(rnd, f"{scheme}://{page_host}{path}", lost_share, home=i == 0))
    return HostCorpus(host, items, on_main)


def make_item(
    rnd: random.Random, url: str, lost_share: float, *, home: bool = False
) -> DomainPageSummary:
    """One page's summary, every field filled and the counts consistent with each other."""
    r = rnd.random
    backlinks = min(int(rnd.paretovariate(1.05)), 5_000_000)
    if home:
        backlinks = backlinks * 50 + 1000
    referring_pages = max(1, int(backlinks * (0.3 + 0.7 * r())))
    referring_domains = max(1, int(referring_pages * (0.05 + 0.6 * r())))
    referring_main = max(1, int(referring_domains * (0.7 + 0.3 * r())))
    referring_ips = max(1, int(referring_domains * (0.6 + 0.4 * r())))
    first_seen = rnd.uniform(_FIRST_SEEN_FROM, _FIRST_SEEN_TO)
    lost = r() < lost_share
    lost_date = api_time(rnd.uniform(first_seen + 86_400, _LOST_BY)) if lost else None
    nofollow = 0.5 * r()
    rank = min(1000, int(150 * math.log10(backlinks + 1) + 120 * r()))
    return DomainPageSummary(
        type=ITEM_TYPE,
        url=url,
        rank=rank,
        backlinks=backlinks,
        first_seen=api_time(first_seen),
        lost_date=lost_date,
        backlinks_spam_score=int(60 * r() ** 2),
        broken_backlinks=int(backlinks * 0.3 * r() ** 4),
        broken_pages=1 if r() < 0.05 else 0,
        referring_domains=referring_domains,
        referring_domains_nofollow=int(referring_domains * nofollow),
        referring_main_domains=referring_main,
        referring_main_domains_nofollow=int(referring_main * nofollow),
        referring_ips=referring_ips,
        referring_subnets=max(1, int(referring_ips * (0.5 + 0.5 * r()))),
        referring_pages=referring_pages,
        referring_pages_nofollow=int(referring_pages * nofollow),
        referring_links_tld=_split(rnd, backlinks, TLDS, 14),
        referring_links_types=_split(rnd, backlinks, LINK_TYPES, 4),
        referring_links_attributes=_split(rnd, int(backlinks * nofollow) + 1, ATTRIBUTES, 3),
        referring_links_platform_types=_split(rnd, referring_domains, PLATFORM_TYPES, 4),
        referring_links_semantic_locations=_split(rnd, backlinks, SEMANTIC_LOCATIONS, 4),
        referring_links_countries=_split(rnd, referring_domains, COUNTRIES, 16),
    )


def _split(rnd: random.Random, total: int, keys: Sequence[str], most: int) -> dict[str, int | None]:
    """`total` spread over a few keys drawn mostly from the front of `keys`, largest first."""
    k = min(len(keys), 1 + int(rnd.random() * most))
    chosen = rnd.sample(keys[: min(len(keys), k + 3)], k)
    counts: list[int] = []
    left = total
    for _ in chosen[:-1]:
        part = int(left * (0.15 + 0.4 * rnd.random()))
        counts.append(part)
        left -= part
    counts.append(left)
    chosen.sort(key=keys.index)  # the more common key gets the larger count
    counts.sort(reverse=True)
    return {key: count for key, count in zip(chosen, counts, strict=True) if count > 0}


K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe LRU cache: the server thread and a test's thread both use it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.RLock()

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            value = build()
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
            return value


# -- what the fields of domain_pages_summary do to its pages ---------------------------

COUNT_FIELDS = (
    "backlinks", "broken_backlinks", "referring_domains", "referring_domains_nofollow",
    "referring_main_domains", "referring_main_domains_nofollow", "referring_ips",
    "referring_subnets", "referring_pages", "referring_pages_nofollow",
)  # fmt: skip
MAP_FIELDS = (
    "referring_links_tld", "referring_links_types", "referring_links_attributes",
    "referring_links_platform_types", "referring_links_semantic_locations",
    "referring_links_countries",
)  # fmt: skip


def backlinks_share(expr: Any) -> Callable[[DomainPageSummary], DomainPageSummary | None]:
    """What `backlinks_filters` leave of a page: a share by hash of (filter, url), or None."""
    base = zlib.crc32(msgspec.json.encode(expr))

    def apply(item: DomainPageSummary) -> DomainPageSummary | None:
        share = (zlib.crc32((item.url or "").encode(), base) % 1000) / 1000
        kept = int((item.backlinks or 0) * share)
        if kept == 0:
            return None
        changes: dict[str, Any] = {}
        for name in COUNT_FIELDS:
            value = getattr(item, name)
            if value:
                changes[name] = min(kept, max(1, int(value * share)))
        for name in MAP_FIELDS:
            value = getattr(item, name)
            if value:
                scaled = {k: int(v * share) for k, v in value.items() if v}
                changes[name] = {k: v for k, v in scaled.items() if v}
        return msgspec.structs.replace(item, **changes)

    return apply


def scale_rank(item: DomainPageSummary) -> DomainPageSummary:
    """The item with its rank on the one_hundred scale."""
    rank = item.rank
    return msgspec.structs.replace(item, rank=None if rank is None else round(rank / 10))


def truncate_maps(item: DomainPageSummary, limit: int) -> DomainPageSummary:
    """The item with each `referring_links_*` map cut to its `limit` largest keys."""
    changes = {}
    for name in MAP_FIELDS:
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            changes[name] = dict(list(value.items())[:limit])
    return msgspec.structs.replace(item, **changes) if changes else item
