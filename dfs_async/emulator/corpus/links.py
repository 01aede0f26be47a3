"""A host's backlinks: who links, from which page, to which of the host's pages.

**The profile** (`Profile`) holds a host's authoritative figures, cheap to compute from
(seed, host) alone: its live and lost backlinks, the referring domains of each, rank, spam
score. `summary`, the `bulk_*` endpoints and the totals of the lists read it.

**Two status lists** (live, lost): positions 0..n-1 of a host's backlinks of that status.
A position is a link `(x, m)`: the m-th link of pool domain x (`Spread`). The first D
positions (D: the list's referring domains) are m = 0 of domains 0..D-1 of the list, one per
domain; the other n - D positions are the domains' further links, each domain's count drawn
(heavy-tailed) and the positions shuffled by a fixed permutation. So a domain's links to the
host are known without walking the list (`Spread.cum`), the referring domains of a prefix
of the list are exact arithmetic (`Profile.prefix_domains`), and any position is made on its
own. Live domains are pool indices [0, D_live), lost ones [D_live - overlap, ...): `overlap`
domains have both. Pool index x is a global domain (`Profile.global_id`): the first 200 of
every pool come from 1,009 popular domains, which is what competitors and intersections share.

**Which page a link points at** (`Runs`): a status list is cut into runs, one per page of that
status (live links to live pages, lost links to lost pages), main-host pages first, so
`include_subdomains=false` keeps a prefix of each list and a page target is one run.

**One story per link**: a backlink's fields come from what it belongs to. The referring
domain (`DomainRecord`: name, rank, country, ip, ...) is the same wherever it links from; its
source page (`SourcePage`: `url_from`, title, size, language, ...) is the same for every link
on it, whatever the target; a link's own fields (anchor, dates, type) are drawn from
(host, x, m), and what a domain's links to a host share (first seen, nofollow, the page they
start from) from (host, domain): `Ref`. The sums over these records (`tally`) are then the
figures of every grouping endpoint, so they agree with the backlinks themselves.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from dataclasses import dataclass
from typing import Final, NamedTuple

from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.corpus.draws import (
    DAY,
    GOLDEN,
    MASK,
    NOW,
    api_time,
    frac,
    mix,
    spread,
    stable_seed,
)
from dfs_async.emulator.corpus.pages import (
    COUNTRIES,
    PLATFORM_TYPES,
    SECTIONS,
    TLDS,
    WORDS,
    Layout,
    host_size,
    make_layout,
)
from dfs_async.models import Backlink, RankedKeywordsInfo

POPULAR: Final = 1009  # a prime: the popular domains every pool starts from
POPULAR_TAKE: Final = 200
UNIVERSE: Final = 2_000_003  # a prime: the other referring domains
RESERVED_TLDS: Final = ("invalid", "test", "example", "localhost")
LANGUAGES: Final = ("en", "de", "fr", "es", "ru", "it", "nl", "pl", "pt", "ja")
# A domain's links to a host cycle through these from a point of their own (so how many of
# its links are of each kind is arithmetic): mostly anchors, and mostly in the article.
ITEM_TYPES: Final = ("anchor", "anchor", "image", "anchor", "link", "anchor", "canonical")
LOCATIONS: Final = ("article", "article", "main", "article", "footer", "section", "aside")
ANCHOR_WORDS: Final = ("click here", "here", "website", "read more", "source", "this article")
_LOST_KEY: Final = 0x5EED_0F_105E


def is_big(config: EmulatorConfig, host: str) -> bool:
    """A big host: listed in `big_hosts`, or its first label starts with "big"."""
    return host in config.big_hosts or host.startswith("big")


def is_server_invalid(config: EmulatorConfig, host: str) -> bool:
    """A target the API does not know: a reserved TLD, or listed in `invalid_targets`."""
    return host in config.invalid_targets or host.rsplit(".", 1)[-1] in RESERVED_TLDS


@dataclass(frozen=True)
class Profile:
    """The authoritative figures of a host (see the module docstring)."""

    host: str
    layout: Layout
    live: int  # live backlinks, subdomains included
    lost: int
    domains_live: int  # referring domains of the live backlinks
    domains_lost: int
    overlap: int  # pool domains linking with both live and lost backlinks
    rank: int  # 0..1000
    spam_score: int  # 0..100
    first_seen: float
    nofollow: float  # share of nofollow referring domains
    ip_share: float  # referring ips / referring domains
    salt: int  # the host's draws

    @property
    def pages(self) -> int:
        return self.layout.size

    @property
    def lost_base(self) -> int:
        """The pool index of the lost list's first domain."""
        return self.domains_live - self.overlap

    def prefix_domains(self, live: int, lost: int) -> int:
        """The referring domains of the first `live` live and `lost` lost positions."""
        a = min(live, self.domains_live)
        b = min(lost, self.domains_lost)
        if not a or not b:
            return a + b
        lo = self.lost_base
        shared = max(0, min(a, lo + b) - lo)
        return a + b - shared

    def is_nofollow(self, x: int) -> bool:
        """Whether pool domain x's links to the host are nofollow (a `nofollow` share of the
        pool, evenly spread, so a range of the pool counts them by arithmetic)."""
        return math.floor((x + 1) * self.nofollow) > math.floor(x * self.nofollow)

    def nofollow_in(self, lo: int, hi: int) -> int:
        """How many of pool domains [lo, hi) are nofollow."""
        return math.floor(hi * self.nofollow) - math.floor(lo * self.nofollow) if hi > lo else 0

    def prefix_nofollow(self, live: int, lost: int) -> int:
        """The nofollow referring domains of the first `live` live and `lost` lost positions
        (the domains of `prefix_domains`: two ranges of the pool)."""
        a = min(live, self.domains_live)
        lo = self.lost_base
        hi = lo + min(lost, self.domains_lost)
        both = self.nofollow_in(lo, min(a, hi)) if hi > lo else 0
        return self.nofollow_in(0, a) + (self.nofollow_in(lo, hi) if hi > lo else 0) - both

    def global_id(self, index: int) -> int:
        """The global domain id of pool index `index` (injective per host)."""
        s = self.salt
        if index < POPULAR_TAKE:
            a = 1 + s % (POPULAR - 1)
            return (a * index + (s >> 16)) % POPULAR
        a = 1 + (s >> 8) % (UNIVERSE - 1)
        return POPULAR + (a * (index - POPULAR_TAKE) + (s >> 24)) % UNIVERSE


def make_profile(config: EmulatorConfig, host: str) -> Profile:
    """The link profile of a host (a domain or subdomain), from (seed, host) only."""
    rnd = random.Random(stable_seed(config.seed, "links", host))
    pinned = config.target_sizes.get(host)
    size = (
        pinned
        if pinned is not None
        else host_size(config.seed, host, config.min_pages, config.max_pages, config.size_skew)
    )
    big = is_big(config, host)
    if big:
        size = max(size, 1)
    layout = make_layout(config.seed, host, size)
    live = lost = 0
    if size:
        home = 200 + int(min(rnd.paretovariate(1.2), 1000.0) * 100)
        total = home + int(size * rnd.uniform(1.0, 8.0))
        lost = int(total * rnd.uniform(0.05, 0.25))
        live = total - lost
        if big:
            live = max(live, config.big_backlinks + rnd.randrange(5000))
        lost_pages = layout.lost_pages()  # every page has a backlink of its status
        lost = max(lost, lost_pages) if lost_pages else 0
        live = max(live, size - lost_pages)
    d_live = min(live, max(1, int(live * rnd.uniform(0.04, 0.3)))) if live else 0
    d_lost = min(lost, max(1, int(lost * rnd.uniform(0.1, 0.6)))) if lost else 0
    overlap = int(min(d_live, d_lost) * rnd.uniform(0.1, 0.5))
    rank = min(1000, int(110 * math.log10(live + 1) + rnd.uniform(0, 120)))
    return Profile(
        host=host,
        layout=layout,
        live=live,
        lost=lost,
        domains_live=d_live,
        domains_lost=d_lost,
        overlap=overlap,
        rank=rank,
        spam_score=int(70 * rnd.random() ** 2.5),
        first_seen=rnd.uniform(1_420_070_400, 1_704_067_200),
        nofollow=rnd.uniform(0.05, 0.45),
        ip_share=rnd.uniform(0.6, 0.95),
        salt=stable_seed(config.seed, "salt", host),
    )


# -- referring domains and their pages -----------------------------------------------------


class DomainRecord(NamedTuple):
    """A referring domain, the same wherever it links from (keyed by its global id)."""

    gid: int
    name: str
    tld: str
    rank: int
    spam_score: int
    country: str
    address: int  # its IPv4 address (`ip`)
    platform: tuple[str, ...]
    first_seen: float
    pages: int  # how many of its pages link out (`url_from` varies over them)
    https: bool
    key: int  # its pages' draws (through `mix`)

    @property
    def ip(self) -> str:
        a = self.address
        return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"

    @property
    def subnet(self) -> str:
        a = self.address
        return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.0"


_N_TLDS, _N_WORDS, _N_COUNTRIES = len(TLDS), len(WORDS), len(COUNTRIES)
PLATFORMS: Final = tuple(
    (PLATFORM_TYPES[a],) if a == b else (PLATFORM_TYPES[a], PLATFORM_TYPES[b])
    for a in range(7)
    for b in range(7)
)  # a domain's one or two platforms, in the vocabulary's order (as the maps rank ties)


def domain_record(seed_key: int, gid: int) -> DomainRecord:
    h = mix(seed_key + gid)
    h2 = mix(h)
    h3 = mix(h2)
    tld = TLDS[int(_N_TLDS * (((h & 0xFFFF) / 65_536.0) ** 2))]
    w1, w2 = WORDS[(h >> 16) % _N_WORDS], WORDS[(h >> 24) % _N_WORDS]
    if gid < POPULAR:
        name = f"{w1}{w2}{gid}.{tld}"
        rank = 500 + (h >> 32) % 500
    else:
        name = f"{w1}-{w2}-{gid:x}.{tld}"
        rank = int(600 * (((h >> 32) & 0xFFFF) / 65_536.0) ** 2)
    a, b = ((h2 >> 48) & 15) % 7, ((h2 >> 52) & 15) % 7
    if (h3 >> 24) & 1:
        b = a
    return DomainRecord(
        gid,
        name,
        tld,
        rank,
        int(80 * ((h >> 48) / 65_536.0) ** 3),
        COUNTRIES[int(_N_COUNTRIES * ((h2 & 0xFFFF) / 65_536.0) ** 2)],
        (1 + (h2 >> 16) % 223) << 24 | ((h2 >> 24) & 0xFFFF) << 8 | 1 + (h2 >> 40) % 254,
        PLATFORMS[7 * min(a, b) + max(a, b)],
        1_262_304_000 + ((h3 & 0xFFFF) / 65_536.0) * 437_696_000,
        1 + ((h3 >> 16) & 255) % 6,
        ((h2 >> 57) % 20) < 17,
        h3,
    )


class SourcePage(NamedTuple):
    """A referring domain's page that links out: the same for every link on it."""

    url: str
    title: str
    size: int
    language: str
    external_links: int
    internal_links: int
    rank: int
    top_3: int
    top_10: int
    top_100: int


def source_url(rec: DomainRecord, j: int) -> str:
    """The url of page j of a referring domain."""
    h = mix(rec.key + j)
    section = SECTIONS[h % len(SECTIONS)]
    w1, w2 = WORDS[(h >> 8) % len(WORDS)], WORDS[(h >> 16) % len(WORDS)]
    return f"{'https' if rec.https else 'http'}://{rec.name}/{section}/{w1}-{w2}-{j}/"


def source_page(rec: DomainRecord, j: int) -> SourcePage:
    h = mix(rec.key + j)
    w1, w2 = WORDS[(h >> 8) % len(WORDS)], WORDS[(h >> 16) % len(WORDS)]
    h2 = mix(h)
    return SourcePage(
        url=source_url(rec, j),
        title=f"{w2.title()} {w1} - {rec.name}",
        size=2000 + int(200_000 * frac(h, 24)),
        language=LANGUAGES[int(len(LANGUAGES) * frac(h, 40) ** 2)],
        external_links=1 + int(200 * frac(h2, 0) ** 3),
        internal_links=int(300 * frac(h2, 16)),
        rank=int(rec.rank * (0.3 + 0.6 * frac(h2, 32))),
        top_3=int(5 * frac(h2, 48) ** 3),
        top_10=int(20 * frac(h2, 40) ** 3),
        top_100=int(200 * frac(h2, 24) ** 3),
    )


class RecordCache:
    """Domain records by global id, and what a domain's links to a host share (`Ref`, by
    host and pool index): a bounded number of each, rebuilt the same when dropped. No lock:
    a dict's get and set are atomic, and two threads building one record build the same."""

    def __init__(self, seed: int, size: int = 50_000) -> None:
        self.key = stable_seed(seed, "domain")
        self._size = size
        self._records: dict[int, DomainRecord] = {}
        self.refs: dict[int, Ref] = {}

    def get(self, gid: int) -> DomainRecord:
        rec = self._records.get(gid)
        if rec is None:
            rec = domain_record(self.key, gid)
            if len(self._records) >= self._size:
                self._records = {}
            self._records[gid] = rec
        return rec

    def keep_ref(self, key: int, ref: Ref) -> None:
        if len(self.refs) >= self._size:
            self.refs = {}
        self.refs[key] = ref


# -- the status lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A status list's positions over its referring domains (see the module docstring):
    position k < d is link 0 of list domain k; the others are the domains' further links,
    domain i holding extra slots [cum[i], cum[i+1]); position k >= d is slot
    (a * (k - d) + b) % extra, a fixed permutation."""

    d: int
    extra: int
    base: int  # the pool index of list domain 0
    cum: array[int]
    a: int
    b: int

    def locate(self, k: int) -> tuple[int, int]:
        """(list domain, m) of position k."""
        d = self.d
        if k < d:
            return k, 0
        s = (self.a * (k - d) + self.b) % self.extra
        i = bisect.bisect_right(self.cum, s) - 1
        return i, s - self.cum[i] + 1

    @property
    def nbytes(self) -> int:
        return 8 * len(self.cum) + 100


def make_spread(profile: Profile, lost: bool) -> Spread:
    d = profile.domains_lost if lost else profile.domains_live
    total = profile.lost if lost else profile.live
    extra = total - d
    base = profile.lost_base if lost else 0
    key = profile.salt ^ (_LOST_KEY if lost else 0)
    cum = array("q", [0])
    if extra:
        # heavy-tailed shares, the popular domains (pool < 200) three times as likely
        weights = [
            (1.0 - frac(mix(key + i), 0)) ** -0.5 * (3.0 if base + i < POPULAR_TAKE else 1.0)
            for i in range(d)
        ]
        whole = math.fsum(weights)
        acc = 0.0
        for w in weights[:-1]:
            acc += w
            cum.append(min(extra, int(extra * acc / whole)))
        cum.append(extra)
    else:
        cum.extend([0] * d)
    a, b = spread(extra, mix(key))
    return Spread(d, extra, base, cum, a, b)


@dataclass(frozen=True)
class Runs:
    """A status list cut into runs, one per page of that status: run p is positions
    [starts[p], starts[p+1]) of page `order[p]`; the main host's pages come first
    (`main_count` positions)."""

    order: array[int]
    starts: array[int]
    main_pages: int
    where: array[int]  # page index -> its run (-1: a page of the other status)

    @property
    def main_count(self) -> int:
        return self.starts[self.main_pages]

    def page_at(self, k: int) -> int:
        return self.order[bisect.bisect_right(self.starts, k) - 1]

    def run_of(self, page: int) -> tuple[int, int]:
        p = self.where[page]
        return self.starts[p], self.starts[p + 1] - self.starts[p]

    @property
    def nbytes(self) -> int:
        return 8 * (len(self.order) + len(self.starts) + len(self.where)) + 100


def make_runs(profile: Profile, lost: bool) -> Runs:
    """The status list's positions over its pages, by the pages' weights, each at least one."""
    layout = profile.layout
    total = profile.lost if lost else profile.live
    main: list[int] = []
    sub: list[int] = []
    for i in range(layout.size):
        if layout.is_lost(i) == lost:
            (main if layout.on_main(i) else sub).append(i)
    order = array("q", main + sub)
    weights = [layout.weight(i) for i in order]
    whole = sum(weights)
    extra = total - len(order)
    starts = array("q")
    acc = 0
    for p, w in enumerate(weights):
        starts.append(p + extra * acc // whole)
        acc += w
    starts.append(total)
    where = array("q", [-1]) * layout.size
    for p, i in enumerate(order):
        where[i] = p
    return Runs(order, starts, len(main), where)


# -- one host's links ----------------------------------------------------------------------


class Ref(NamedTuple):
    """What a pool domain's links to one host share."""

    x: int  # pool index
    rec: DomainRecord
    first_seen: float  # of its first link to the host
    nofollow: bool
    start: int  # its first link's source page; its links take the next pages in turn
    cycle: int  # where its links start in ITEM_TYPES and LOCATIONS
    live: int  # its live links to the host (lost links take source pages after these)
    lost: int  # its lost links to the host


class Links:
    """A host's two status lists and what a link of them is (the host's part of the corpus
    that a `backlinks` answer, a grouping and a page's figures are made from)."""

    def __init__(
        self,
        profile: Profile,
        spreads: tuple[Spread, Spread],
        records: RecordCache,
        anchors: list[str],
    ) -> None:
        self.profile = profile
        self.spreads = spreads  # (live, lost)
        self.records = records
        self.anchors = anchors

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.spreads) + 60 * len(self.anchors) + 500

    def locate(self, lost: bool, k: int) -> tuple[int, int]:
        """(pool domain x, m) of position k of a status list."""
        s = self.spreads[lost]
        i, m = s.locate(k)
        return s.base + i, m

    def ref(self, x: int) -> Ref:
        """What pool domain x's links to the host share (kept a while: a domain's links
        are spread over many pages)."""
        key = self.profile.salt << 24 | x
        found = self.records.refs.get(key)
        if found is not None:
            return found
        ref = self._ref(x)
        self.records.keep_ref(key, ref)
        return ref

    def _ref(self, x: int) -> Ref:
        p = self.profile
        rec = self.records.get(p.global_id(x))
        h = mix(p.salt ^ (rec.gid * GOLDEN & MASK))
        first = min(NOW - DAY, max(rec.first_seen, p.first_seen) + frac(h, 0) * 900 * DAY)
        live_spread, lost_spread = self.spreads
        cum = live_spread.cum
        live = 1 + cum[x + 1] - cum[x] if x < live_spread.d else 0
        i = x - lost_spread.base
        cum = lost_spread.cum
        lost = 1 + cum[i + 1] - cum[i] if 0 <= i < lost_spread.d else 0
        start = (h >> 16) % rec.pages
        return Ref(x, rec, first, p.is_nofollow(x), start, (h >> 32) % 7, live, lost)

    def link_hash(self, lost: bool, x: int, m: int) -> int:
        return mix((self.profile.salt ^ (x * 0xD1B54A32D192ED03 & MASK)) + 2 * m + lost)

    def first_seen(self, ref: Ref, h: int, m: int) -> float:
        return (
            ref.first_seen
            if m == 0
            else ref.first_seen + frac(h, 16) * (NOW - DAY - ref.first_seen)
        )

    def lost_seen(self, first: float, h: int) -> float:
        """When a lost link was last seen (its lost date)."""
        return first + frac(h, 32) * (NOW - first)

    def page_index(self, ref: Ref, lost: bool, m: int) -> int:
        """Which of its domain's pages a link is on."""
        return (ref.start + m + (ref.live if lost else 0)) % ref.rec.pages

    def anchor(self, h: int) -> str:
        texts = self.anchors
        return texts[int(len(texts) * frac(h, 0) ** 2.5)]

    def backlink(self, lost: bool, x: int, m: int, url_to: str, ref: Ref) -> Backlink:
        """Link m of pool domain x to `url_to` (a page of the host) as `backlinks` serves it."""
        p = self.profile
        rec = ref.rec
        h = self.link_hash(lost, x, m)
        h2 = mix(h)
        first = self.first_seen(ref, h, m)
        last = self.lost_seen(first, h) if lost else max(first, NOW - frac(h, 32) * 20 * DAY)
        kind = ITEM_TYPES[(ref.cycle + m) % 7]
        image = kind == "image"
        page = source_page(rec, self.page_index(ref, lost, m))
        words = WORDS[(h2 >> 48) % len(WORDS)], WORDS[(h2 >> 53) % len(WORDS)]
        to_host = url_to.split("/", 3)[2]
        return Backlink(
            type="backlink",
            domain_from=rec.name,
            url_from=page.url,
            url_from_https=rec.https,
            domain_to=to_host,
            url_to=url_to,
            url_to_https=url_to.startswith("https"),
            tld_from=rec.tld,
            is_new=first > NOW - 30 * DAY,
            is_lost=lost,
            backlink_spam_score=int(rec.spam_score * frac(h2, 0)),
            rank=int(page.rank * (0.4 + 0.6 * frac(h2, 16))),
            page_from_rank=page.rank,
            domain_from_rank=rec.rank,
            domain_from_platform_type=list(rec.platform),
            domain_from_is_ip=False,
            domain_from_ip=rec.ip,
            domain_from_country=rec.country,
            page_from_external_links=page.external_links,
            page_from_internal_links=page.internal_links,
            page_from_size=page.size,
            page_from_encoding="utf-8",
            page_from_language=page.language,
            page_from_title=page.title,
            page_from_status_code=200,
            first_seen=api_time(first),
            prev_seen=api_time(first + (last - first) * frac(h, 48)),
            last_seen=api_time(last),
            item_type=kind,
            attributes=["nofollow"] if ref.nofollow else [],
            dofollow=not ref.nofollow,
            original=frac(h2, 32) < 0.7,
            alt=f"{words[0]} {words[1]}" if image else None,
            image_url=f"https://{rec.name}/img/{words[0]}-{x:x}-{m:x}.jpg" if image else None,
            anchor=self.anchor(h),
            text_pre=f"{words[0]} {words[1]}",
            text_post=WORDS[(h2 >> 40) % len(WORDS)],
            semantic_location=LOCATIONS[(ref.cycle + m) % 7],
            links_count=1,
            group_count=1,
            is_broken=False,
            url_to_status_code=200,
            url_to_spam_score=p.spam_score,
            url_to_redirect_target=None,
            ranked_keywords_info=RankedKeywordsInfo(
                page_from_keywords_count_top_3=page.top_3,
                page_from_keywords_count_top_10=page.top_10,
                page_from_keywords_count_top_100=page.top_100,
            ),
            is_indirect_link=False,
            indirect_link_path=None,
        )


def anchors_of(profile: Profile) -> list[str]:
    """The host's anchor texts, most used first."""
    rnd = random.Random(profile.salt ^ 0xA1)
    host = profile.host.removeprefix("www.")
    brand = host.split(".")[0]
    anchors = [brand, host, f"https://{host}/", *ANCHOR_WORDS]
    extra = 5 + int(math.sqrt(profile.live + profile.lost))
    anchors += [f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {brand}" for _ in range(extra // 2)]
    anchors += [f"{rnd.choice(WORDS)} {rnd.choice(WORDS)}" for _ in range(extra - extra // 2)]
    return list(dict.fromkeys(anchors))
