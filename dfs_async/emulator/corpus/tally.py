"""What a set of links adds up to: the figures every grouping endpoint shows.

A page's summary, a referring domain, an anchor, a network, a domain of an intersection and
a target's `summary` all show the same figures (`backlinks`, `first_seen`, `lost_date`,
`referring_domains`, `referring_pages`, the `referring_links_*` maps, ...) over different sets
of links. Each set is given domain by domain: which of a domain's links to the host it holds
(`DomainLinks`: its live and lost link numbers m), and `figures` adds them up, so what an
anchor or a page says about its links is what those links say in `backlinks`.

A domain's whole list of links (m = 0..n-1, the common case) adds up by arithmetic
(`range`s), any other subset link by link; both give the same figures.
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

    @property
    def backlinks(self) -> int:
        return len(self.live) + len(self.lost)


def _whole(ms: Ms) -> bool:
    return isinstance(ms, range) and ms.start == 0 and ms.step == 1


def _cycle_counts(ms: Ms, start: int, into: list[int]) -> None:
    """Add to `into[slot]` how many of link numbers `ms` fall on each slot of a 7-cycle."""
    if _whole(ms):
        full, rest = divmod(len(ms), 7)
        for j in range(7):
            into[(start + j) % 7] += full + (j < rest)
        return
    for m in ms:
        into[(start + m) % 7] += 1


@functools.lru_cache(maxsize=4096)
def _whole_maps(live: int, lost: int, start: int) -> tuple[dict[str, int], dict[str, int]]:
    """The types and semantic locations of a domain's whole lists of links."""
    slots = [0] * 7
    _cycle_counts(range(live), start, slots)
    _cycle_counts(range(lost), start, slots)
    return (
        _ranked(_by_name(slots, ITEM_TYPES), LINK_TYPES),
        _ranked(_by_name(slots, LOCATIONS), SEMANTIC_LOCATIONS),
    )


def source_pages(d: DomainLinks) -> int:
    """How many distinct pages of its domain the links come from."""
    ref = d.ref
    pages = ref.rec.pages
    live, lost = d.live, d.lost
    if _whole(live) and _whole(lost) and (not lost or len(live) in (0, ref.live)):
        return min(pages, len(live) + len(lost))  # consecutive pages
    seen = {(ref.start + m) % pages for m in d.live}
    seen.update((ref.start + ref.live + m) % pages for m in d.lost)
    return len(seen)


def first_seen(links: Links, d: DomainLinks) -> float:
    ref = d.ref
    if 0 in d.live or 0 in d.lost:
        return ref.first_seen
    x = ref.x
    firsts = [links.first_seen(ref, links.link_hash(False, x, m), m) for m in d.live]
    firsts += [links.first_seen(ref, links.link_hash(True, x, m), m) for m in d.lost]
    return min(firsts)


def lost_date(links: Links, d: DomainLinks) -> float | None:
    """When the last of its links was lost; None while one is live."""
    if d.live or not d.lost:
        return None
    ref, x = d.ref, d.ref.x
    last = 0.0
    for m in d.lost:
        h = links.link_hash(True, x, m)
        last = max(last, links.lost_seen(links.first_seen(ref, h, m), h))
    return last


def domain_figures(links: Links, d: DomainLinks) -> dict[str, Any]:
    """`figures` of one domain's links, the common case made quick (the same result; its
    maps may be shared with other items: read them, do not change them)."""
    ref = d.ref
    rec = ref.rec
    live, lost = d.live, d.lost
    if not (_whole(live) and _whole(lost)):
        return figures(links, (d,))
    n = len(live) + len(lost)
    pages = source_pages(d)
    types, locations = _whole_maps(len(live), len(lost), ref.cycle)
    nofollow = ref.nofollow
    return {
        "rank": rec.rank,
        "first_seen": ref.first_seen,
        "lost_date": lost_date(links, d) if lost and not live else None,
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


_ONE_EACH: Final = {
    **{p: {name: 1 for name in p} for p in PLATFORMS},
    **{c: {c: 1} for c in COUNTRIES},
}  # a domain's platforms and country as maps (one domain each)


def figures(links: Links, domains: Iterable[DomainLinks]) -> dict[str, Any]:
    """The shared figures of the links of `domains` (at least one), `rank` and the maps
    included; `first_seen` / `lost_date` as timestamps (the caller formats them)."""
    backlinks = nofollow = nofollow_links = pages = nofollow_pages = rank = spam = 0
    first = float("inf")
    lost: float | None = 0.0
    ips: set[str] = set()
    subnets: set[str] = set()
    tlds: dict[str, int] = {}
    countries: dict[str, int] = {}
    platforms: dict[str, int] = {}
    types = [0] * 7
    locations = [0] * 7
    count = 0
    for d in domains:
        count += 1
        ref = d.ref
        rec = ref.rec
        n = d.backlinks
        p = source_pages(d)
        backlinks += n
        pages += p
        if ref.nofollow:
            nofollow += 1
            nofollow_links += n
            nofollow_pages += p
        rank = max(rank, rec.rank)
        spam += rec.spam_score
        first = min(first, first_seen(links, d))
        if lost is not None:
            gone = lost_date(links, d)
            lost = None if gone is None else max(lost, gone)
        ips.add(rec.address)
        subnets.add(rec.address >> 8)
        tlds[rec.tld] = tlds.get(rec.tld, 0) + n
        countries[rec.country] = countries.get(rec.country, 0) + 1
        for platform in rec.platform:
            platforms[platform] = platforms.get(platform, 0) + 1
        _cycle_counts(d.live, ref.cycle, types)
        _cycle_counts(d.lost, ref.cycle, types)
        _cycle_counts(d.live, ref.cycle, locations)
        _cycle_counts(d.lost, ref.cycle, locations)
    return {
        "rank": rank,
        "first_seen": first,
        "lost_date": lost,
        "backlinks": backlinks,
        "backlinks_spam_score": round(spam / count) if count else 0,
        "broken_backlinks": 0,
        "broken_pages": 0,
        "referring_domains": count,
        "referring_domains_nofollow": nofollow,
        "referring_main_domains": count,
        "referring_main_domains_nofollow": nofollow,
        "referring_ips": len(ips),
        "referring_subnets": len(subnets),
        "referring_pages": pages,
        "referring_pages_nofollow": nofollow_pages,
        "referring_links_tld": _ranked(tlds, TLDS),
        "referring_links_types": _ranked(_by_name(types, ITEM_TYPES), LINK_TYPES),
        "referring_links_attributes": {"nofollow": nofollow_links} if nofollow_links else {},
        "referring_links_platform_types": _ranked(platforms, PLATFORM_TYPES),
        "referring_links_semantic_locations": _ranked(
            _by_name(locations, LOCATIONS), SEMANTIC_LOCATIONS
        ),
        "referring_links_countries": _ranked(countries, COUNTRIES),
    }


def _by_name(slots: list[int], names: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, n in zip(names, slots, strict=True):
        if n:
            out[name] = out.get(name, 0) + n
    return out


def _ranked(counts: dict[str, int], vocabulary: tuple[str, ...]) -> dict[str, int | None]:
    """Largest first (so `internal_list_limit` keeps the largest), ties in the vocabulary's
    order (the more common key first)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], vocabulary.index(kv[0]))))
