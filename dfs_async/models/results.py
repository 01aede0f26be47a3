"""The result objects of the Backlinks API: what each task's `result` list holds.

The paged endpoints but `backlinks`, `competitors` and the intersections share
`envelope.PagedResult`; the others differ from it in a field or two, as the official schema's
`*ResultInfo` says (`competitors` and the bulk endpoints have no `target`, the intersections
have `targets`, the series their date range). `summary`, `id_list` and `errors` have no items:
their result object is the record (`Summary`, `ListedTask`, `ErroredTask`).
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from dfs_async.models.backlinks import (
    Anchor,
    Backlink,
    Competitor,
    DomainIntersection,
    DomainPage,
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
)
from dfs_async.models.envelope import PagedResult
from dfs_async.models.parts import CustomModeInfo
from dfs_async.models.summaries import HistorySnapshot, TimeseriesNewLostSummary, TimeseriesSummary

I = TypeVar("I")  # noqa: E741 - the conventional name for an item type


class BacklinksResult(msgspec.Struct, gc=False, kw_only=True):
    """A page of `backlinks/live`, with the token that asks for the next one past 20,000."""

    target: str | None = None
    mode: str | None = None
    custom_mode: CustomModeInfo | None = None
    total_count: int | None = None
    items_count: int | None = None
    items: list[Backlink] | None = None
    search_after_token: str | None = None


class CountedResult(msgspec.Struct, Generic[I], gc=False, kw_only=True):
    """Items out of `total_count`, with no `target` (`competitors`, `bulk_pages_summary`)."""

    total_count: int | None = None
    items_count: int | None = None
    items: list[I] | None = None


class IntersectionResult(msgspec.Struct, Generic[I], gc=False, kw_only=True):
    """A page of an intersection: the `targets` map as posted, and items out of `total_count`."""

    targets: dict[str, str | None] | None = None
    total_count: int | None = None
    items_count: int | None = None
    items: list[I] | None = None


class BulkResult(msgspec.Struct, Generic[I], gc=False, kw_only=True):
    """The result of a bulk endpoint: one item per target, no count beyond `items_count`."""

    items_count: int | None = None
    items: list[I] | None = None


class HistoryResult(msgspec.Struct, gc=False, kw_only=True):
    """The result of `history/live`: the monthly snapshots of the date range."""

    target: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    items_count: int | None = None
    items: list[HistorySnapshot] | None = None


class TimeseriesResult(msgspec.Struct, Generic[I], gc=False, kw_only=True):
    """The result of a `timeseries_*` endpoint: one item per `group_range` of the date range."""

    target: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    group_range: str | None = None
    items_count: int | None = None
    items: list[I] | None = None


AnchorsResult = PagedResult[Anchor]
DomainPagesResult = PagedResult[DomainPage]
ReferringDomainsResult = PagedResult[ReferringDomain]
ReferringNetworksResult = PagedResult[ReferringNetwork]
CompetitorsResult = CountedResult[Competitor]
DomainIntersectionResult = IntersectionResult[DomainIntersection]
PageIntersectionResult = IntersectionResult[PageIntersection]
TimeseriesSummaryResult = TimeseriesResult[TimeseriesSummary]
TimeseriesNewLostSummaryResult = TimeseriesResult[TimeseriesNewLostSummary]
BulkRanksResult = BulkResult[BulkRank]
BulkBacklinksResult = BulkResult[BulkBacklinks]
BulkSpamScoreResult = BulkResult[BulkSpamScore]
BulkReferringDomainsResult = BulkResult[BulkReferringDomains]
BulkNewLostBacklinksResult = BulkResult[BulkNewLostBacklinks]
BulkNewLostReferringDomainsResult = BulkResult[BulkNewLostReferringDomains]
BulkPagesSummaryResult = CountedResult[BulkPageSummary]
