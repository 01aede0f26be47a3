"""The answers of the series, bulk, intersection and utility endpoints.

Series (today is the real UTC date; a date is `YYYY-MM-DD`, a bad or out-of-range one is
refused with ValidationError on its field, 40501):
- `history`: a snapshot on the first day of each month from `date_from` (default and
  earliest 2019-01-01) to `date_to` (default and latest today); the figures grow from the
  host's first_seen to today's, so the last snapshot is close to `summary`. 1 item charged
  per snapshot.
- `timeseries_summary`, `timeseries_new_lost_summary`: one item per `group_range` (day,
  week, month (default), year) period starting at `date_from` (default a year ago, earliest
  2019-01-30) up to `date_to`; counts on the same growth curve. 1 item per period.

Bulk (one item per target, in the order given, `target` as given; charged a row per target):
a page target counts the links pointing at its page (see `answers_links`); a target that is
server-invalid (`links.is_server_invalid`: a reserved TLD `.invalid`, `.test`, `.example`,
`.localhost`, or listed in `EmulatorConfig.invalid_targets`) refuses the whole task
(ValidationError on `targets`, no cost). `bulk_backlinks` = summary's live backlinks,
`bulk_referring_domains` = summary's referring domain counts, `bulk_ranks` and
`bulk_spam_score` = summary's rank and spam score. `bulk_new_lost_*` count since `date_from`
(default 30 days ago, at least today minus 365 days): the share of the live (lost) backlinks
and domains first seen (lost) since then on the growth curve. `bulk_pages_summary` refuses
more than 100 distinct root domains (`plan.bulk.root_domain`, the rule the client packs by).

Intersections: `targets` {"1": t1, ...} and `exclude_targets`; `domain_intersection` lists
the referring domains linking to every target and to no excluded one (in the first target's
order), each with its links to each target; `page_intersection` the same for referring pages
(`url_from`), each with the first backlink from that page to each target. `filters` and
`order_by` name a target's field as `"<n>.<field>"` (`"1.rank"`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final

import msgspec

from dfs_async.emulator.corpus.answers_links import (
    page,
    shared,
    summary,
    target_rank,
    target_spam_score,
)
from dfs_async.emulator.corpus.core import Corpus, Source, register
from dfs_async.emulator.corpus.draws import stable_seed
from dfs_async.emulator.corpus.figures import domain_counts, option, scale_value
from dfs_async.emulator.corpus.links import Profile, source_url
from dfs_async.emulator.corpus.pages import MAP_VOCABULARY
from dfs_async.emulator.corpus.tally import domain_figures
from dfs_async.endpoints.backlinks import (
    DOMAIN_INTERSECTION_FIELDS,
    HISTORY_FROM,
    PAGE_INTERSECTION_FIELDS,
    SERIES_FROM,
)
from dfs_async.errors import ValidationError
from dfs_async.models import (
    BulkBacklinks,
    BulkNewLostBacklinks,
    BulkNewLostReferringDomains,
    BulkPageSummary,
    BulkRank,
    BulkReferringDomains,
    BulkResult,
    BulkSpamScore,
    CountedResult,
    DomainIntersection,
    DomainIntersectionRequest,
    HistoryRequest,
    HistoryResult,
    HistorySnapshot,
    Index,
    IndexHistory,
    IntersectionBacklink,
    IntersectionDomain,
    IntersectionResult,
    IntersectionSummary,
    PageIntersection,
    PageIntersectionRequest,
    TimeseriesNewLostSummary,
    TimeseriesResult,
    TimeseriesSummary,
    TimeseriesSummaryRequest,
    format_api_datetime,
)
from dfs_async.plan.bulk import root_domain

MAX_ROOT_DOMAINS: Final = 100


def today() -> date:
    return datetime.now(UTC).date()


def parse_date(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad(name, value)
    except (TypeError, ValueError):
        return _bad(name, value)


def _bad(name: str, value: Any) -> date:
    raise ValidationError(name, f"a date yyyy-mm-dd, got {value!r}")


def date_range(task: Mapping[str, Any], earliest: date, default_from: date) -> tuple[date, date]:
    now = today()
    start = parse_date("date_from", task["date_from"]) if "date_from" in task else default_from
    end = parse_date("date_to", task["date_to"]) if "date_to" in task else now
    if start < earliest:
        raise ValidationError("date_from", f"at the earliest {earliest.isoformat()}")
    if end > now:
        raise ValidationError("date_to", "at the latest today")
    if start > end:
        raise ValidationError("date_from", "not after date_to")
    return start, end


def growth(profile: Profile, day: date) -> float:
    """The share of today's figures a host had on `day` (0 before its first_seen). Measured
    against the end of today, not the clock: the same answer all day (reproducible)."""
    ts = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    end = today() + timedelta(days=1)
    now = datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp()
    if ts <= profile.first_seen:
        return 0.0
    share = min(1.0, (ts - profile.first_seen) / max(1.0, now - profile.first_seen))
    return float(share**0.7)


def day_time(day: date) -> str:
    return format_api_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))


def periods(start: date, end: date, group: str) -> list[date]:
    out = []
    d = start
    while d <= end:
        out.append(d)
        if group == "day":
            d += timedelta(days=1)
        elif group == "week":
            d += timedelta(days=7)
        elif group == "month":
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        else:
            d = date(d.year + 1, 1, 1)
    return out


# -- series --------------------------------------------------------------------------------


@register("history")
def history(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    target = task["target"]
    start, end = date_range(task, HISTORY_FROM, HISTORY_FROM)
    one_hundred = option(task, HistoryRequest, "rank_scale") == "one_hundred"
    p = corpus.profile(target)
    domains = corpus.source(target).domains("live")
    items = []
    prev_b = prev_d = 0
    first = date(start.year, start.month, 1)
    for month in periods(first, end, "month"):
        g = growth(p, month)
        b, d = int(p.live * g), int(domains * g)
        churn = int(b * 0.02)
        items.append(
            HistorySnapshot(
                type="backlinks_history",
                date=day_time(month),
                rank=scale_value(int(p.rank * g**0.3), one_hundred),
                backlinks=b,
                new_backlinks=max(0, b - prev_b) + churn,
                lost_backlinks=churn,
                new_referring_domains=max(0, d - prev_d) + d // 50,
                lost_referring_domains=d // 50,
                crawled_pages=int(p.pages * g),
                **domain_counts(p, d),
                referring_pages=int(b * 0.8),
                referring_pages_nofollow=int(b * 0.8 * p.nofollow),
            )
        )
        prev_b, prev_d = b, d
    result = HistoryResult(
        target=target,
        date_from=day_time(start),
        date_to=day_time(end),
        items_count=len(items),
        items=items,
    )
    return result, len(items)


def _series(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Profile, int, list[date], str]:
    start, end = date_range(task, SERIES_FROM, today() - timedelta(days=365))
    group = option(task, TimeseriesSummaryRequest, "group_range")
    source = corpus.source(task["target"], task.get("include_subdomains", True))
    return source.profile, source.domains("live"), periods(start, end, group), group


@register("timeseries_summary")
def timeseries_summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    p, domains, days, group = _series(corpus, task)
    one_hundred = option(task, TimeseriesSummaryRequest, "rank_scale") == "one_hundred"
    items = []
    for day in days:
        g = growth(p, day)
        b, d = int(p.live * g), int(domains * g)
        items.append(
            TimeseriesSummary(
                type="backlinks_timeseries_summary",
                date=day_time(day),
                rank=scale_value(int(p.rank * g**0.3), one_hundred),
                backlinks=b,
                backlinks_nofollow=int(b * p.nofollow),
                referring_pages=int(b * 0.8),
                referring_pages_nofollow=int(b * 0.8 * p.nofollow),
                **domain_counts(p, d),
            )
        )
    return _series_result(task, days, group, items), len(items)


@register("timeseries_new_lost_summary")
def timeseries_new_lost(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    p, domains, days, group = _series(corpus, task)
    items = []
    for i, day in enumerate(days):
        nxt = days[i + 1] if i + 1 < len(days) else today()
        g0, g1 = growth(p, day), growth(p, nxt)
        new_b = int(p.live * max(0.0, g1 - g0)) + int(p.lost * g0 * 0.01)
        new_d = int(domains * max(0.0, g1 - g0)) + int(domains * g0 * 0.005)
        items.append(
            TimeseriesNewLostSummary(
                type="backlinks_timeseries_new_lost_summary",
                date=day_time(day),
                new_backlinks=new_b,
                lost_backlinks=int(p.lost * g0 * 0.01),
                new_referring_domains=new_d,
                lost_referring_domains=int(domains * g0 * 0.005),
                new_referring_main_domains=new_d,
                lost_referring_main_domains=int(domains * g0 * 0.005),
            )
        )
    return _series_result(task, days, group, items), len(items)


def _series_result(
    task: Mapping[str, Any], days: list[date], group: str, items: list[Any]
) -> TimeseriesResult[Any]:
    start, end = date_range(task, SERIES_FROM, today() - timedelta(days=365))
    return TimeseriesResult(
        target=task["target"],
        date_from=day_time(start),
        date_to=day_time(end),
        group_range=group,
        items_count=len(items),
        items=items,
    )


# -- bulk ----------------------------------------------------------------------------------


def checked_targets(corpus: Corpus, task: Mapping[str, Any]) -> list[str]:
    targets: list[str] = list(task["targets"])
    for t in targets:
        if corpus.server_invalid(t):
            raise ValidationError("targets", f"{t!r} is not a valid target for this API")
    return targets


def _bulk(items: list[Any]) -> tuple[Any, int]:
    return BulkResult(items_count=len(items), items=items), len(items)


@register("bulk_ranks")
def bulk_ranks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    one_hundred = task.get("rank_scale") == "one_hundred"
    return _bulk(
        [
            BulkRank(target=t, rank=scale_value(target_rank(corpus, t), one_hundred))
            for t in checked_targets(corpus, task)
        ]
    )


@register("bulk_backlinks")
def bulk_backlinks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    return _bulk(
        [
            BulkBacklinks(target=t, backlinks=corpus.source(t).count("live"))
            for t in checked_targets(corpus, task)
        ]
    )


@register("bulk_spam_score")
def bulk_spam_score(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    return _bulk(
        [
            BulkSpamScore(type="bulk_spam_score", target=t, spam_score=target_spam_score(corpus, t))
            for t in checked_targets(corpus, task)
        ]
    )


@register("bulk_referring_domains")
def bulk_referring_domains(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    items = []
    for t in checked_targets(corpus, task):
        source = corpus.source(t)
        domains, nofollow = source.domains("live"), source.nofollow("live")
        items.append(
            BulkReferringDomains(
                target=t,
                referring_domains=domains,
                referring_domains_nofollow=nofollow,
                referring_main_domains=domains,
                referring_main_domains_nofollow=nofollow,
            )
        )
    return _bulk(items)


def since(task: Mapping[str, Any]) -> tuple[date, date]:
    now = today()
    start = (
        parse_date("date_from", task["date_from"])
        if "date_from" in task
        else now - timedelta(days=30)
    )
    if start < now - timedelta(days=365) or start > now:
        raise ValidationError("date_from", "from today minus one year to today")
    return start, now


def new_lost_share(profile: Profile, start: date) -> tuple[float, float]:
    """The shares of live backlinks new since `start`, and of lost ones lost since it."""
    new = 1.0 - growth(profile, start)
    days = (today() - start).days
    return new, min(1.0, days / 365)


@register("bulk_new_lost_backlinks")
def bulk_new_lost_backlinks(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    start, _ = since(task)
    items = []
    for t in checked_targets(corpus, task):
        source = corpus.source(t)
        new, lost = new_lost_share(source.profile, start)
        items.append(
            BulkNewLostBacklinks(
                target=t,
                new_backlinks=int(source.count("live") * new),
                lost_backlinks=int(source.count("lost") * lost),
            )
        )
    return _bulk(items)


@register("bulk_new_lost_referring_domains")
def bulk_new_lost_referring_domains(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    start, _ = since(task)
    items = []
    for t in checked_targets(corpus, task):
        source = corpus.source(t)
        new, lost = new_lost_share(source.profile, start)
        new_d = int(source.domains("live") * new)
        lost_d = int(source.domains("lost") * lost)
        items.append(
            BulkNewLostReferringDomains(
                target=t,
                new_referring_domains=new_d,
                lost_referring_domains=lost_d,
                new_referring_main_domains=new_d,
                lost_referring_main_domains=lost_d,
            )
        )
    return _bulk(items)


@register("bulk_pages_summary")
def bulk_pages_summary(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    targets = checked_targets(corpus, task)
    roots = {root_domain(t) for t in targets}
    if len(roots) > MAX_ROOT_DOMAINS:
        raise ValidationError(
            "targets", f"at most {MAX_ROOT_DOMAINS} root domains a task, got {len(roots)}"
        )
    one_hundred = task.get("rank_scale") == "one_hundred"
    items = []
    for t in targets:
        sub = {k: task[k] for k in ("include_subdomains", "rank_scale") if k in task}
        s, _ = summary(corpus, {"target": t, **sub})
        fields = {
            f: getattr(s, f)
            for f in BulkPageSummary.__struct_fields__
            if f in s.__struct_fields__ and f != "type"
        }
        fields["url"] = t
        main_rank = corpus.profile(root_domain(t)).rank
        items.append(
            BulkPageSummary(
                type="backlinks_bulk_pages_summary",
                main_domain_rank=scale_value(main_rank, one_hundred),
                **fields,
            )
        )
    return CountedResult(total_count=len(items), items_count=len(items), items=items), len(items)


# -- intersections -------------------------------------------------------------------------


def _numbered(task: Mapping[str, Any]) -> list[tuple[str, str]]:
    return sorted(task["targets"].items(), key=lambda kv: (len(kv[0]), kv[0]))


def _view(parts: Mapping[str, Any]) -> Any:
    """An item as `filters` and `order_by` see it: `"<n>.<field>"` reads target n's part."""
    view = SimpleNamespace()
    for n, part in parts.items():
        setattr(view, n, msgspec.structs.asdict(part) if part is not None else {})
    return view


def _intersection(
    corpus: Corpus,
    kind: str,
    task: Mapping[str, Any],
    request: type[Any],
    fields: Mapping[str, str],
    count: int,
    parts: Any,
    item: Any,
) -> tuple[Any, int]:
    """The asked page of an intersection of `count` entries: `parts(n)` is entry n's part
    per target number, `item(parts)` the item; `filters` and `order_by` read the parts
    (`fields`: what they name)."""

    def views(which: Sequence[int]) -> list[Any]:
        return [_view(parts(n)) for n in which]

    order = corpus.ordered(kind, task, count, views, fields)
    items = [item(parts(n)) for n in page(order, task, request)]
    result = IntersectionResult(
        targets=dict(task["targets"]), total_count=len(order), items_count=len(items), items=items
    )
    return result, len(items)


def _sources(corpus: Corpus, task: Mapping[str, Any], request: type[Any]) -> list[Source]:
    subs = option(task, request, "include_subdomains")
    return [corpus.source(t, subs) for _, t in _numbered(task)]


@register("domain_intersection")
def domain_intersection(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    request = DomainIntersectionRequest
    status = option(task, request, "backlinks_status_type")
    one_hundred = option(task, request, "rank_scale") == "one_hundred"
    limit = option(task, request, "internal_list_limit")
    numbered = [n for n, _ in _numbered(task)]
    sources = _sources(corpus, task, request)
    groupings = [corpus.grouping(s, status) for s in sources]

    def common() -> list[list[int]]:
        """Per referring domain linking to every target (and no excluded one): its pool
        index in each target's list, in the first target's order."""
        pools = [{g.links.profile.global_id(x): x for x in g.order} for g in groupings[1:]]
        excluded: set[int] = set()
        for t in task.get("exclude_targets", ()):
            g = corpus.grouping(
                corpus.source(t, option(task, request, "include_subdomains")), status
            )
            excluded.update(g.links.profile.global_id(x) for x in g.order)
        first = groupings[0]
        out = []
        for x in first.order:
            gid = first.links.profile.global_id(x)
            if gid in excluded or not all(gid in pool for pool in pools):
                continue
            out.append([x, *(pool[gid] for pool in pools)])
        return out

    shape = {
        k: v
        for k, v in task.items()
        if k in ("targets", "exclude_targets", "include_subdomains", "backlinks_status_type")
    }
    entries: list[list[int]] = corpus.cached({"domain_intersection": 1, **shape}, common)

    def parts(n: int) -> dict[str, IntersectionDomain | None]:
        out: dict[str, IntersectionDomain | None] = {}
        for number, g, x in zip(numbered, groupings, entries[n], strict=True):
            d = g.domain(x)
            fields = shared(domain_figures(g.links, d), limit, one_hundred, copy=False)
            out[number] = IntersectionDomain(
                type="backlinks_domain_intersection", target=d.ref.rec.name, **fields
            )
        return out

    def item(p: dict[str, IntersectionDomain | None]) -> DomainIntersection:
        return DomainIntersection(
            domain_intersection=p, summary=IntersectionSummary(intersections_count=len(p))
        )

    fields = DOMAIN_INTERSECTION_FIELDS
    return _intersection(
        corpus, "DomainIntersection", task, request, fields, len(entries), parts, item
    )


_BACKLINK_FIELDS: Final = IntersectionBacklink.__struct_fields__


@register("page_intersection")
def page_intersection(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    request = PageIntersectionRequest
    status = option(task, request, "backlinks_status_type")
    sources = _sources(corpus, task, request)
    numbered = [n for n, _ in _numbered(task)]

    def pages_of(source: Source) -> dict[str, int]:
        """The first position (`code`) of a link from each referring page, by url_from."""
        links = source.links
        refs: dict[int, Any] = {}
        found: dict[str, int] = {}
        for lost, k in source.positions(status):
            x, m = links.locate(lost, k)
            ref = refs.get(x)
            if ref is None:
                ref = refs[x] = links.ref(x)
            url = source_url(ref.rec, links.page_index(ref, lost, m))
            if url not in found:
                found[url] = k << 1 | lost
        return found

    def common() -> list[list[int]]:
        """Per referring page linking to every target (and no excluded one): the first
        link from it in each target's list, in the first target's order."""
        per = [pages_of(s) for s in sources]
        excluded: set[str] = set()
        for t in task.get("exclude_targets", ()):
            excluded.update(pages_of(corpus.source(t, option(task, request, "include_subdomains"))))
        return [
            [first, *(p[url] for p in per[1:])]
            for url, first in per[0].items()
            if url not in excluded and all(url in p for p in per[1:])
        ]

    shape = {
        k: v
        for k, v in task.items()
        if k in ("targets", "exclude_targets", "include_subdomains", "backlinks_status_type")
    }
    entries: list[list[int]] = corpus.cached({"page_intersection": 1, **shape}, common)

    def parts(n: int) -> dict[str, IntersectionBacklink]:
        out = {}
        for number, source, c in zip(numbered, sources, entries[n], strict=True):
            (b,) = corpus.backlinks_at(source, [c])
            out[number] = IntersectionBacklink(**{f: getattr(b, f) for f in _BACKLINK_FIELDS})
        return out

    def item(p: dict[str, IntersectionBacklink]) -> PageIntersection:
        return PageIntersection(
            page_intersection={n: [b] for n, b in p.items()},
            summary=IntersectionSummary(intersections_count=len(p)),
        )

    fields = PAGE_INTERSECTION_FIELDS
    return _intersection(
        corpus, "PageIntersection", task, request, fields, len(entries), parts, item
    )


# -- the utilities that take no task ---------------------------------------------------


@register("available_filters")
def available_filters(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    """Per endpoint with `filters`, its filterable fields (from its spec), map keys spelled
    out as the API does (`referring_links_types.anchor`)."""
    from dfs_async.endpoints import ENDPOINTS

    result = {e.name: _filterable(e.filter_fields) for e in ENDPOINTS if "filters" in e.fields}
    return result, 0


def _filterable(kinds: Mapping[str, str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, kind in kinds.items():
        if kind == "map":
            for key in MAP_VOCABULARY.get(name, ()):
                fields[f"{name}.{key}"] = "num"
        else:
            fields[name] = kind
    return fields


@register("index")
def index(corpus: Corpus, task: Mapping[str, Any]) -> tuple[Any, int]:
    """The size of the index: a reproducible figure growing month by month to today."""
    rnd = random.Random(stable_seed(corpus.config.seed, "index"))
    backlinks, pages = rnd.randint(2_000, 3_000) * 10**9, rnd.randint(400, 500) * 10**9
    first = datetime.now(UTC).date().replace(day=1)
    history = []
    for months_ago in range(12):
        year, month = divmod(first.year * 12 + first.month - 1 - months_ago, 12)
        shrink = 1 - 0.01 * months_ago
        history.append(
            IndexHistory(
                date=f"{year:04d}-{month + 1:02d}-01 00:00:00 +00:00",
                total_backlinks=int(backlinks * shrink),
                total_pages=int(pages * shrink),
            )
        )
    return Index(total_backlinks=backlinks, total_pages=pages, index_history=history), 0
