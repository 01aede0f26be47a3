"""Request types: the one statement of each endpoint's fields, names, types and bounds.

A request Struct is read (through `models.fields`) by the checks made before sending, the
command line's options and the emulator. `Meta.description` is an option's help,
`Meta.extra["default"]` the API's default when the field is left out. Every field but the
unit of work (`target`) is optional: left out (None), the API's default applies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Limit = Annotated[int, Meta(ge=1, le=1000, description="items per request", extra={"default": 100})]
Offset = Annotated[int, Meta(ge=0, description="items to skip", extra={"default": 0})]
Filters = Annotated[list[Any], Meta(description="filter expression, JSON")]
OrderBy = Annotated[list[str], Meta(description='sort rule, up to 3, e.g. "rank,desc"')]
Tag = Annotated[str, Meta(max_length=255, description="a label echoed by the API")]
RankScale = Annotated[
    Literal["one_hundred", "one_thousand"],
    Meta(description="scale of rank fields", extra={"default": "one_thousand"}),
]
BacklinksStatusType = Annotated[
    Literal["all", "live", "lost"],
    Meta(description="which backlinks are counted", extra={"default": "live"}),
]
IncludeSubdomains = Annotated[
    bool, Meta(description="count backlinks to subdomains of the target", extra={"default": True})
]
IncludeIndirectLinks = Annotated[
    bool, Meta(description="count indirect links (redirects, canonicals)", extra={"default": True})
]
ExcludeInternalBacklinks = Annotated[
    bool, Meta(description="leave out links from the target's own domain", extra={"default": True})
]
InternalListLimit = Annotated[
    int,
    Meta(ge=1, le=1000, description="keys kept in each map field", extra={"default": 10}),
]
BacklinksFilters = Annotated[
    list[Any], Meta(description="filter on the underlying backlinks, JSON")
]


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of the request types: unknown fields are refused (the API's 40506)."""


class DomainPagesSummaryRequest(Request):
    """`backlinks/domain_pages_summary/live`: per-page backlink summaries of a target."""

    target: str
    limit: Limit | None = None
    offset: Offset | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


# -- the other endpoints -------------------------------------------------------------------

Target = Annotated[
    str, Meta(description="domain or subdomain (no scheme, no www.) or an absolute page URL")
]
Domain = Annotated[str, Meta(description="domain (no scheme, no www.)")]
BulkTargets = Annotated[
    list[str],
    Meta(
        min_length=1,
        max_length=1000,
        description="up to 1000 domains, subdomains or absolute page URLs",
    ),
]
IntersectionTargets = Annotated[
    dict[str, str],
    Meta(
        min_length=1,
        max_length=20,
        description='up to 20 targets keyed by their number, e.g. {"1": "a.com", "2": "b.com"}',
    ),
]
ExcludeTargets = Annotated[
    list[str],
    Meta(max_length=10, description="up to 10 targets whose linkers are left out"),
]
IntersectionMode = Annotated[
    Literal["all", "partial"],
    Meta(
        description="all: every backlink; partial: the intersecting backlinks only",
        extra={"default": "all"},
    ),
]
GroupRange = Annotated[
    Literal["day", "week", "month", "year"],
    Meta(description="the period each item of the series covers", extra={"default": "month"}),
]
DateTo = Annotated[
    str, Meta(description="end of the range, yyyy-mm-dd (at most and by default today)")
]
SeriesDateFrom = Annotated[
    str, Meta(description="start of the range, yyyy-mm-dd (2019-01-30 at the earliest)")
]
NewLostDateFrom = Annotated[
    str,
    Meta(
        description="new/lost counted since, yyyy-mm-dd (at most a year ago; default a month ago)"
    ),
]
UtilityLimit = Annotated[
    int, Meta(ge=1, le=1000, description="tasks per request", extra={"default": 1000})
]
UtilityOffset = Annotated[int, Meta(ge=0, description="tasks to skip", extra={"default": 0})]
TaskDatetime = Annotated[str, Meta(description="UTC, yyyy-mm-dd hh:mm:ss +00:00")]


class CustomMode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """`custom_mode` of `backlinks/live`: at most `value` backlinks per distinct `field`."""

    field: Annotated[
        Literal[
            "anchor",
            "domain_from",
            "domain_from_country",
            "tld_from",
            "page_from_encoding",
            "page_from_language",
            "item_type",
            "page_from_status_code",
            "semantic_location",
        ],
        Meta(description="the field whose distinct values are grouped"),
    ]
    value: Annotated[int, Meta(ge=1, le=1000, description="backlinks per distinct value")]


class SummaryRequest(Request):
    """`backlinks/summary/live`: the backlink summary of a target."""

    target: Target
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    backlinks_filters: BacklinksFilters | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class HistoryRequest(Request):
    """`backlinks/history/live`: monthly snapshots of a domain's backlink summary."""

    target: Domain
    date_from: (
        Annotated[
            str, Meta(description="start of the range, yyyy-mm-dd (2019-01-01 at the earliest)")
        ]
        | None
    ) = None
    date_to: DateTo | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class BacklinksRequest(Request):
    """`backlinks/backlinks/live`: the backlinks of a target (offset to 20,000, then a token)."""

    target: Target
    mode: (
        Annotated[
            Literal["as_is", "one_per_domain", "one_per_anchor"],
            Meta(
                description="all backlinks, one per domain or one per anchor",
                extra={"default": "as_is"},
            ),
        ]
        | None
    ) = None
    custom_mode: (
        Annotated[
            CustomMode,
            Meta(
                description=(
                    "backlinks per distinct value of a field, JSON, overrides mode: e.g."
                    ' {"field": "domain_from", "value": 10}'
                ),
            ),
        ]
        | None
    ) = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    offset: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=20000,
                description="items to skip (at most 20,000: beyond, search_after_token)",
                extra={"default": 0},
            ),
        ]
        | None
    ) = None
    search_after_token: (
        Annotated[
            str,
            Meta(description="the previous result's token; every other field left identical"),
        ]
        | None
    ) = None
    limit: Limit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class AnchorsRequest(Request):
    """`backlinks/anchors/live`: the anchors of a target's backlinks."""

    target: Target
    limit: Limit | None = None
    offset: Offset | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class DomainPagesRequest(Request):
    """`backlinks/domain_pages/live`: the pages of a domain, with their meta and summary."""

    target: Annotated[str, Meta(description="domain or subdomain (no scheme, no www.)")]
    limit: Limit | None = None
    offset: Offset | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class ReferringDomainsRequest(Request):
    """`backlinks/referring_domains/live`: the domains linking to a target."""

    target: Target
    limit: Limit | None = None
    offset: Offset | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class ReferringNetworksRequest(Request):
    """`backlinks/referring_networks/live`: the IPs or subnets linking to a target."""

    target: Target
    network_address_type: (
        Annotated[
            Literal["ip", "subnet"],
            Meta(description="group by IP address or by subnet", extra={"default": "ip"}),
        ]
        | None
    ) = None
    limit: Limit | None = None
    offset: Offset | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class CompetitorsRequest(Request):
    """`backlinks/competitors/live`: the domains sharing referring domains with a target."""

    target: Target
    limit: Limit | None = None
    offset: Offset | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    main_domain: (
        Annotated[
            bool, Meta(description="search the target's main domain only", extra={"default": True})
        ]
        | None
    ) = None
    exclude_large_domains: (
        Annotated[
            bool,
            Meta(
                description="leave out large domains (google.com, amazon.com...)",
                extra={"default": True},
            ),
        ]
        | None
    ) = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class DomainIntersectionRequest(Request):
    """`backlinks/domain_intersection/live`: the domains linking to several targets."""

    targets: IntersectionTargets
    exclude_targets: ExcludeTargets | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    offset: Offset | None = None
    limit: Limit | None = None
    internal_list_limit: InternalListLimit | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    backlinks_filters: BacklinksFilters | None = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    intersection_mode: IntersectionMode | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class PageIntersectionRequest(Request):
    """`backlinks/page_intersection/live`: the pages linking to several targets."""

    targets: IntersectionTargets
    exclude_targets: ExcludeTargets | None = None
    backlinks_status_type: BacklinksStatusType | None = None
    filters: Filters | None = None
    order_by: OrderBy | None = None
    offset: Offset | None = None
    limit: Limit | None = None
    internal_list_limit: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=1000,
                description="elements kept in each list field (attributes, platform types)",
                extra={"default": 10},
            ),
        ]
        | None
    ) = None
    include_subdomains: IncludeSubdomains | None = None
    include_indirect_links: IncludeIndirectLinks | None = None
    exclude_internal_backlinks: ExcludeInternalBacklinks | None = None
    intersection_mode: IntersectionMode | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class TimeseriesSummaryRequest(Request):
    """`backlinks/timeseries_summary/live`: a domain's backlink counts over time."""

    target: Domain
    date_from: SeriesDateFrom | None = None
    date_to: DateTo | None = None
    group_range: GroupRange | None = None
    include_subdomains: IncludeSubdomains | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class TimeseriesNewLostSummaryRequest(Request):
    """`backlinks/timeseries_new_lost_summary/live`: a domain's new and lost counts over time."""

    target: Domain
    date_from: SeriesDateFrom | None = None
    date_to: DateTo | None = None
    group_range: GroupRange | None = None
    include_subdomains: IncludeSubdomains | None = None
    tag: Tag | None = None


class BulkRanksRequest(Request):
    """`backlinks/bulk_ranks/live`: the rank of up to 1000 targets."""

    targets: BulkTargets
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class BulkBacklinksRequest(Request):
    """`backlinks/bulk_backlinks/live`: the backlink count of up to 1000 targets."""

    targets: BulkTargets
    tag: Tag | None = None


class BulkSpamScoreRequest(Request):
    """`backlinks/bulk_spam_score/live`: the spam score of up to 1000 targets."""

    targets: BulkTargets
    tag: Tag | None = None


class BulkReferringDomainsRequest(Request):
    """`backlinks/bulk_referring_domains/live`: referring domain counts of up to 1000 targets."""

    targets: BulkTargets
    tag: Tag | None = None


class BulkNewLostBacklinksRequest(Request):
    """`backlinks/bulk_new_lost_backlinks/live`: new and lost backlinks of up to 1000 targets."""

    targets: BulkTargets
    date_from: NewLostDateFrom | None = None
    tag: Tag | None = None


class BulkNewLostReferringDomainsRequest(Request):
    """`backlinks/bulk_new_lost_referring_domains/live`: new and lost referring domains, in bulk."""

    targets: BulkTargets
    date_from: NewLostDateFrom | None = None
    tag: Tag | None = None


class BulkPagesSummaryRequest(Request):
    """`backlinks/bulk_pages_summary/live`: the summaries of up to 1000 pages of 100 domains."""

    targets: Annotated[
        list[str],
        Meta(
            min_length=1,
            max_length=1000,
            description="up to 1000 pages, domains or subdomains, of at most 100 domains",
        ),
    ]
    include_subdomains: IncludeSubdomains | None = None
    rank_scale: RankScale | None = None
    tag: Tag | None = None


class IdListRequest(Request):
    """`backlinks/id_list`: the ids of the account's tasks posted in a time range."""

    datetime_from: Annotated[
        str,
        Meta(
            description="from, UTC yyyy-mm-dd hh:mm:ss +00:00 (at most 6 months back; 1 with meta)"
        ),
    ]
    datetime_to: Annotated[
        str, Meta(description="to, UTC yyyy-mm-dd hh:mm:ss +00:00 (at most now)")
    ]
    limit: UtilityLimit | None = None
    offset: UtilityOffset | None = None
    sort: (
        Annotated[
            Literal["asc", "desc"],
            Meta(description="order by execution time", extra={"default": "asc"}),
        ]
        | None
    ) = None
    include_metadata: (
        Annotated[bool, Meta(description="add each task's metadata", extra={"default": False})]
        | None
    ) = None


class ErrorsRequest(Request):
    """`backlinks/errors`: the account's tasks that failed in the last 7 days."""

    limit: UtilityLimit | None = None
    offset: UtilityOffset | None = None
    filtered_function: (
        Annotated[str, Meta(description="only this function, e.g. backlinks/live")] | None
    ) = None
    datetime_from: TaskDatetime | None = None
    datetime_to: TaskDatetime | None = None
