"""What a set of links adds up to: the figures every grouping endpoint shows.

A page's summary, a referring domain, an anchor, a network, a domain of an intersection and
a target's `summary` all show the same figures (`backlinks`, `first_seen`, `lost_date`,
`referring_domains`, `referring_pages`, the `referring_links_*` maps, ...) over different sets
of links. A `Tally` adds links up one by one (`add`: link m of a domain's live or lost list),
or a domain's links at once (`add_domain`: its whole lists by arithmetic, or the listed
link numbers), so what an anchor or a page says about its links is what those links say in
`backlinks`. `domain_figures` is the one-domain case made quick (a referring domain).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from dfs_async.emulator.corpus.links import ITEM_TYPES, LOCATIONS, PLATFORMS, Links, Ref
from dfs_async.emulator.corpus.pages import (
    COUNTRIES,
    LINK_TYPES,
    PLATFORM_TYPES,
    SEMANTIC_LOCATIONS,
    TLDS,
)

Ms = Sequence[int]  # link numbers m of one domain in one status list (a range or a list)


class DomainLinks(NamedTuple):
    """Some of one domain's links to a host: what a grouping holds of it."""

    ref: Ref
    live: Ms
    lost: Ms


def _whole(ms: Ms) -> bool:
    return isinstance(ms, range) and ms.start == 0 and ms.step == 1


def _cycle_counts(n: int, start: int, into: list[int]) -> None:
    """Add to `into[slot]` how many of link numbers 0..n-1 fall on each slot of a 7-cycle."""
    full, rest = divmod(n, 7)
    for j in range(7):
        into[(start + j) % 7] += full + (j < rest)


class Tally:
    """Links added up (see the module docstring); `figures()` the result."""

    __slots__ = ("backlinks", "first", "last", "links", "live", "nofollow_links", "pages",
                 "refs", "seen", "slots", "tlds")  # fmt: skip

    def __init__(self, links: Links) -> None:
        self.links = links
        self.backlinks = 0
        self.nofollow_links = 0
        self.first = float("inf")
        self.last = 0.0  # when the last lost link was lost
        self.live = False  # whether a link is live
        self.refs: dict[int, Ref] = {}  # the domains, by pool index
        self.pages: dict[int, int] = {}  # pool index -> source pages counted by arithmetic
        self.seen: set[int] = set()  # pool index * 8 + page, of the links added one by one
        self.tlds: dict[str, int] = {}
        self.slots = [0] * 7  # links by their place in ITEM_TYPES and LOCATIONS

    def add(self, ref: Ref, lost: bool, m: int) -> None:
        """Link m of a domain's live (lost) list."""
        x = ref.x
        rec = ref.rec
        self.refs[x] = ref
        self.backlinks += 1
        if ref.nofollow:
            self.nofollow_links += 1
        tlds = self.tlds
        tlds[rec.tld] = tlds.get(rec.tld, 0) + 1
        self.slots[(ref.cycle + m) % 7] += 1
        self.seen.add(x << 3 | (ref.start + m + (ref.live if lost else 0)) % rec.pages)
        links = self.links
        if m == 0:
            first = ref.first_seen
        else:
            h = links.link_hash(lost, x, m)
            first = links.first_seen(ref, h, m)
        if first < self.first:
            self.first = first
        if not lost:
            self.live = True
        elif not self.live:
            h = links.link_hash(True, x, m) if m == 0 else h
            self.last = max(self.last, links.lost_seen(first, h))

    def add_domain(self, d: DomainLinks) -> None:
        """A domain's links: its whole lists by arithmetic, else link by link."""
        ref, live, lost = d.ref, d.live, d.lost
        if not (_whole(live) and _whole(lost) and (not lost or len(live) in (0, ref.live))):
            for m in live:
                self.add(ref, False, m)
            for m in lost:
                self.add(ref, True, m)
            return
        n = len(live) + len(lost)
        if not n:
            return
        x = ref.x
        rec = ref.rec
        self.refs[x] = ref
        self.pages[x] = min(rec.pages, n)  # consecutive pages from its start
        self.backlinks += n
        if ref.nofollow:
            self.nofollow_links += n
        self.tlds[rec.tld] = self.tlds.get(rec.tld, 0) + n
        _cycle_counts(len(live), ref.cycle, self.slots)
        _cycle_counts(len(lost), ref.cycle, self.slots)
        self.first = min(self.first, ref.first_seen)
        if live:
            self.live = True
        elif not self.live:
            self.last = max(self.last, _last_lost(self.links, ref, len(lost)))

    def figures(self) -> dict[str, Any]:
        """The figures of the links added (at least one), `rank` and the maps included;
        `first_seen` / `lost_date` as timestamps (the caller formats them)."""
        refs = self.refs
        nofollow = rank = spam = 0
        countries: dict[str, int] = {}
        platforms: dict[str, int] = {}
        for ref in refs.values():
            rec = ref.rec
            nofollow += ref.nofollow
            if rec.rank > rank:
                rank = rec.rank
            spam += rec.spam_score
            countries[rec.country] = countries.get(rec.country, 0) + 1
            for platform in rec.platform:
                platforms[platform] = platforms.get(platform, 0) + 1
        pages = len(self.seen) + sum(self.pages.values())
        nofollow_pages = 0
        if nofollow:
            nofollow_pages = sum(1 for key in self.seen if refs[key >> 3].nofollow)
            nofollow_pages += sum(n for x, n in self.pages.items() if refs[x].nofollow)
        count = len(refs)
        if count == 1:
            ips = subnets = 1
        else:
            addresses = {ref.rec.address for ref in refs.values()}
            ips, subnets = len(addresses), len({a >> 8 for a in addresses})
        nofollow_links = self.nofollow_links
        types, locations = _slot_maps(tuple(self.slots))
        return {
            "rank": rank,
            "first_seen": self.first,
            "lost_date": None if self.live else self.last,
            "backlinks": self.backlinks,
            "backlinks_spam_score": round(spam / count) if count else 0,
            "broken_backlinks": 0,
            "broken_pages": 0,
            "referring_domains": count,
            "referring_domains_nofollow": nofollow,
            "referring_main_domains": count,
            "referring_main_domains_nofollow": nofollow,
            "referring_ips": ips,
            "referring_subnets": subnets,
            "referring_pages": pages,
            "referring_pages_nofollow": nofollow_pages,
            "referring_links_tld": _ranked(self.tlds, TLDS),
            "referring_links_types": types,
            "referring_links_attributes": {"nofollow": nofollow_links} if nofollow_links else {},
            "referring_links_platform_types": _ranked(platforms, PLATFORM_TYPES),
            "referring_links_semantic_locations": locations,
            "referring_links_countries": _ranked(countries, COUNTRIES),
        }


def _last_lost(links: Links, ref: Ref, lost: int) -> float:
    """When the last of a domain's lost links 0..lost-1 was lost."""
    x, last = ref.x, 0.0
    for m in range(lost):
        h = links.link_hash(True, x, m)
        last = max(last, links.lost_seen(links.first_seen(ref, h, m), h))
    return last


def figures(links: Links, domains: Iterable[DomainLinks]) -> dict[str, Any]:
    """The figures of the links of `domains` (see `Tally.figures`)."""
    tally = Tally(links)
    for d in domains:
        tally.add_domain(d)
    return tally.figures()


def domain_figures(links: Links, d: DomainLinks) -> dict[str, Any]:
    """`figures` of one domain's links, the common case made quick (the same result; its
    maps may be shared with other items: read them, do not change them)."""
    ref = d.ref
    rec = ref.rec
    live, lost = d.live, d.lost
    if not (_whole(live) and _whole(lost) and (not lost or len(live) in (0, ref.live))):
        return figures(links, (d,))
    n = len(live) + len(lost)
    pages = min(rec.pages, n)
    types, locations = _whole_maps(len(live), len(lost), ref.cycle)
    nofollow = ref.nofollow
    return {
        "rank": rec.rank,
        "first_seen": ref.first_seen,
        "lost_date": None if live else _last_lost(links, ref, len(lost)),
        "backlinks": n,
        "backlinks_spam_score": rec.spam_score,
        "broken_backlinks": 0,
        "broken_pages": 0,
        "referring_domains": 1,
        "referring_domains_nofollow": 1 if nofollow else 0,
        "referring_main_domains": 1,
        "referring_main_domains_nofollow": 1 if nofollow else 0,
        "referring_ips": 1,
        "referring_subnets": 1,
        "referring_pages": pages,
        "referring_pages_nofollow": pages if nofollow else 0,
        "referring_links_tld": {rec.tld: n},
        "referring_links_types": types,
        "referring_links_attributes": {"nofollow": n} if nofollow else {},
        "referring_links_platform_types": _ONE_EACH[rec.platform],
        "referring_links_semantic_locations": locations,
        "referring_links_countries": _ONE_EACH[rec.country],
    }


@functools.lru_cache(maxsize=4096)
def _whole_maps(live: int, lost: int, start: int) -> tuple[dict[str, int], dict[str, int]]:
    """The types and semantic locations of a domain's whole lists of links."""
    slots = [0] * 7
    _cycle_counts(live, start, slots)
    _cycle_counts(lost, start, slots)
    return _slot_maps(tuple(slots))


@functools.lru_cache(maxsize=4096)
def _slot_maps(slots: tuple[int, ...]) -> tuple[dict[str, int], dict[str, int]]:
    """The types and semantic locations of links counted by slot (shared maps: read only)."""
    return (
        _ranked(_by_name(slots, ITEM_TYPES), LINK_TYPES),
        _ranked(_by_name(slots, LOCATIONS), SEMANTIC_LOCATIONS),
    )


_ONE_EACH: Final[dict[Any, dict[str, int]]] = {
    **{p: {name: 1 for name in p} for p in PLATFORMS},
    **{c: {c: 1} for c in COUNTRIES},
}  # a domain's platforms and country as maps (one domain each)


def _by_name(slots: Sequence[int], names: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, n in zip(names, slots, strict=True):
        if n:
            out[name] = out.get(name, 0) + n
    return out


def _ranked(counts: dict[str, int], vocabulary: tuple[str, ...]) -> dict[str, int]:
    """Largest first (so `internal_list_limit` keeps the largest), ties in the vocabulary's
    order (the more common key first)."""
    if len(counts) < 2:
        return dict(counts)
    place = _PLACES[vocabulary]
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], place[kv[0]])))


_PLACES: Final[dict[tuple[str, ...], dict[str, int]]] = {
    vocabulary: {name: i for i, name in enumerate(vocabulary)}
    for vocabulary in (TLDS, LINK_TYPES, PLATFORM_TYPES, SEMANTIC_LOCATIONS, COUNTRIES)
}
