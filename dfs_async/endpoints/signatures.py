"""The typed signatures of every endpoint's calls, generated from the specs by
`scripts/generate_calls.py`: do not edit (tests/test_typed_calls.py fails when it is stale).

Per endpoint: `<Name>Fields`, its request fields as keyword arguments (a TypedDict: each
field's type from the request Struct; its help, bounds and the API's default in its
docstring), and `Typed<Name>`, the signatures of its awaited call and of its stream, which
`client.py` puts on `EndpointCall` (`<Name>Call`). They exist for type checkers only (the
calls are `EndpointCall`'s). This module sits below the client, so a stream's type comes in
as the parameter `S` (`RecordStream[item]`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    Never,
    NoReturn,
    Required,
    TypedDict,
    TypeVar,
    Unpack,
)

from dfs_async.filters import Expr
from dfs_async.models.backlinks import (
    Anchor,
    Backlink,
    Competitor,
    DomainIntersection,
    DomainPage,
    DomainPageSummary,
    PageIntersection,
    ReferringDomain,
    ReferringNetwork,
)
from dfs_async.models.bulk import (
    BulkBacklinks,
    BulkNewLostBacklinks,
    BulkNewLostReferringDomains,
    BulkPageSummary,
    BulkRank,
    BulkReferringDomains,
    BulkSpamScore,
    ErroredTask,
    ListedTask,
)
from dfs_async.models.envelope import PagedResult
from dfs_async.models.requests import CustomMode
from dfs_async.models.results import HistoryResult, TimeseriesResult
from dfs_async.models.summaries import Summary, TimeseriesNewLostSummary, TimeseriesSummary
from dfs_async.models.utility import AvailableFilters, Index
from dfs_async.records import Page, PageProgress

S = TypeVar("S")  # the stream of a `Typed<Name>`: `RecordStream[item]`


class DomainPagesSummaryFields(TypedDict, total=False):
    """The fields of `DomainPagesSummaryRequest`, as keyword arguments."""

    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class CustomModeFields(TypedDict, total=False):
    """The fields of `CustomMode`, as keyword arguments."""

    field: Required[
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
        ]
    ]
    """The field whose distinct values are grouped."""
    value: Required[int]
    """Backlinks per distinct value. 1 to 1000."""


class BacklinksFields(TypedDict, total=False):
    """The fields of `BacklinksRequest`, as keyword arguments."""

    mode: Literal["as_is", "one_per_domain", "one_per_anchor"] | None
    """All backlinks, one per domain or one per anchor. The API's default: 'as_is'."""
    custom_mode: CustomModeFields | CustomMode | None
    """Backlinks per distinct value of a field, JSON, overrides mode: e.g. {"field": "domain_from",
    "value": 10}."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    offset: int | None
    """Items to skip (at most 20,000: beyond, search_after_token). 0 to 20000; the API's default:
    0."""
    search_after_token: str | None
    """The previous result's token; every other field left identical."""
    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class AnchorsFields(TypedDict, total=False):
    """The fields of `AnchorsRequest`, as keyword arguments."""

    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class DomainPagesFields(TypedDict, total=False):
    """The fields of `DomainPagesRequest`, as keyword arguments."""

    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class ReferringDomainsFields(TypedDict, total=False):
    """The fields of `ReferringDomainsRequest`, as keyword arguments."""

    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class ReferringNetworksFields(TypedDict, total=False):
    """The fields of `ReferringNetworksRequest`, as keyword arguments."""

    network_address_type: Literal["ip", "subnet"] | None
    """Group by IP address or by subnet. The API's default: 'ip'."""
    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class CompetitorsFields(TypedDict, total=False):
    """The fields of `CompetitorsRequest`, as keyword arguments."""

    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    main_domain: bool | None
    """Search the target's main domain only. The API's default: True."""
    exclude_large_domains: bool | None
    """Leave out large domains (google.com, amazon.com...). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class DomainIntersectionFields(TypedDict, total=False):
    """The fields of `DomainIntersectionRequest`, as keyword arguments."""

    exclude_targets: list[str] | None
    """Up to 10 targets whose linkers are left out. At most 10 entries."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    intersection_mode: Literal["all", "partial"] | None
    """All: every backlink; partial: the intersecting backlinks only. The API's default: 'all'."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class PageIntersectionFields(TypedDict, total=False):
    """The fields of `PageIntersectionRequest`, as keyword arguments."""

    exclude_targets: list[str] | None
    """Up to 10 targets whose linkers are left out. At most 10 entries."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    filters: Expr | list[Any] | None
    """Filter expression, JSON."""
    order_by: list[str] | None
    """Sort rule, up to 3, e.g. "rank,desc"."""
    offset: int | None
    """Items to skip. At least 0; the API's default: 0."""
    limit: int | None
    """Items per request. 1 to 1000; the API's default: 100."""
    internal_list_limit: int | None
    """Elements kept in each list field (attributes, platform types). 1 to 1000; the API's default:
    10."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    intersection_mode: Literal["all", "partial"] | None
    """All: every backlink; partial: the intersecting backlinks only. The API's default: 'all'."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class SummaryFields(TypedDict, total=False):
    """The fields of `SummaryRequest`, as keyword arguments."""

    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    include_indirect_links: bool | None
    """Count indirect links (redirects, canonicals). The API's default: True."""
    exclude_internal_backlinks: bool | None
    """Leave out links from the target's own domain. The API's default: True."""
    internal_list_limit: int | None
    """Keys kept in each map field. 1 to 1000; the API's default: 10."""
    backlinks_status_type: Literal["all", "live", "lost"] | None
    """Which backlinks are counted. The API's default: 'live'."""
    backlinks_filters: Expr | list[Any] | None
    """Filter on the underlying backlinks, JSON."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class HistoryFields(TypedDict, total=False):
    """The fields of `HistoryRequest`, as keyword arguments."""

    date_from: str | None
    """Start of the range, yyyy-mm-dd (2019-01-01 at the earliest)."""
    date_to: str | None
    """End of the range, yyyy-mm-dd (at most and by default today)."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class TimeseriesSummaryFields(TypedDict, total=False):
    """The fields of `TimeseriesSummaryRequest`, as keyword arguments."""

    date_from: str | None
    """Start of the range, yyyy-mm-dd (2019-01-30 at the earliest)."""
    date_to: str | None
    """End of the range, yyyy-mm-dd (at most and by default today)."""
    group_range: Literal["day", "week", "month", "year"] | None
    """The period each item of the series covers. The API's default: 'month'."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class TimeseriesNewLostSummaryFields(TypedDict, total=False):
    """The fields of `TimeseriesNewLostSummaryRequest`, as keyword arguments."""

    date_from: str | None
    """Start of the range, yyyy-mm-dd (2019-01-30 at the earliest)."""
    date_to: str | None
    """End of the range, yyyy-mm-dd (at most and by default today)."""
    group_range: Literal["day", "week", "month", "year"] | None
    """The period each item of the series covers. The API's default: 'month'."""
    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkRanksFields(TypedDict, total=False):
    """The fields of `BulkRanksRequest`, as keyword arguments."""

    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkBacklinksFields(TypedDict, total=False):
    """The fields of `BulkBacklinksRequest`, as keyword arguments."""

    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkSpamScoreFields(TypedDict, total=False):
    """The fields of `BulkSpamScoreRequest`, as keyword arguments."""

    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkReferringDomainsFields(TypedDict, total=False):
    """The fields of `BulkReferringDomainsRequest`, as keyword arguments."""

    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkNewLostBacklinksFields(TypedDict, total=False):
    """The fields of `BulkNewLostBacklinksRequest`, as keyword arguments."""

    date_from: str | None
    """New/lost counted since, yyyy-mm-dd (at most a year ago; default a month ago)."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkNewLostReferringDomainsFields(TypedDict, total=False):
    """The fields of `BulkNewLostReferringDomainsRequest`, as keyword arguments."""

    date_from: str | None
    """New/lost counted since, yyyy-mm-dd (at most a year ago; default a month ago)."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class BulkPagesSummaryFields(TypedDict, total=False):
    """The fields of `BulkPagesSummaryRequest`, as keyword arguments."""

    include_subdomains: bool | None
    """Count backlinks to subdomains of the target. The API's default: True."""
    rank_scale: Literal["one_hundred", "one_thousand"] | None
    """Scale of rank fields. The API's default: 'one_thousand'."""
    tag: str | None
    """A label echoed by the API. At most 255 characters."""


class ErrorsFields(TypedDict, total=False):
    """The fields of `ErrorsRequest`, as keyword arguments."""

    limit: int | None
    """Tasks per request. 1 to 1000; the API's default: 1000."""
    offset: int | None
    """Tasks to skip. At least 0; the API's default: 0."""
    filtered_function: str | None
    """Only this function, e.g. backlinks/live."""
    datetime_from: str | None
    """UTC, yyyy-mm-dd hh:mm:ss +00:00."""
    datetime_to: str | None
    """UTC, yyyy-mm-dd hh:mm:ss +00:00."""


class IdListFields(TypedDict, total=False):
    """The fields of `IdListRequest`, as keyword arguments."""

    datetime_from: Required[str]
    """From, UTC yyyy-mm-dd hh:mm:ss +00:00 (at most 6 months back; 1 with meta)."""
    datetime_to: Required[str]
    """To, UTC yyyy-mm-dd hh:mm:ss +00:00 (at most now)."""
    limit: int | None
    """Tasks per request. 1 to 1000; the API's default: 1000."""
    offset: int | None
    """Tasks to skip. At least 0; the API's default: 0."""
    sort: Literal["asc", "desc"] | None
    """Order by execution time. The API's default: 'asc'."""
    include_metadata: bool | None
    """Add each task's metadata. The API's default: False."""


class TypedDomainPagesSummary(Generic[S]):
    """`dfs.backlinks.domain_pages_summary` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[DomainPagesSummaryFields]
        ) -> Page[DomainPageSummary]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[DomainPagesSummaryFields],
        ) -> S: ...


class TypedBacklinks(Generic[S]):
    """`dfs.backlinks.backlinks` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[BacklinksFields]
        ) -> Page[Backlink]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BacklinksFields],
        ) -> S: ...


class TypedAnchors(Generic[S]):
    """`dfs.backlinks.anchors` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(self, target: str, **fields: Unpack[AnchorsFields]) -> Page[Anchor]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[AnchorsFields],
        ) -> S: ...


class TypedDomainPages(Generic[S]):
    """`dfs.backlinks.domain_pages` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[DomainPagesFields]
        ) -> Page[DomainPage]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[DomainPagesFields],
        ) -> S: ...


class TypedReferringDomains(Generic[S]):
    """`dfs.backlinks.referring_domains` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[ReferringDomainsFields]
        ) -> Page[ReferringDomain]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[ReferringDomainsFields],
        ) -> S: ...


class TypedReferringNetworks(Generic[S]):
    """`dfs.backlinks.referring_networks` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[ReferringNetworksFields]
        ) -> Page[ReferringNetwork]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[ReferringNetworksFields],
        ) -> S: ...


class TypedCompetitors(Generic[S]):
    """`dfs.backlinks.competitors` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[CompetitorsFields]
        ) -> Page[Competitor]: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[CompetitorsFields],
        ) -> S: ...


class TypedDomainIntersection(Generic[S]):
    """`dfs.backlinks.domain_intersection` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self,
            target: str | Sequence[str] | Mapping[str, str],
            **fields: Unpack[DomainIntersectionFields],
        ) -> Page[DomainIntersection]: ...

        def stream(
            self,
            targets: Iterable[str | Sequence[str] | Mapping[str, str]]
            | AsyncIterable[str | Sequence[str] | Mapping[str, str]],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[DomainIntersectionFields],
        ) -> S: ...


class TypedPageIntersection(Generic[S]):
    """`dfs.backlinks.page_intersection` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self,
            target: str | Sequence[str] | Mapping[str, str],
            **fields: Unpack[PageIntersectionFields],
        ) -> Page[PageIntersection]: ...

        def stream(
            self,
            targets: Iterable[str | Sequence[str] | Mapping[str, str]]
            | AsyncIterable[str | Sequence[str] | Mapping[str, str]],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[PageIntersectionFields],
        ) -> S: ...


class TypedSummary(Generic[S]):
    """`dfs.backlinks.summary` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[SummaryFields]
        ) -> Summary | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[SummaryFields],
        ) -> S: ...


class TypedHistory(Generic[S]):
    """`dfs.backlinks.history` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[HistoryFields]
        ) -> HistoryResult | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[HistoryFields],
        ) -> S: ...


class TypedTimeseriesSummary(Generic[S]):
    """`dfs.backlinks.timeseries_summary` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[TimeseriesSummaryFields]
        ) -> TimeseriesResult[TimeseriesSummary] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[TimeseriesSummaryFields],
        ) -> S: ...


class TypedTimeseriesNewLostSummary(Generic[S]):
    """`dfs.backlinks.timeseries_new_lost_summary` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str, **fields: Unpack[TimeseriesNewLostSummaryFields]
        ) -> TimeseriesResult[TimeseriesNewLostSummary] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[TimeseriesNewLostSummaryFields],
        ) -> S: ...


class TypedBulkRanks(Generic[S]):
    """`dfs.backlinks.bulk_ranks` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkRanksFields]
        ) -> PagedResult[BulkRank] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkRanksFields],
        ) -> S: ...


class TypedBulkBacklinks(Generic[S]):
    """`dfs.backlinks.bulk_backlinks` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkBacklinksFields]
        ) -> PagedResult[BulkBacklinks] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkBacklinksFields],
        ) -> S: ...


class TypedBulkSpamScore(Generic[S]):
    """`dfs.backlinks.bulk_spam_score` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkSpamScoreFields]
        ) -> PagedResult[BulkSpamScore] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkSpamScoreFields],
        ) -> S: ...


class TypedBulkReferringDomains(Generic[S]):
    """`dfs.backlinks.bulk_referring_domains` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkReferringDomainsFields]
        ) -> PagedResult[BulkReferringDomains] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkReferringDomainsFields],
        ) -> S: ...


class TypedBulkNewLostBacklinks(Generic[S]):
    """`dfs.backlinks.bulk_new_lost_backlinks` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkNewLostBacklinksFields]
        ) -> PagedResult[BulkNewLostBacklinks] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkNewLostBacklinksFields],
        ) -> S: ...


class TypedBulkNewLostReferringDomains(Generic[S]):
    """`dfs.backlinks.bulk_new_lost_referring_domains` to type checkers; `S` is its stream's
    type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkNewLostReferringDomainsFields]
        ) -> PagedResult[BulkNewLostReferringDomains] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkNewLostReferringDomainsFields],
        ) -> S: ...


class TypedBulkPagesSummary(Generic[S]):
    """`dfs.backlinks.bulk_pages_summary` to type checkers; `S` is its stream's type."""

    if TYPE_CHECKING:

        async def __call__(
            self, target: str | Sequence[str], **fields: Unpack[BulkPagesSummaryFields]
        ) -> PagedResult[BulkPageSummary] | None: ...

        def stream(
            self,
            targets: Iterable[str] | AsyncIterable[str],
            *,
            max_items: int | None = None,
            resume: Mapping[str, PageProgress] | Callable[[str], PageProgress | None] | None = None,
            **fields: Unpack[BulkPagesSummaryFields],
        ) -> S: ...


class TypedAvailableFilters:
    """`dfs.backlinks.available_filters` to type checkers."""

    if TYPE_CHECKING:

        async def __call__(self) -> list[AvailableFilters]: ...

        def stream(self, targets: Never, /) -> NoReturn:
            """Not for this endpoint: it takes no target. Await the call."""


class TypedIndex:
    """`dfs.backlinks.index` to type checkers."""

    if TYPE_CHECKING:

        async def __call__(self) -> list[Index]: ...

        def stream(self, targets: Never, /) -> NoReturn:
            """Not for this endpoint: it takes no target. Await the call."""


class TypedErrors:
    """`dfs.backlinks.errors` to type checkers."""

    if TYPE_CHECKING:

        async def __call__(self, **fields: Unpack[ErrorsFields]) -> list[ErroredTask]: ...

        def stream(self, targets: Never, /) -> NoReturn:
            """Not for this endpoint: it takes no target. Await the call."""


class TypedIdList:
    """`dfs.backlinks.id_list` to type checkers."""

    if TYPE_CHECKING:

        async def __call__(self, **fields: Unpack[IdListFields]) -> list[ListedTask]: ...

        def stream(self, targets: Never, /) -> NoReturn:
            """Not for this endpoint: it takes no target. Await the call."""
