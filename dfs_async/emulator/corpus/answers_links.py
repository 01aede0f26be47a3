"""The answers of the single-target endpoints: what each serves from the corpus.

- `domain_pages_summary`: the host's pages (see `pages`), as before.
- `summary`: one `Summary` per target from its link profile: `backlinks` = the backlinks of
  the asked status (live by default) = `backlinks` total_count in as_is mode;
  `referring_domains` = their distinct referring domains = `referring_domains` total_count;
  `rank`, `backlinks_spam_score` from `figures`. With `backlinks_filters`, the counts are of
  the backlinks the filter keeps. Charged 1 item.
- `backlinks`: the source's backlinks in list order (live, then lost for `all`).
  `mode` as_is (every backlink), one_per_domain / one_per_anchor (the first backlink of each
  domain_from / anchor); `custom_mode` {field, value} (overrides `mode`): the first `value`
  backlinks of each distinct value of `field`. Filters apply before the mode, `order_by`
  after it. Paged by `offset` (<= 20,000, the request's own bound) or by
  `search_after_token` (see `figures`): a result carries the token of the next page while
  items remain. An as_is request without filters or order is made page by page (any size);
  the others make the whole list once (cached).
- `anchors`, `referring_domains`, `referring_networks` (`network_address_type` ip / subnet):
  the source's backlinks grouped by anchor / referring domain / ip or subnet, in order of
  first appearance; `backlinks` of an item = its backlinks, exact. Then `filters`,
  `order_by`, offset/limit.
- `domain_pages`: the host's pages (the pages of `domain_pages_summary`) with a made-up meta.
- `competitors`: a reproducible list of domains sharing referring domains with the target
  (`intersections` at most its referring domains, most first).
- `include_indirect_links` and `exclude_internal_backlinks` are accepted and change nothing:
  the corpus has neither indirect nor internal links.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dfs_async.emulator.corpus.core import (
    DEFAULT_INTERNAL_LIST_LIMIT,
    Corpus,
    Source,
    register,
)
from dfs_async.emulator.corpus.figures import (
    domain_counts,
    fingerprint,
    make_token,
    option,
    read_token,
    scale,
    target_rank,
    target_spam_score,
)
from dfs_async.emulator.corpus.links import anchor_index, anchors_of_cached, page_of
from dfs_async.emulator.corpus.pages import (
    ATTRIBUTES,
    COUNTRIES,
    LINK_TYPES,
    PLATFORM_TYPES,
    SEMANTIC_LOCATIONS,
    TLDS,
    WORDS,
    _split,
    api_time,
    stable_seed,
    truncate_maps,
)
from dfs_async.emulator.query import compile_filter, sort_items
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

MODE_FIELDS = {"one_per_domain": "domain_from", "one_per_anchor": "anchor"}


def page(items: list[Any], task: Mapping[str, Any], request: type[Any]) -> list[Any]:
    offset = option(task, request, "offset")
    limit = option(task, request, "limit")
    return items[offset : offset + limit]


def filtered(
    items: list[Any], task: Mapping[str, Any], item: type[Any], one_hundred: bool = False
) -> list[Any]:
    """`rank_scale`, then `filters`, then `order_by` over derived items."""
    items = [scale(it, one_hundred) for it in items]
    if task.get("filters") is not None:
        keep = compile_filter(task["filters"], filter_fields(item))
        items = [it for it in items if keep(it)]
    if task.get("order_by"):
        items = sort_items(items, task["order_by"])
    return items


def kept_backlinks(
    corpus: Corpus, source: Source, status: str, expr: Any
) -> list[tuple[bool, int, Backlink]]:
    """(lost, position, backlink) of a source's backlinks that `backlinks_filters` keeps."""
    keep = compile_filter(expr, BACKLINK_FILTER_FIELDS, "backlinks_filters")
    items = corpus.backlinks_of(source, status)
    return [
        (lost, k, it)
        for (lost, k), it in zip(source.positions(status), items, strict=True)
        if keep(it)
    ]


# -- domain_pages_summary ------------------------------------------------------------------


@register("domain_pages_summary")
def pages_summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    selected = corpus.select(task)
    list_limit = option(task, DomainPagesSummaryRequest, "internal_list_limit")
    items = page(selected, task, DomainPagesSummaryRequest)
    items = [truncate_maps(item, list_limit) for item in items]
    return PagedResult(task["target"], len(selected), len(items), items), len(items)


# -- summary -------------------------------------------------------------------------------


def link_maps(seed_parts: tuple[Any, ...], backlinks: int, domains: int) -> dict[str, Any]:
    rnd = random.Random(stable_seed(*seed_parts))
    return {
        "referring_links_tld": _split(rnd, backlinks, TLDS, 14),
        "referring_links_types": _split(rnd, backlinks, LINK_TYPES, 4),
        "referring_links_attributes": _split(rnd, backlinks // 3, ATTRIBUTES, 3),
        "referring_links_platform_types": _split(rnd, domains, PLATFORM_TYPES, 4),
        "referring_links_semantic_locations": _split(rnd, backlinks, SEMANTIC_LOCATIONS, 4),
        "referring_links_countries": _split(rnd, domains, COUNTRIES, 16),
    }


def cut(maps: dict[str, Any], limit: int) -> dict[str, Any]:
    return {k: dict(list(v.items())[:limit]) for k, v in maps.items()}


@register("summary")
def summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    status = option(task, SummaryRequest, "backlinks_status_type")
    source = corpus.source(target, option(task, SummaryRequest, "include_subdomains"))
    one_hundred = option(task, SummaryRequest, "rank_scale") == "one_hundred"
    if "backlinks_filters" in task:
        kept = corpus.cached(
            "kept",
            {**task, "status": status},
            lambda: kept_backlinks(corpus, source, status, task["backlinks_filters"]),
        )
        backlinks = len(kept)
        domains = len({it.domain_from for _, _, it in kept})
    else:
        backlinks = source.count(status)
        domains = source.domains(status)
    p = source.profile
    spam = target_spam_score(p, target)
    rank = target_rank(p, target)
    maps = link_maps((corpus.config.seed, "summary", target, status), backlinks, domains)
    limit = option(task, SummaryRequest, "internal_list_limit")
    rnd = random.Random(stable_seed(corpus.config.seed, "info", target))
    result = Summary(
        target=target,
        first_seen=api_time(p.first_seen),
        lost_date=None,
        rank=round(rank / 10) if one_hundred else rank,
        backlinks=backlinks,
        backlinks_spam_score=spam,
        crawled_pages=p.pages if "://" not in target else 1,
        info=TargetInfo(
            server=rnd.choice(("nginx", "apache", "cloudflare", "LiteSpeed")),
            cms=rnd.choice(("WordPress", "Drupal", None, None)),
            platform_type=[rnd.choice(PLATFORM_TYPES)],
            ip_address=f"{rnd.randint(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.1",
            country=rnd.choice(COUNTRIES),
            is_ip=False,
            target_spam_score=spam,
        ),
        internal_links_count=p.pages * 12,
        external_links_count=p.pages * 3,
        broken_backlinks=backlinks // 100,
        broken_pages=p.pages // 200,
        **domain_counts(p, domains),
        referring_pages=int(backlinks * 0.8),
        referring_pages_nofollow=int(backlinks * 0.8 * p.nofollow),
        **cut(maps, limit),
    )
    return result, 1


# -- backlinks -----------------------------------------------------------------------------


def select_backlinks(corpus: Corpus, source: Source, task: Mapping[str, Any]) -> list[Backlink]:
    status = option(task, BacklinksRequest, "backlinks_status_type")
    one_hundred = option(task, BacklinksRequest, "rank_scale") == "one_hundred"
    items = [scale(it, one_hundred) for it in corpus.backlinks_of(source, status)]
    if task.get("filters") is not None:
        keep = compile_filter(task["filters"], BACKLINK_FILTER_FIELDS)
        items = [it for it in items if keep(it)]
    custom = task.get("custom_mode")
    mode = option(task, BacklinksRequest, "mode")
    if custom is not None:
        items = at_most(items, custom["field"], custom["value"])
    elif mode in MODE_FIELDS:
        items = at_most(items, MODE_FIELDS[mode], 1)
    if task.get("order_by"):
        items = sort_items(items, task["order_by"])
    return items


def at_most(items: Iterable[Backlink], name: str, most: int) -> list[Backlink]:
    seen: dict[Any, int] = {}
    out = []
    for it in items:
        value = getattr(it, name)
        n = seen.get(value, 0)
        if n < most:
            seen[value] = n + 1
            out.append(it)
    return out


@register("backlinks")
def backlinks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    seed = corpus.config.seed
    target = task["target"]
    status = option(task, BacklinksRequest, "backlinks_status_type")
    mode = option(task, BacklinksRequest, "mode")
    limit = option(task, BacklinksRequest, "limit")
    start = option(task, BacklinksRequest, "offset")
    print_ = fingerprint(seed, task)
    if "search_after_token" in task:
        start = read_token(seed, task["search_after_token"], print_, corpus.token_epoch)
    source = corpus.source(target, option(task, BacklinksRequest, "include_subdomains"))
    custom = task.get("custom_mode")
    simple = mode == "as_is" and not custom and "filters" not in task and "order_by" not in task
    if simple:
        total = source.count(status)
        one_hundred = option(task, BacklinksRequest, "rank_scale") == "one_hundred"
        items = corpus.backlink_slice(source, status, start, min(start + limit, total))
        items = [scale(it, one_hundred) for it in items]
    else:
        selected: list[Backlink] = corpus.cached(
            "backlinks", task, lambda: select_backlinks(corpus, source, task)
        )
        total = len(selected)
        items = selected[start : start + limit]
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


# -- grouped: anchors, referring domains, referring networks -------------------------------


class Group:
    """What a group of backlinks (one anchor, domain or network) adds up to."""

    __slots__ = ("domains", "first", "gids", "live", "lost", "pages", "ranks")

    def __init__(self) -> None:
        self.live = 0
        self.lost = 0
        self.gids: set[int] = set()
        self.pages: set[tuple[int, int]] = set()
        self.first: float | None = None
        self.ranks = 0
        self.domains = 0


def facts(
    corpus: Corpus, source: Source, task: Mapping[str, Any], status: str
) -> list[tuple[bool, int]]:
    """The positions of a source's backlinks of a status, kept by `backlinks_filters`."""
    if "backlinks_filters" not in task:
        return list(source.positions(status))
    kept = corpus.cached(
        "kept",
        {"target": task["target"], "status": status, "f": task["backlinks_filters"],
         "sub": task.get("include_subdomains", True)},
        lambda: kept_backlinks(corpus, source, status, task["backlinks_filters"]),
    )  # fmt: skip
    return [(lost, k) for lost, k, _ in kept]


def grouped(
    corpus: Corpus, source: Source, positions: list[tuple[bool, int]], key: Callable[..., Any]
) -> dict[Any, Group]:
    p = source.profile
    groups: dict[Any, Group] = {}
    for lost, k in positions:
        gid = p.global_id(p.domain_index(lost, k))
        rec = corpus.records.get(gid)
        name = key(lost, k, rec)
        g = groups.get(name)
        if g is None:
            g = groups[name] = Group()
        if lost:
            g.lost += 1
        else:
            g.live += 1
        g.gids.add(gid)
        g.pages.add((gid, page_of(p, lost, k, rec)))
        g.ranks = max(g.ranks, rec.rank)
        if g.first is None or rec.first_seen < g.first:
            g.first = rec.first_seen
    return groups


def group_fields(p: Any, g: Group, seed_parts: tuple[Any, ...], limit: int) -> dict[str, Any]:
    backlinks = g.live + g.lost
    domains = len(g.gids)
    maps = link_maps(seed_parts, backlinks, domains)
    return {
        "rank": g.ranks,
        "backlinks": backlinks,
        "first_seen": api_time(max(g.first or p.first_seen, p.first_seen)),
        "lost_date": api_time(1_751_241_600 - 86_400 * 30) if not g.live else None,
        "broken_backlinks": 0,
        "broken_pages": 0,
        **domain_counts(p, domains),
        "referring_pages": len(g.pages),
        "referring_pages_nofollow": int(len(g.pages) * p.nofollow),
        **cut(maps, limit),
    }


def _grouped_answer(
    corpus: Corpus,
    task: Mapping[str, Any],
    request: type[Any],
    item: type[Any],
    key: Callable[..., Any],
    build: Callable[[Any, Group, dict[str, Any]], Any],
) -> tuple[Any, int]:
    target = task["target"]
    status = option(task, request, "backlinks_status_type")
    one_hundred = option(task, request, "rank_scale") == "one_hundred"
    limit = option(task, request, "internal_list_limit")

    def derive() -> list[Any]:
        source = corpus.source(target, option(task, request, "include_subdomains"))
        groups = grouped(corpus, source, facts(corpus, source, task, status), key)
        seed = corpus.config.seed
        items = [
            build(name, g, group_fields(source.profile, g, (seed, target, name), limit))
            for name, g in groups.items()
        ]
        return filtered(items, task, item, one_hundred)

    selected: list[Any] = corpus.cached(item.__name__, task, derive)
    items = page(selected, task, request)
    return PagedResult(target, len(selected), len(items), items), len(items)


@register("referring_domains")
def referring_domains(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    def build(name: Any, g: Group, fields: dict[str, Any]) -> ReferringDomain:
        rec = name
        fields.update(
            referring_domains=1,
            referring_domains_nofollow=0,
            referring_main_domains=1,
            referring_main_domains_nofollow=0,
            referring_ips=1,
            referring_subnets=1,
            backlinks_spam_score=rec.spam_score,
        )
        return ReferringDomain(type="backlinks_referring_domain", domain=rec.name, **fields)

    return _grouped_answer(
        corpus, task, ReferringDomainsRequest, ReferringDomain, lambda lost, k, rec: rec, build
    )


@register("anchors")
def anchors(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    profile = corpus.profile(corpus.source(task["target"]).host)
    texts = anchors_of_cached(profile, corpus.records)

    def key(lost: bool, k: int, rec: Any) -> str:
        return texts[anchor_index(profile, lost, k, len(texts))]

    def build(name: Any, g: Group, fields: dict[str, Any]) -> Anchor:
        return Anchor(type="backlinks_anchor", anchor=name, backlinks_spam_score=0, **fields)

    return _grouped_answer(corpus, task, AnchorsRequest, Anchor, key, build)


@register("referring_networks")
def referring_networks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    subnet = option(task, ReferringNetworksRequest, "network_address_type") == "subnet"

    def key(lost: bool, k: int, rec: Any) -> str:
        return str(rec.subnet if subnet else rec.ip)

    def build(name: Any, g: Group, fields: dict[str, Any]) -> ReferringNetwork:
        fields["referring_ips"] = 1 if not subnet else fields["referring_ips"]
        return ReferringNetwork(type="backlinks_referring_network", network_address=name, **fields)

    return _grouped_answer(corpus, task, ReferringNetworksRequest, ReferringNetwork, key, build)


# -- domain pages, competitors -------------------------------------------------------------


@register("domain_pages")
def domain_pages(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    one_hundred = option(task, DomainPagesRequest, "rank_scale") == "one_hundred"
    limit = option(task, DomainPagesRequest, "internal_list_limit")

    def derive() -> list[DomainPage]:
        shaped = {
            k: task[k]
            for k in ("include_subdomains", "backlinks_status_type", "backlinks_filters")
            if k in task
        }
        out = []
        for it in corpus.select({"target": target, **shaped}):
            url = it.url or ""
            host = url.split("/", 3)[2]
            rnd = random.Random(stable_seed(corpus.config.seed, "meta", url))
            words = rnd.choice(WORDS), rnd.choice(WORDS)
            summary_fields = {
                f: getattr(it, f) for f in PageSummary.__struct_fields__ if hasattr(it, f)
            }
            out.append(
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
                    page_summary=truncate_maps(PageSummary(**summary_fields), limit),  # type: ignore[arg-type]
                )
            )
        return filtered(out, task, DomainPage, one_hundred)

    selected: list[DomainPage] = corpus.cached("DomainPage", task, derive)
    items = page(selected, task, DomainPagesRequest)
    return PagedResult(target, len(selected), len(items), items), len(items)


@register("competitors")
def competitors(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    one_hundred = option(task, CompetitorsRequest, "rank_scale") == "one_hundred"

    def derive() -> list[Competitor]:
        source = corpus.source(target)
        domains = source.domains("live")
        rnd = random.Random(stable_seed(corpus.config.seed, "competitors", target))
        count = min(5000, domains // 3 + (3 if domains else 0))
        out = []
        shared = domains
        for i in range(count):
            shared = max(1, int(shared * rnd.uniform(0.8, 1.0)))
            name = f"{rnd.choice(WORDS)}{rnd.choice(WORDS)}-{i}.{rnd.choice(TLDS[:6])}"
            out.append(
                Competitor(
                    type="backlinks_competitor",
                    target=name,
                    rank=corpus.profile(name).rank,
                    intersections=shared,
                )
            )
        return filtered(out, task, Competitor, one_hundred)

    selected: list[Competitor] = corpus.cached("Competitor", task, derive)
    items = page(selected, task, CompetitorsRequest)
    return CountedResult(total_count=len(selected), items_count=len(items), items=items), len(items)


__all__ = ["DEFAULT_INTERNAL_LIST_LIMIT"]
