"""The specs of the Backlinks API's endpoints: each one a declaration (see `spec`).

Adding an endpoint: its request and item Structs in `models`, its spec here (and in
`ENDPOINTS`), its answer in the emulator's corpus. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

import msgspec

from dfs_async.endpoints.checks import (
    Numbered,
    Rule,
    TaskRule,
    a_year_ago,
    bulk_target,
    day,
    domain,
    each_target,
    filters,
    id_list_reach,
    in_order,
    moment,
    no_unit,
    one_domain,
    order_by,
    target,
    target_set,
)
from dfs_async.endpoints.spec import Endpoint, FilterFields, Price
from dfs_async.models import (
    Anchor,
    AnchorsRequest,
    AvailableFilters,
    Backlink,
    BacklinksRequest,
    BacklinksResult,
    BulkBacklinks,
    BulkBacklinksRequest,
    BulkNewLostBacklinks,
    BulkNewLostBacklinksRequest,
    BulkNewLostReferringDomains,
    BulkNewLostReferringDomainsRequest,
    BulkPagesSummaryRequest,
    BulkPageSummary,
    BulkRank,
    BulkRanksRequest,
    BulkReferringDomains,
    BulkReferringDomainsRequest,
    BulkSpamScore,
    BulkSpamScoreRequest,
    Competitor,
    CompetitorsRequest,
    CountedResult,
    DomainIntersection,
    DomainIntersectionRequest,
    DomainPage,
    DomainPagesRequest,
    DomainPagesSummaryRequest,
    DomainPageSummary,
    ErroredTask,
    ErrorsRequest,
    HistoryRequest,
    HistoryResult,
    HistorySnapshot,
    IdListRequest,
    Index,
    IntersectionBacklink,
    IntersectionDomain,
    IntersectionResult,
    ListedTask,
    NoFields,
    PageIntersection,
    PageIntersectionRequest,
    ReferringDomain,
    ReferringDomainsRequest,
    ReferringNetwork,
    ReferringNetworksRequest,
    Summary,
    SummaryRequest,
    TimeseriesNewLostSummary,
    TimeseriesNewLostSummaryRequest,
    TimeseriesResult,
    TimeseriesSummary,
    TimeseriesSummaryRequest,
)
from dfs_async.plan import Bulk, Listing, Offset, OffsetThenCursor, Series, Single
from dfs_async.targets import normalize_targets

BACKLINK_FILTER_FIELDS: Final = FilterFields(Backlink)
"""The fields of a backlink, which `backlinks_filters` (and `backlinks`' filters) name."""

HISTORY_FROM: Final = date(2019, 1, 1)  # the earliest `date_from` of history
SERIES_FROM: Final = date(2019, 1, 30)  # ... and of the timeseries endpoints
INTERSECTION_TARGETS: Final = 20  # the most targets an intersection takes


def _live(name: str) -> str:
    return f"/v3/backlinks/{name}/live"


def _sorting(fields: Mapping[str, str]) -> dict[str, Rule]:
    """`filters` and `order_by` on these fields."""
    return {"filters": filters(fields), "order_by": order_by(fields)}


def _sorted_by(item: type[msgspec.Struct]) -> dict[str, Rule]:
    """`filters` and `order_by` on the item's own fields."""
    return _sorting(FilterFields(item))


DOMAIN_INTERSECTION_FIELDS: Final = Numbered(FilterFields(IntersectionDomain), INTERSECTION_TARGETS)
PAGE_INTERSECTION_FIELDS: Final = Numbered(FilterFields(IntersectionBacklink), INTERSECTION_TARGETS)
"""What the intersections' `filters` and `order_by` name: a field of a target's part, by the
target's number (`"1.rank"`), as the API's documentation writes them."""


_AGGREGATE: Final[dict[str, Rule]] = {
    "target": target,
    "backlinks_filters": filters(BACKLINK_FILTER_FIELDS),
}

# -- paged ------------------------------------------------------------------------------

DOMAIN_PAGES_SUMMARY: Final = Endpoint(
    name="domain_pages_summary",
    path=_live("domain_pages_summary"),
    request=DomainPagesSummaryRequest,
    item=DomainPageSummary,
    paging=Offset(),
    checks={**_AGGREGATE, **_sorted_by(DomainPageSummary)},
)
ANCHORS: Final = Endpoint(
    name="anchors",
    path=_live("anchors"),
    request=AnchorsRequest,
    item=Anchor,
    paging=Offset(),
    checks={**_AGGREGATE, **_sorted_by(Anchor)},
)
DOMAIN_PAGES: Final = Endpoint(
    name="domain_pages",
    path=_live("domain_pages"),
    request=DomainPagesRequest,
    item=DomainPage,
    paging=Offset(),
    unit=one_domain,
    checks={**_AGGREGATE, "target": domain, **_sorted_by(DomainPage)},
)
REFERRING_DOMAINS: Final = Endpoint(
    name="referring_domains",
    path=_live("referring_domains"),
    request=ReferringDomainsRequest,
    item=ReferringDomain,
    paging=Offset(),
    checks={**_AGGREGATE, **_sorted_by(ReferringDomain)},
)
REFERRING_NETWORKS: Final = Endpoint(
    name="referring_networks",
    path=_live("referring_networks"),
    request=ReferringNetworksRequest,
    item=ReferringNetwork,
    paging=Offset(),
    checks={**_AGGREGATE, **_sorted_by(ReferringNetwork)},
)
COMPETITORS: Final = Endpoint(
    name="competitors",
    path=_live("competitors"),
    request=CompetitorsRequest,
    item=Competitor,
    paging=Offset(),
    result=CountedResult[Competitor],
    checks={"target": target, **_sorted_by(Competitor)},
)
DOMAIN_INTERSECTION: Final = Endpoint(
    name="domain_intersection",
    path=_live("domain_intersection"),
    request=DomainIntersectionRequest,
    item=DomainIntersection,
    paging=Offset(),
    result=IntersectionResult[DomainIntersection],
    unit=target_set,
    checks={
        "targets": each_target,
        "exclude_targets": each_target,
        "backlinks_filters": filters(BACKLINK_FILTER_FIELDS),
        **_sorting(DOMAIN_INTERSECTION_FIELDS),
    },
)
PAGE_INTERSECTION: Final = Endpoint(
    name="page_intersection",
    path=_live("page_intersection"),
    request=PageIntersectionRequest,
    item=PageIntersection,
    paging=Offset(),
    result=IntersectionResult[PageIntersection],
    unit=target_set,
    checks={
        "targets": each_target,
        "exclude_targets": each_target,
        **_sorting(PAGE_INTERSECTION_FIELDS),
    },
)

BACKLINKS: Final = Endpoint(
    name="backlinks",
    path=_live("backlinks"),
    request=BacklinksRequest,
    item=Backlink,
    paging=OffsetThenCursor(max_offset=20_000),  # the API refuses an offset above 20,000
    result=BacklinksResult,
    checks={"target": target, **_sorted_by(Backlink)},
)

# -- unpaged: the result, or its series, is the record -----------------------------------

SUMMARY: Final = Endpoint(
    name="summary",
    path=_live("summary"),
    request=SummaryRequest,
    item=Summary,
    paging=Single(),
    checks=_AGGREGATE,
)
HISTORY: Final = Endpoint(
    name="history",
    path=_live("history"),
    request=HistoryRequest,
    item=HistorySnapshot,
    paging=Series(),
    result=HistoryResult,
    unit=one_domain,
    checks={"target": domain, "date_from": day(HISTORY_FROM), "date_to": day(HISTORY_FROM)},
    task_checks=(in_order("date_from", "date_to"),),
)
TIMESERIES_SUMMARY: Final = Endpoint(
    name="timeseries_summary",
    path=_live("timeseries_summary"),
    request=TimeseriesSummaryRequest,
    item=TimeseriesSummary,
    paging=Series(),
    result=TimeseriesResult[TimeseriesSummary],
    unit=one_domain,
    checks={"target": domain, "date_from": day(SERIES_FROM), "date_to": day(SERIES_FROM)},
    task_checks=(in_order("date_from", "date_to"),),
)
TIMESERIES_NEW_LOST_SUMMARY: Final = Endpoint(
    name="timeseries_new_lost_summary",
    path=_live("timeseries_new_lost_summary"),
    request=TimeseriesNewLostSummaryRequest,
    item=TimeseriesNewLostSummary,
    paging=Series(),
    result=TimeseriesResult[TimeseriesNewLostSummary],
    unit=one_domain,
    checks={"target": domain, "date_from": day(SERIES_FROM), "date_to": day(SERIES_FROM)},
    task_checks=(in_order("date_from", "date_to"),),
)

# -- bulk: up to 1,000 targets a task, one record per target ----------------------------


_PACKED: Final = Bulk()  # 1,000 targets a task


def _bulk(
    name: str,
    request: type[msgspec.Struct],
    item: type[msgspec.Struct],
    paging: Bulk = _PACKED,
    **checks: Rule,
) -> Endpoint:
    return Endpoint(
        name=name,
        path=_live(name),
        request=request,
        item=item,
        paging=paging,
        unit=bulk_target,
        keys=normalize_targets,  # bulk_target's keys
        checks={"targets": each_target, **checks},
    )


BULK_RANKS: Final = _bulk("bulk_ranks", BulkRanksRequest, BulkRank)
BULK_BACKLINKS: Final = _bulk("bulk_backlinks", BulkBacklinksRequest, BulkBacklinks)
BULK_SPAM_SCORE: Final = _bulk("bulk_spam_score", BulkSpamScoreRequest, BulkSpamScore)
BULK_REFERRING_DOMAINS: Final = _bulk(
    "bulk_referring_domains", BulkReferringDomainsRequest, BulkReferringDomains
)
BULK_NEW_LOST_BACKLINKS: Final = _bulk(
    "bulk_new_lost_backlinks",
    BulkNewLostBacklinksRequest,
    BulkNewLostBacklinks,
    date_from=day(a_year_ago),
)
BULK_NEW_LOST_REFERRING_DOMAINS: Final = _bulk(
    "bulk_new_lost_referring_domains",
    BulkNewLostReferringDomainsRequest,
    BulkNewLostReferringDomains,
    date_from=day(a_year_ago),
)
BULK_PAGES_SUMMARY: Final = _bulk(
    "bulk_pages_summary",
    BulkPagesSummaryRequest,
    BulkPageSummary,
    Bulk(max_roots=100, key_field="url"),  # the API's cap on root domains a task
)


# -- utility: no unit of work, the results are the answer --------------------------------


def _utility(
    name: str,
    item: type[msgspec.Struct],
    request: type[msgspec.Struct] = NoFields,
    *task_checks: TaskRule,
) -> Endpoint:
    """A free endpoint that takes no target: GET when it takes no task either. Its times are
    checked as the API writes them, and in order."""
    times = {"datetime_from": moment, "datetime_to": moment}
    return Endpoint(
        name=name,
        path=f"/v3/backlinks/{name}",
        method="GET" if request is NoFields else "POST",
        request=request,
        item=item,
        paging=Listing(),
        unit=no_unit,
        price=Price(per_request=0.0, per_item=0.0),
        checks={k: v for k, v in times.items() if k in request.__struct_fields__},
        task_checks=(in_order("datetime_from", "datetime_to"), *task_checks)
        if "datetime_from" in request.__struct_fields__
        else (),
    )


AVAILABLE_FILTERS: Final = _utility("available_filters", AvailableFilters)
INDEX: Final = _utility("index", Index)
ERRORS: Final = _utility("errors", ErroredTask, ErrorsRequest)
ID_LIST: Final = _utility("id_list", ListedTask, IdListRequest, id_list_reach)
