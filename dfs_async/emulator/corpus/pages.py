"""A host's pages: a reproducible set of pages for any target, each made on its own.

A host's pages are a `Layout` drawn from (seed, host): how many, under which host names, which
share is lost. Page i's url, weight and status are functions of (layout, i), so a page is made
without the others, and a page URL finds its index again (`Layout.index_of`): the index is
written in the URL. What a page's links add up to (its `backlinks`, referring domains and
pages, its maps) comes from the host's links (see `links` and `tally`), so a page's figures
are those of the backlinks pointing at it.

What a host's pages look like:
- pages under the host itself (or `www.` + host, decided per host) and a few subdomains
  (`blog.`, `shop.`, ...): `include_subdomains=false` keeps only the first kind;
- the home page first (index 0), then pages under plausible sections, each url unique;
- heavy-tailed weights (the home page and a few others draw most of the backlinks);
- a share of pages lost (never the home page): a lost page has only lost backlinks and a
  `lost_date`, a live page only live ones, so `backlinks_status_type` selects pages;
- `rank` on the 0..1000 scale, growing with the backlinks; `first_seen` 2015 to mid-2025.
"""

from __future__ import annotations

import math
import random
from typing import Any, Final, NamedTuple

import msgspec

from dfs_async.emulator.corpus.draws import DAY, NOW, api_time, frac, mix, spread, stable_seed
from dfs_async.models import DomainPageSummary

ITEM_TYPE: Final = "backlinks_page_summary"

# Map vocabularies, most common first.
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
MAP_FIELDS: Final = tuple(MAP_VOCABULARY)

SUBDOMAINS: Final = ("blog", "shop", "news", "help", "docs", "m", "support", "community", "dev")
_STEPS: Final = (1, 2, 4, 5, 7, 8)  # prime to len(SUBDOMAINS): distinct subdomains
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


def host_size(seed: int, host: str, min_pages: int, max_pages: int, skew: float) -> int:
    u = random.Random(stable_seed(seed, "size", host)).random()
    return min_pages + int((max_pages - min_pages) * u**skew)


class Layout(NamedTuple):
    """The pages of one host (a domain or subdomain in the API's form), by index."""

    host: str
    size: int
    main: str  # where the host's own pages are: the host or www. + host
    scheme: str
    subs: tuple[str, ...]
    key: int
    lost_n: int  # pages i with (lost_a * i + lost_b) % size < lost_n are lost (not the home)
    lost_a: int
    lost_b: int
    sub_n: int  # the same for pages on a subdomain
    sub_a: int
    sub_b: int

    def is_lost(self, i: int) -> bool:
        return i != 0 and (self.lost_a * i + self.lost_b) % self.size < self.lost_n

    def on_main(self, i: int) -> bool:
        return i == 0 or (self.sub_a * i + self.sub_b) % self.size >= self.sub_n

    def lost_pages(self) -> int:
        """How many pages are lost (the home page never is)."""
        if not self.size:
            return 0
        return self.lost_n - (1 if self.lost_b % self.size < self.lost_n else 0)

    def url(self, i: int) -> str:
        if i == 0:
            return f"{self.scheme}://{self.main}/"
        h = mix(self.key + i)
        page_host = self.main if self.on_main(i) else self.subs[h % len(self.subs)]
        section = SECTIONS[(h >> 8) % len(SECTIONS)]
        w1, w2 = WORDS[(h >> 16) % len(WORDS)], WORDS[(h >> 24) % len(WORDS)]
        return f"{self.scheme}://{page_host}/{section}/{w1}-{w2}-{i:x}/"

    def weight(self, i: int) -> int:
        """A page's share of the backlinks of its status (heavy-tailed; the home page most)."""
        u = frac(mix(self.key ^ (i << 1 | 1)), 0)
        w = min(int((1.0 - u) ** (-1 / 1.05)), 5_000_000)
        return w * 50 + 1000 if i == 0 else w

    def index_of(self, url: str) -> int | None:
        """The index of the page at `url`, read leniently: scheme and a leading `www.` aside
        (`https://forbes.com/` is the home page of a host whose pages are on www.)."""
        wanted = _page_key(url)
        if wanted is None:
            return None
        path = wanted[1]
        if path == "/":
            i = 0
        else:
            tail = path[:-1].rsplit("-", 1)[-1] if path.endswith("/") else ""
            try:
                i = int(tail, 16)
            except ValueError:
                return None
        if not 0 <= i < self.size or _page_key(self.url(i)) != wanted:
            return None
        return i

    def summary(self, i: int, backlinks: int, figures: dict[str, Any]) -> DomainPageSummary:
        """Page i's summary: its own draws (rank, dates) around its links' `figures`."""
        h = mix(self.key ^ (i << 1))
        first_seen = _FIRST_SEEN_FROM + frac(h, 0) * (_FIRST_SEEN_TO - _FIRST_SEEN_FROM)
        lost_date = None
        if self.is_lost(i):
            lost_date = api_time(first_seen + DAY + frac(h, 16) * (NOW - first_seen - DAY))
        return DomainPageSummary(
            type=ITEM_TYPE,
            url=self.url(i),
            rank=min(1000, int(180 * math.log10(backlinks + 1) + 250 * frac(h, 32))),
            backlinks=backlinks,
            first_seen=api_time(first_seen),
            lost_date=lost_date,
            **figures,
        )


def _page_key(url: str) -> tuple[str, str] | None:
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    host, _, path = rest.partition("/")
    host = host.lower()
    return host.removeprefix("www."), "/" + path


def make_layout(seed: int, host: str, size: int) -> Layout:
    """The reproducible layout of `host`'s `size` pages."""
    h = mix(stable_seed(seed, "host", host))
    h2 = mix(h)
    main = f"www.{host}" if host.count(".") == 1 and frac(h, 0) < 0.6 else host
    scheme = "https" if frac(h, 16) < 0.9 else "http"
    first, step = (h >> 32) % len(SUBDOMAINS), _STEPS[(h >> 40) % len(_STEPS)]
    chosen = (SUBDOMAINS[(first + i * step) % len(SUBDOMAINS)] for i in range(1 + (h >> 48) % 4))
    subs = tuple(f"{s}.{host}" for s in chosen)
    sub_share = 0.05 + 0.3 * frac(h2, 0)
    lost_share = 0.08 + 0.22 * frac(h2, 16)
    key = mix(h2)
    lost_a, lost_b = spread(size, key >> 1)
    sub_a, sub_b = spread(size, key >> 9)
    sub_b = (sub_b + size // 3) % size if size else 0
    return Layout(
        host=host,
        size=size,
        main=main,
        scheme=scheme,
        subs=subs,
        key=key,
        lost_n=round(size * lost_share),
        lost_a=lost_a,
        lost_b=lost_b,
        sub_n=round(size * sub_share),
        sub_a=sub_a,
        sub_b=sub_b,
    )


def scale_rank(item: DomainPageSummary) -> DomainPageSummary:
    """The item with its rank on the one_hundred scale."""
    rank = item.rank
    return msgspec.structs.replace(item, rank=None if rank is None else round(rank / 10))


def truncate_maps(item: Any, limit: int) -> Any:
    """The item with each `referring_links_*` map cut to its `limit` largest keys."""
    changes = {}
    for name in MAP_FIELDS:
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            changes[name] = dict(list(value.items())[:limit])
    return msgspec.structs.replace(item, **changes) if changes else item
