"""A host's backlinks and referring domains: the one source of every figure but the pages.

The authoritative figures of a host are its **link profile** (`Profile`), cheap to compute
from (seed, host) alone, without building the host's pages: the number of live and of lost
backlinks, of the referring domains of each, the host's rank and spam score. `summary`, the
`bulk_*` endpoints, `backlinks` (its `total_count` in `as_is` mode) and `referring_domains`
all read it, so they agree by construction:

- `summary.backlinks` == `backlinks` total_count (as_is) == `bulk_backlinks` (live, the
  default `backlinks_status_type`, subdomains included);
- `summary.referring_domains` == `referring_domains` total_count == `bulk_referring_domains`;
- `summary.rank` == `bulk_ranks` (`host_rank`), `summary.backlinks_spam_score` ==
  `bulk_spam_score` (`host_spam_score`).

The backlinks themselves: each status (live, lost) has a list of positions 0..n-1. The
positions are spread over the host's pages (live backlinks over its live pages, lost ones
over its lost pages, by the pages' `backlinks` as weights), the pages under the host itself
first, then those of its subdomains, so `include_subdomains=false` keeps a prefix of each
list. A position's referring domain is an index into the host's pool: live position k < D
(the live referring domains) links from pool domain k, later positions from a skewed draw in
[0, D); lost positions use the pool range [D - overlap, D - overlap + D_lost) the same way.
So the number of referring domains of a prefix is exact arithmetic, and the first D live
backlinks are one per referring domain. Pool domains are global (`domain_record(g)`): the
first 200 of every pool come from 1,009 popular domains, which is what competitors and
intersections share. The other fields of a backlink come from a generator seeded per block
of 256 positions, so any page of the list is made on its own (`Corpus.backlink_slice`) and a
50,000-backlink host is generated in about a second when a query needs all of it.

A page target (an URL) has a profile of its own (one page: the URL), so a bulk task of pages
never builds their sites' pages: its backlinks are not drawn from its site's lists (the
site's `backlinks` and the page's are two reproducible sets, each consistent on its own).
Big hosts (see `EmulatorConfig`) have at least `big_backlinks` live backlinks.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from typing import Final

from dfs_async.emulator.config import EmulatorConfig
from dfs_async.emulator.corpus.pages import (
    COUNTRIES,
    PLATFORM_TYPES,
    SECTIONS,
    SEMANTIC_LOCATIONS,
    TLDS,
    WORDS,
    HostCorpus,
    api_time,
    host_size,
    stable_seed,
)
from dfs_async.models import Backlink, RankedKeywordsInfo

BLOCK: Final = 256
POPULAR: Final = 1009  # a prime: the popular domains every pool starts from
POPULAR_TAKE: Final = 200
UNIVERSE: Final = 2_000_003  # a prime: the other referring domains
RESERVED_TLDS: Final = ("invalid", "test", "example", "localhost")
_MASK: Final = (1 << 64) - 1
_NOW: Final = 1_751_241_600  # 2025-06-30: the corpus's data has no clock (see pages)
_DAY: Final = 86_400
LANGUAGES: Final = ("en", "de", "fr", "es", "ru", "it", "nl", "pl", "pt", "ja")
ITEM_TYPES: Final = ("anchor", "anchor", "anchor", "anchor", "image", "link", "canonical")
ANCHOR_WORDS: Final = ("click here", "here", "website", "read more", "source", "this article")


def mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit number from any integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit(x: int) -> float:
    """A float in [0, 1) from an integer, through `mix`."""
    return (mix(x) >> 11) / float(1 << 53)


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
    pages: int
    live: int  # live backlinks, subdomains included
    lost: int
    domains_live: int  # referring domains of the live backlinks
    domains_lost: int
    overlap: int  # pool domains linking with both live and lost backlinks
    rank: int  # 0..1000
    spam_score: int  # 0..100
    first_seen: float
    nofollow: float  # share of nofollow links and domains
    main_share: float  # referring main domains / referring domains
    ip_share: float  # referring ips / referring domains
    salt: int  # the host's draws of positions

    @property
    def pool_size(self) -> int:
        return self.domains_live + self.domains_lost - self.overlap

    def domain_index(self, lost: bool, k: int) -> int:
        """The pool index of the referring domain of position k of a status list."""
        if not lost:
            d = self.domains_live
            return k if k < d else int(d * unit(self.salt ^ k) ** 3)
        d = self.domains_lost
        base = self.domains_live - self.overlap
        return base + (k if k < d else int(d * unit(self.salt ^ (k << 1) ^ 1) ** 3))

    def prefix_domains(self, live: int, lost: int) -> int:
        """The referring domains of the first `live` live and `lost` lost positions."""
        a = min(live, self.domains_live)
        b = min(lost, self.domains_lost)
        if not a or not b:
            return a + b
        lo = self.domains_live - self.overlap
        shared = max(0, min(a, lo + b) - lo)
        return a + b - shared

    def global_id(self, index: int) -> int:
        """The global domain id of pool index `index` (injective per host)."""
        s = self.salt
        if index < POPULAR_TAKE:
            a = 1 + s % (POPULAR - 1)
            return (a * index + (s >> 16)) % POPULAR
        a = 1 + (s >> 8) % (UNIVERSE - 1)
        return POPULAR + (a * (index - POPULAR_TAKE) + (s >> 24)) % UNIVERSE


def make_profile(config: EmulatorConfig, host: str) -> Profile:
    """The link profile of `host` (or of a page URL), from (seed, host) only: cheap, no pages
    built. A page URL's profile is its own: one page, the URL itself."""
    rnd = random.Random(stable_seed(config.seed, "links", host))
    live = lost = 0
    if "://" in host:
        size = 1
        total = int(min(rnd.paretovariate(1.1), 2000.0) * 10) if rnd.random() >= 0.25 else 0
        lost = int(total * rnd.uniform(0.05, 0.25))
        live = total - lost
    else:
        pinned = config.target_sizes.get(host)
        size = (
            pinned
            if pinned is not None
            else host_size(config.seed, host, config.min_pages, config.max_pages, config.size_skew)
        )
        big = is_big(config, host)
        if big:
            size = max(size, 1)
        if size:
            home = 200 + int(min(rnd.paretovariate(1.2), 1000.0) * 100)
            total = home + int(size * rnd.uniform(1.0, 8.0))
            lost = int(total * rnd.uniform(0.05, 0.25))
            live = total - lost
            if big:
                live = max(live, config.big_backlinks + rnd.randrange(5000))
    d_live = min(live, max(1, int(live * rnd.uniform(0.04, 0.3)))) if live else 0
    d_lost = min(lost, max(1, int(lost * rnd.uniform(0.1, 0.6)))) if lost else 0
    overlap = int(min(d_live, d_lost) * rnd.uniform(0.1, 0.5))
    rank = min(1000, int(110 * math.log10(live + 1) + rnd.uniform(0, 120)))
    return Profile(
        host=host,
        pages=size,
        live=live,
        lost=lost,
        domains_live=d_live,
        domains_lost=d_lost,
        overlap=overlap,
        rank=rank,
        spam_score=int(70 * rnd.random() ** 2.5),
        first_seen=rnd.uniform(1_420_070_400, 1_704_067_200),
        nofollow=rnd.uniform(0.05, 0.45),
        main_share=rnd.uniform(0.7, 1.0),
        ip_share=rnd.uniform(0.6, 0.95),
        salt=stable_seed(config.seed, "salt", host),
    )


@dataclass(frozen=True)
class DomainRecord:
    """A referring domain, the same wherever it links from (keyed by its global id)."""

    gid: int
    name: str
    tld: str
    rank: int
    spam_score: int
    country: str
    ip: str
    platform: tuple[str, ...]
    first_seen: float
    pages: int  # how many of its pages link out (url_from varies over them)
    https: bool

    @property
    def subnet(self) -> str:
        return self.ip.rsplit(".", 1)[0] + ".0"


def domain_record(seed: int, gid: int) -> DomainRecord:
    rnd = random.Random(stable_seed(seed, "domain", gid))
    tld = TLDS[min(len(TLDS) - 1, int(len(TLDS) * rnd.random() ** 2))]
    if gid < POPULAR:
        name = f"{rnd.choice(WORDS)}{rnd.choice(WORDS)}{gid}.{tld}"
        rank = 500 + rnd.randrange(500)
    else:
        name = f"{rnd.choice(WORDS)}-{rnd.choice(WORDS)}-{gid:x}.{tld}"
        rank = int(600 * rnd.random() ** 2)
    return DomainRecord(
        gid=gid,
        name=name,
        tld=tld,
        rank=rank,
        spam_score=int(80 * rnd.random() ** 3),
        country=COUNTRIES[min(len(COUNTRIES) - 1, int(len(COUNTRIES) * rnd.random() ** 2))],
        ip=f"{rnd.randint(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randint(1, 254)}",
        platform=tuple(rnd.sample(PLATFORM_TYPES, rnd.randint(1, 2))),
        first_seen=rnd.uniform(1_262_304_000, 1_700_000_000),
        pages=1 + rnd.randrange(6),
        https=rnd.random() < 0.85,
    )


def url_from(record: DomainRecord, j: int) -> str:
    """Page j of a referring domain: the same url for every host it links to."""
    h = mix(record.gid * 131 + j)
    section = SECTIONS[h % len(SECTIONS)]
    w1, w2 = WORDS[(h >> 8) % len(WORDS)], WORDS[(h >> 16) % len(WORDS)]
    scheme = "https" if record.https else "http"
    return f"{scheme}://{record.name}/{section}/{w1}-{w2}-{j}/"


def page_of(profile: Profile, lost: bool, k: int, record: DomainRecord) -> int:
    """Which of its pages a referring domain's backlink at position k links from."""
    return mix(profile.salt ^ (k * 2 + lost) ^ 0x55) % record.pages


def anchors_of(profile: Profile) -> list[str]:
    """The host's anchor texts, most used first."""
    rnd = random.Random(profile.salt ^ 0xA1)
    host = profile.host.split("/")[2] if "://" in profile.host else profile.host
    host = host.removeprefix("www.")
    brand = host.split(".")[0]
    anchors = [brand, host, f"https://{host}/", *ANCHOR_WORDS]
    extra = 5 + int(math.sqrt(profile.live + profile.lost))
    anchors += [f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {brand}" for _ in range(extra // 2)]
    anchors += [f"{rnd.choice(WORDS)} {rnd.choice(WORDS)}" for _ in range(extra - extra // 2)]
    return list(dict.fromkeys(anchors))


def anchor_index(profile: Profile, lost: bool, k: int, count: int) -> int:
    return int(count * unit(profile.salt ^ (k * 2 + lost) ^ 0xA2) ** 2.5)


@dataclass
class Runs:
    """A status list's positions spread over pages: run i is positions [start, start+count)
    of `urls[i]`; the runs under the host itself come first (`main_count` positions)."""

    starts: list[int]
    counts: list[int]
    urls: list[str]
    main_count: int

    @property
    def total(self) -> int:
        return sum(self.counts)

    def url_at(self, k: int) -> str:
        i = bisect.bisect_right(self.starts, k) - 1
        return self.urls[max(i, 0)]

    def run_of(self, url: str) -> tuple[int, int] | None:
        for start, count, u in zip(self.starts, self.counts, self.urls, strict=True):
            if u == url:
                return start, count
        return None


def make_runs(pages: HostCorpus, total: int, lost: bool) -> Runs:
    """`total` positions over the pages of a status (weights: their `backlinks`)."""
    chosen = [i for i, it in enumerate(pages.items) if (it.lost_date is not None) == lost] or list(
        range(len(pages.items))
    )
    order = [i for i in chosen if pages.on_main_host[i]] + [
        i for i in chosen if not pages.on_main_host[i]
    ]
    weights = [max(1, pages.items[i].backlinks or 0) for i in order]
    whole = sum(weights)
    starts: list[int] = []
    counts: list[int] = []
    urls: list[str] = []
    acc = 0
    main_count = 0
    for i, w in zip(order, weights, strict=True):
        start = total * acc // whole if whole else 0
        acc += w
        end = total * acc // whole if whole else 0
        starts.append(start)
        counts.append(end - start)
        urls.append(pages.items[i].url or "")
        if pages.on_main_host[i]:
            main_count = end
    return Runs(starts, counts, urls, main_count)


def backlink_block(
    seed: int, profile: Profile, runs: Runs, lost: bool, block: int, records: RecordCache
) -> list[Backlink]:
    """The backlinks of positions [block*BLOCK, (block+1)*BLOCK) of a status list."""
    rnd = random.Random(stable_seed(seed, "backlinks", profile.host, lost, block))
    r = rnd.random
    start = block * BLOCK
    stop = min(start + BLOCK, runs.total)
    anchors = anchors_of_cached(profile, records)
    out: list[Backlink] = []
    for k in range(start, stop):
        rec = records.get(profile.global_id(profile.domain_index(lost, k)))
        page_url = runs.url_at(k)
        to_host = page_url.split("/", 3)[2] if "://" in page_url else profile.host
        kind = ITEM_TYPES[int(r() * len(ITEM_TYPES))]
        first = max(rec.first_seen, profile.first_seen) + r() * _DAY * 900
        first = min(first, _NOW - _DAY)
        last = _NOW - r() * _DAY * 20 if not lost else first + r() * (_NOW - first)
        prev = first + (last - first) * r()
        dofollow = r() >= profile.nofollow
        image = kind == "image"
        anchor = anchors[anchor_index(profile, lost, k, len(anchors))]  # `anchors` groups it
        words = WORDS[int(r() * len(WORDS))], WORDS[int(r() * len(WORDS))]
        out.append(
            Backlink(
                type="backlink",
                domain_from=rec.name,
                url_from=url_from(rec, page_of(profile, lost, k, rec)),
                url_from_https=rec.https,
                domain_to=to_host,
                url_to=page_url,
                url_to_https=page_url.startswith("https"),
                tld_from=rec.tld,
                is_new=first > _NOW - 30 * _DAY,
                is_lost=lost,
                backlink_spam_score=int(rec.spam_score * r()),
                rank=int(rec.rank * (0.2 + 0.5 * r())),
                page_from_rank=int(rec.rank * (0.3 + 0.6 * r())),
                domain_from_rank=rec.rank,
                domain_from_platform_type=list(rec.platform),
                domain_from_is_ip=False,
                domain_from_ip=rec.ip,
                domain_from_country=rec.country,
                page_from_external_links=1 + int(200 * r() ** 3),
                page_from_internal_links=int(300 * r()),
                page_from_size=2000 + int(200_000 * r()),
                page_from_encoding="utf-8",
                page_from_language=LANGUAGES[int(len(LANGUAGES) * r() ** 2)],
                page_from_title=f"{words[0].title()} {words[1]} - {rec.name}",
                page_from_status_code=200,
                first_seen=api_time(first),
                prev_seen=api_time(prev),
                last_seen=api_time(last),
                item_type=kind,
                attributes=[] if dofollow else ["nofollow"],
                dofollow=dofollow,
                original=r() < 0.7,
                alt=f"{words[0]} {words[1]}" if image else None,
                image_url=f"https://{rec.name}/img/{words[0]}-{k:x}.jpg" if image else None,
                anchor=anchor,
                text_pre=f"{words[0]} {words[1]}",
                text_post=WORDS[int(r() * len(WORDS))],
                semantic_location=SEMANTIC_LOCATIONS[int(len(SEMANTIC_LOCATIONS) * r() ** 2)],
                links_count=1,
                group_count=1,
                is_broken=False,
                url_to_status_code=200,
                url_to_spam_score=profile.spam_score,
                url_to_redirect_target=None,
                ranked_keywords_info=RankedKeywordsInfo(
                    page_from_keywords_count_top_3=int(5 * r() ** 3),
                    page_from_keywords_count_top_10=int(20 * r() ** 3),
                    page_from_keywords_count_top_100=int(200 * r() ** 3),
                ),
                is_indirect_link=False,
                indirect_link_path=None,
            )
        )
    return out


class RecordCache:
    """Domain records and anchor lists by key, dropped whole when they grow too many."""

    def __init__(self, seed: int, size: int = 300_000) -> None:
        self.seed = seed
        self._size = size
        self._records: dict[int, DomainRecord] = {}
        self._anchors: dict[str, list[str]] = {}

    def get(self, gid: int) -> DomainRecord:
        rec = self._records.get(gid)
        if rec is None:
            if len(self._records) >= self._size:
                self._records.clear()
            rec = self._records[gid] = domain_record(self.seed, gid)
        return rec


def anchors_of_cached(profile: Profile, records: RecordCache) -> list[str]:
    found = records._anchors.get(profile.host)
    if found is None:
        if len(records._anchors) > 1000:
            records._anchors.clear()
        found = records._anchors[profile.host] = anchors_of(profile)
    return found
