"""The answers of the single-target endpoints: what each serves from the corpus.

A target is a domain (its host's two status lists, a prefix of them without subdomains) or a
page (the run of its page in its host's list: the links pointing at that page, so a page
never has more backlinks than its domain); a page the corpus does not hold has no backlinks.

- `domain_pages_summary`: the host's pages (see `pages`) of the asked status, each summing
  up the links pointing at it (`tally`).
- `summary`: one `Summary` per target: `backlinks` = the backlinks of the asked status (live
  by default) = `backlinks` total_count in as_is mode; `referring_domains` = their distinct
  referring domains = `referring_domains` total_count; the other counts and the maps added up
  from the same links; `rank` and the spam score from the profile (a page's rank is its own).
  With `backlinks_filters`, the figures are of the backlinks the filter keeps. Charged 1 item.
- `backlinks`: the source's backlinks in list order (live, then lost for `all`).
  `mode` as_is (every backlink), one_per_domain / one_per_anchor (the first backlink of each
  domain_from / anchor); `custom_mode` {field, value} (overrides `mode`): the first `value`
  backlinks of each distinct value of `field`. Filters apply before the mode, `order_by`
  after it. Paged by `offset` (<= 20,000, the request's own bound) or by
  `search_after_token` (see `figures`): a result carries the token of the next page while
  items remain.
- `anchors`, `referring_domains`, `referring_networks` (`network_address_type` ip / subnet):
  the source's links grouped by anchor / referring domain / ip or subnet (in order of their
  first referring domain), each item the `tally` of its links. Then `filters`, `order_by`,
  offset/limit.
- `domain_pages`: the pages of `domain_pages_summary` with a made-up meta.
- `competitors`: a reproducible list of domains sharing referring domains with the target
  (`intersections` at most its referring domains, most first).
- `include_indirect_links` and `exclude_internal_backlinks` are accepted and change nothing:
  the corpus has neither indirect nor internal links.

Every list is made a page at a time; a filtered or sorted one is ordered once (indices kept
in the corpus's cache, `Corpus.ordered`) and its pages made from that order.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dfs_async.emulator.corpus.core import (
    CHUNK,
    Corpus,
    Grouping,
    Listing,
    Source,
    group_codes,
    register,
    source_codes,
)
from dfs_async.emulator.corpus.draws import api_time, stable_seed
from dfs_async.emulator.corpus.figures import (
    fingerprint,
    make_token,
    option,
    read_token,
    scale,
)
from dfs_async.emulator.corpus.pages import (
    COUNTRIES,
    MAP_FIELDS,
    PLATFORM_TYPES,
    TLDS,
    WORDS,
    truncate_maps,
)
from dfs_async.emulator.corpus.tally import Tally, domain_figures, figures
from dfs_async.emulator.query import compile_filter, getter, sort_rows
from dfs_async.endpoints import BACKLINK_FILTER_FIELDS, filter_fields
from dfs_async.models import (
    Anchor,
    AnchorsRequest,
    Backlink,
    BacklinksRequest,
    BacklinksResult,
    Competitor,
    CompetitorsRequest,
    CountedResult,
    CustomModeInfo,
    DomainPage,
    DomainPagesRequest,
    DomainPagesSummaryRequest,
    PagedResult,
    PageMeta,
    PageSummary,
    ReferringDomain,
    ReferringDomainsRequest,
    ReferringNetwork,
    ReferringNetworksRequest,
    Summary,
    SummaryRequest,
    TargetInfo,
)

T = TypeVar("T")
MODE_FIELDS = {"one_per_domain": "domain_from", "one_per_anchor": "anchor"}


def page(order: Sequence[T], task: Mapping[str, Any], request: type[Any]) -> Sequence[T]:
    """The asked page of a list (of indices, or of the items themselves)."""
    offset = option(task, request, "offset")
    return order[offset : offset + option(task, request, "limit")]


def paged(
    corpus: Corpus, kind: str, task: Mapping[str, Any], request: type[Any], listing: Listing
) -> tuple[list[Any], int]:
    """The asked page of a listing after the task's filters and order, and the total."""
    order = corpus.ordered(kind, task, len(listing), listing.make, listing.fields)
    return listing.make(page(order, task, request)), len(order)


def shared(fig: dict[str, Any], limit: int, one_hundred: bool, copy: bool = True) -> dict[str, Any]:
    """A tally's figures as an item's fields: times formatted, maps cut, rank scaled (in a
    copy, unless `copy` is false: a tally made for this item alone)."""
    out = dict(fig) if copy else fig
    out["first_seen"] = api_time(fig["first_seen"])
    out["lost_date"] = api_time(fig["lost_date"]) if fig["lost_date"] else None
    if one_hundred:
        out["rank"] = round(fig["rank"] / 10)
    for name in MAP_FIELDS:
        value = fig[name]
        if len(value) > limit:
            out[name] = dict(list(value.items())[:limit])
    return out


def grouping_of(corpus: Corpus, task: Mapping[str, Any], request: type[Any]) -> Grouping:
    """The task's target's links of its status grouped by referring domain (only those its
    `backlinks_filters` keep)."""
    source = corpus.source(task["target"], option(task, request, "include_subdomains"))
    status = option(task, request, "backlinks_status_type")
    expr = task.get("backlinks_filters")
    if expr is None:
        if all(source.is_whole(lost) for lost in (False, True)):
            return corpus.grouping(source, status)
        key = {"grouping": source.host, "r": source.ranges_key(), "s": status}
        found: Grouping = corpus.cached(key, lambda: corpus.grouping(source, status))
        return found
    key = {"grouping": source.host, "r": source.ranges_key(), "s": status, "f": expr}
    found = corpus.cached(key, lambda: group_codes(source.links, corpus.kept(source, status, expr)))
    return found


# -- domain_pages_summary ------------------------------------------------------------------


@register("domain_pages_summary")
def pages_summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    list_limit = option(task, DomainPagesSummaryRequest, "internal_list_limit")
    items, total = paged(corpus, "pages", task, DomainPagesSummaryRequest, corpus.pages_of(task))
    items = [truncate_maps(item, list_limit) for item in items]
    return PagedResult(task["target"], total, len(items), items), len(items)


# -- summary -------------------------------------------------------------------------------


def target_rank(corpus: Corpus, target: str) -> int:
    """A domain's rank is its profile's; a page's is its page's (0: a page nobody links to)."""
    if "://" not in target:
        return corpus.profile(target).rank
    source = corpus.source(target)
    if source.page is None:
        return 0
    item = corpus.page_summary(source.links, source.page)
    return item.rank or 0 if item is not None else 0


def target_spam_score(corpus: Corpus, target: str) -> int:
    """The spam score of a target's site (`summary`, `bulk_spam_score`)."""
    return corpus.source(target).profile.spam_score


@register("summary")
def summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    status = option(task, SummaryRequest, "backlinks_status_type")
    one_hundred = option(task, SummaryRequest, "rank_scale") == "one_hundred"
    source = corpus.source(target, option(task, SummaryRequest, "include_subdomains"))
    shape = {k: task[k] for k in ("target", "include_subdomains", "backlinks_filters") if k in task}

    def tally() -> dict[str, Any] | None:
        grouping = grouping_of(corpus, task, SummaryRequest)
        if not len(grouping):
            return None
        return figures(source.links, (grouping.domain(x) for x in grouping.order))

    fig: dict[str, Any] | None = corpus.cached({"summary": status, **shape}, tally)
    p = source.profile
    page = source.page
    if page is not None or "://" in target:
        item = corpus.page_summary(source.links, page) if page is not None else None
        rank = item.rank or 0 if item is not None else 0
        first_seen = item.first_seen if item is not None else None
        lost_date = item.lost_date if item is not None else None
        pages = 1
    else:
        rank, first_seen, lost_date, pages = p.rank, api_time(p.first_seen), None, p.pages
    spam = p.spam_score
    limit = option(task, SummaryRequest, "internal_list_limit")
    counts: dict[str, Any]
    if fig is None:
        counts = {name: 0 for name in _COUNTS} | {name: {} for name in MAP_FIELDS}
    else:
        counts = shared(fig, limit, one_hundred)
        counts = {k: counts[k] for k in (*_COUNTS, *MAP_FIELDS)}
    rnd = random.Random(stable_seed(corpus.config.seed, "info", target))
    result = Summary(
        target=target,
        first_seen=first_seen,
        lost_date=lost_date,
        rank=round(rank / 10) if one_hundred else rank,
        backlinks_spam_score=spam,
        crawled_pages=pages,
        info=TargetInfo(
            server=rnd.choice(("nginx", "apache", "cloudflare", "LiteSpeed")),
            cms=rnd.choice(("WordPress", "Drupal", None, None)),
            platform_type=[rnd.choice(PLATFORM_TYPES)],
            ip_address=f"{rnd.randint(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.1",
            country=rnd.choice(COUNTRIES),
            is_ip=False,
            target_spam_score=spam,
        ),
        internal_links_count=pages * 12,
        external_links_count=pages * 3,
        **counts,
    )
    return result, 1


_COUNTS = (
    "backlinks",
    "broken_backlinks",
    "broken_pages",
    "referring_domains",
    "referring_domains_nofollow",
    "referring_main_domains",
    "referring_main_domains_nofollow",
    "referring_ips",
    "referring_subnets",
    "referring_pages",
    "referring_pages_nofollow",
)


# -- backlinks -----------------------------------------------------------------------------


def select_backlinks(corpus: Corpus, source: Source, task: Mapping[str, Any]) -> array[int]:
    """The positions of a source's backlinks that a task's filters, mode and order select,
    in order (made a chunk at a time: only positions and sort keys are kept)."""
    status = option(task, BacklinksRequest, "backlinks_status_type")
    one_hundred = option(task, BacklinksRequest, "rank_scale") == "one_hundred"
    keep = compile_filter(task["filters"], BACKLINK_FILTER_FIELDS) if "filters" in task else None
    custom = task.get("custom_mode")
    mode = option(task, BacklinksRequest, "mode")
    field, most = (custom["field"], custom["value"]) if custom else (MODE_FIELDS.get(mode), 1)
    seen: dict[Any, int] = {}
    order_by = task.get("order_by") or []
    getters = [getter(rule.partition(",")[0]) for rule in order_by]
    rows: list[tuple[int, tuple[Any, ...]]] = []
    codes = list(source_codes(source, status))
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        for c, item in zip(chunk, corpus.backlinks_at(source, chunk), strict=True):
            item = scale(item, one_hundred)
            if keep is not None and not keep(item):
                continue
            if field is not None:
                value = getattr(item, field)
                n = seen.get(value, 0)
                if n >= most:
                    continue
                seen[value] = n + 1
            rows.append((c, tuple(g(item) for g in getters)))
    sort_rows(rows, order_by)
    return array("q", (c for c, _ in rows))


@register("backlinks")
def backlinks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    seed = corpus.config.seed
    target = task["target"]
    status = option(task, BacklinksRequest, "backlinks_status_type")
    mode = option(task, BacklinksRequest, "mode")
    limit = option(task, BacklinksRequest, "limit")
    start = option(task, BacklinksRequest, "offset")
    one_hundred = option(task, BacklinksRequest, "rank_scale") == "one_hundred"
    print_ = fingerprint(seed, task)
    if "search_after_token" in task:
        start = read_token(seed, task["search_after_token"], print_, corpus.token_epoch)
    source = corpus.source(target, option(task, BacklinksRequest, "include_subdomains"))
    custom = task.get("custom_mode")
    simple = mode == "as_is" and not custom and "filters" not in task and "order_by" not in task
    if simple:
        total = source.count(status)
        items: list[Backlink] = corpus.backlink_slice(
            source, status, start, min(start + limit, total)
        )
    else:
        shape = {
            k: v
            for k, v in task.items()
            if k not in ("limit", "offset", "tag", "search_after_token")
        }
        selected: array[int] = corpus.cached(
            {"backlinks": 1, **shape}, lambda: select_backlinks(corpus, source, task)
        )
        total = len(selected)
        items = corpus.backlinks_at(source, selected[start : start + limit])
    items = [scale(it, one_hundred) for it in items]
    after = start + len(items)
    result = BacklinksResult(
        target=target,
        mode=mode,
        custom_mode=CustomModeInfo(field=custom["field"], value=custom["value"])
        if custom
        else None,
        total_count=total,
        items_count=len(items),
        items=items,
        search_after_token=make_token(seed, after, print_, corpus.token_epoch)
        if after < total
        else None,
    )
    return result, len(items)


# -- grouped: referring domains, anchors, referring networks -------------------------------


@register("referring_domains")
def referring_domains(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    request = ReferringDomainsRequest
    one_hundred = option(task, request, "rank_scale") == "one_hundred"
    limit = option(task, request, "internal_list_limit")
    grouping = grouping_of(corpus, task, request)
    links = grouping.links

    def make(which: Sequence[int]) -> list[ReferringDomain]:
        out = []
        for n in which:
            d = grouping.domain(grouping.order[n])
            fields = shared(domain_figures(links, d), limit, one_hundred, copy=False)
            out.append(
                ReferringDomain(type="backlinks_referring_domain", domain=d.ref.rec.name, **fields)
            )
        return out

    listing = Listing(len(grouping), make, filter_fields(ReferringDomain))
    items, total = paged(corpus, "ReferringDomain", task, request, listing)
    return PagedResult(task["target"], total, len(items), items), len(items)


def grouped_by(
    corpus: Corpus,
    task: Mapping[str, Any],
    request: type[Any],
    kind: str,
    tallies: Callable[[Grouping], dict[Any, Tally]],
) -> list[tuple[Any, dict[str, Any]]]:
    """(key, figures) of each group of a target's links, in order of first appearance
    (cached: anchors and networks are few next to their links)."""
    grouping = grouping_of(corpus, task, request)
    shape = {
        k: task[k]
        for k in (
            "target",
            "include_subdomains",
            "backlinks_status_type",
            "backlinks_filters",
            "network_address_type",
        )
        if k in task
    }

    def build() -> list[tuple[Any, dict[str, Any]]]:
        return [(key, tally.figures()) for key, tally in tallies(grouping).items()]

    found: list[tuple[Any, dict[str, Any]]] = corpus.cached({"groups": kind, **shape}, build)
    return found


def by_anchor(grouping: Grouping) -> dict[Any, Tally]:
    """The links of each anchor text."""
    links = grouping.links
    out: dict[str, Tally] = {}
    for x in grouping.order:
        d = grouping.domain(x)
        for lost, ms in ((False, d.live), (True, d.lost)):
            for m in ms:
                text = links.anchor(links.link_hash(lost, x, m))
                tally = out.get(text)
                if tally is None:
                    tally = out[text] = Tally(links)
                tally.add(d.ref, lost, m)
    return out


@register("anchors")
def anchors(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    one_hundred = option(task, AnchorsRequest, "rank_scale") == "one_hundred"
    limit = option(task, AnchorsRequest, "internal_list_limit")
    groups = grouped_by(corpus, task, AnchorsRequest, "anchor", by_anchor)

    def make(which: Sequence[int]) -> list[Anchor]:
        return [
            Anchor(
                type="backlinks_anchor",
                anchor=groups[n][0],
                **shared(groups[n][1], limit, one_hundred),
            )
            for n in which
        ]

    listing = Listing(len(groups), make, filter_fields(Anchor))
    items, total = paged(corpus, "Anchor", task, AnchorsRequest, listing)
    return PagedResult(task["target"], total, len(items), items), len(items)


@register("referring_networks")
def referring_networks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    request = ReferringNetworksRequest
    subnet = option(task, request, "network_address_type") == "subnet"
    one_hundred = option(task, request, "rank_scale") == "one_hundred"
    limit = option(task, request, "internal_list_limit")

    def by_network(grouping: Grouping) -> dict[Any, Tally]:
        out: dict[str, Tally] = {}
        for x in grouping.order:
            d = grouping.domain(x)
            rec = d.ref.rec
            key = rec.subnet if subnet else rec.ip
            tally = out.get(key)
            if tally is None:
                tally = out[key] = Tally(grouping.links)
            tally.add_domain(d)
        return out

    groups = grouped_by(corpus, task, request, "network", by_network)

    def make(which: Sequence[int]) -> list[ReferringNetwork]:
        out = []
        for n in which:
            fields = shared(groups[n][1], limit, one_hundred)
            del fields["backlinks_spam_score"]
            out.append(
                ReferringNetwork(
                    type="backlinks_referring_network", network_address=groups[n][0], **fields
                )
            )
        return out

    listing = Listing(len(groups), make, filter_fields(ReferringNetwork))
    items, total = paged(corpus, "ReferringNetwork", task, request, listing)
    return PagedResult(task["target"], total, len(items), items), len(items)


# -- domain pages, competitors -------------------------------------------------------------


@register("domain_pages")
def domain_pages(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    one_hundred = option(task, DomainPagesRequest, "rank_scale") == "one_hundred"
    limit = option(task, DomainPagesRequest, "internal_list_limit")
    shaped = {
        k: task[k]
        for k in ("target", "include_subdomains", "backlinks_status_type", "backlinks_filters")
        if k in task
    }
    pages = corpus.pages_of(shaped)

    def make(which: Sequence[int]) -> list[DomainPage]:
        out = []
        for it in pages.make(which):
            url = it.url or ""
            host = url.split("/", 3)[2]
            rnd = random.Random(stable_seed(corpus.config.seed, "meta", url))
            words = rnd.choice(WORDS), rnd.choice(WORDS)
            summary_fields = {f: getattr(it, f) for f in PageSummary.__struct_fields__}
            out.append(
                scale(
                    DomainPage(
                        type="backlinks_domain_page",
                        main_domain=target,
                        domain=host,
                        tld=host.rsplit(".", 1)[-1],
                        page=url,
                        ip=f"{rnd.randint(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.1",
                        first_visited=it.first_seen,
                        prev_visited=it.first_seen,
                        fetch_time=it.first_seen,
                        status_code=200,
                        location=None,
                        size=5000 + rnd.randrange(200_000),
                        encoded_size=2000 + rnd.randrange(60_000),
                        content_encoding="gzip",
                        media_type="text/html",
                        server="nginx",
                        meta=PageMeta(
                            title=f"{words[0].title()} {words[1]}",
                            canonical=url,
                            internal_links_count=rnd.randrange(300),
                            external_links_count=rnd.randrange(40),
                            images_count=rnd.randrange(30),
                            words_count=200 + rnd.randrange(3000),
                            page_spam_score=int(40 * rnd.random() ** 3),
                            language="en",
                            charset="utf-8",
                        ),
                        page_summary=truncate_maps(PageSummary(**summary_fields), limit),
                    ),
                    one_hundred,
                )
            )
        return out

    listing = Listing(len(pages), make, filter_fields(DomainPage))
    items, total = paged(corpus, "DomainPage", task, DomainPagesRequest, listing)
    return PagedResult(target, total, len(items), items), len(items)


@register("competitors")
def competitors(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    one_hundred = option(task, CompetitorsRequest, "rank_scale") == "one_hundred"
    seed = corpus.config.seed

    def shares() -> array[int]:
        domains = corpus.source(target).domains("live")
        rnd = random.Random(stable_seed(seed, "competitors", target))
        out = array("q")
        shared_ = domains
        for _ in range(min(5000, domains // 3 + (3 if domains else 0))):
            shared_ = max(1, int(shared_ * rnd.uniform(0.8, 1.0)))
            out.append(shared_)
        return out

    intersections: array[int] = corpus.cached({"competitors": target}, shares)

    def make(which: Sequence[int]) -> list[Competitor]:
        out = []
        for i in which:
            rnd = random.Random(stable_seed(seed, "competitor", target, i))
            name = f"{rnd.choice(WORDS)}{rnd.choice(WORDS)}-{i}.{rnd.choice(TLDS[:6])}"
            rank = corpus.profile(name).rank
            out.append(
                Competitor(
                    type="backlinks_competitor",
                    target=name,
                    rank=round(rank / 10) if one_hundred else rank,
                    intersections=intersections[i],
                )
            )
        return out

    listing = Listing(len(intersections), make, filter_fields(Competitor))
    items, total = paged(corpus, "Competitor", task, CompetitorsRequest, listing)
    return CountedResult(total_count=total, items_count=len(items), items=items), len(items)
