"""The records of the single-result and series endpoints: `summary`, `history`, `timeseries_*`."""

from __future__ import annotations

import msgspec

from dfs_async.models.parts import TargetInfo


class Summary(msgspec.Struct, gc=False, kw_only=True):
    """The backlink summary of a target: the result of `summary/live` is the record."""

    target: str | None = None
    first_seen: str | None = None
    lost_date: str | None = None
    rank: int | None = None
    backlinks: int | None = None
    backlinks_spam_score: int | None = None
    crawled_pages: int | None = None
    info: TargetInfo | None = None
    internal_links_count: int | None = None
    external_links_count: int | None = None
    broken_backlinks: int | None = None
    broken_pages: int | None = None
    referring_domains: int | None = None
    referring_domains_nofollow: int | None = None
    referring_main_domains: int | None = None
    referring_main_domains_nofollow: int | None = None
    referring_ips: int | None = None
    referring_subnets: int | None = None
    referring_pages: int | None = None
    referring_pages_nofollow: int | None = None
    referring_links_tld: dict[str, int | None] | None = None
    referring_links_types: dict[str, int | None] | None = None
    referring_links_attributes: dict[str, int | None] | None = None
    referring_links_platform_types: dict[str, int | None] | None = None
    referring_links_semantic_locations: dict[str, int | None] | None = None
    referring_links_countries: dict[str, int | None] | None = None


class HistorySnapshot(msgspec.Struct, gc=False, kw_only=True):
    """A domain's backlink summary at the end of one month (`backlinks_history`)."""

    type: str | None = None
    date: str | None = None
    rank: int | None = None
    backlinks: int | None = None
    new_backlinks: int | None = None
    lost_backlinks: int | None = None
    new_referring_domains: int | None = None
    lost_referring_domains: int | None = None
    crawled_pages: int | None = None
    info: TargetInfo | None = None
    internal_links_count: int | None = None
    external_links_count: int | None = None
    broken_backlinks: int | None = None
    broken_pages: int | None = None
    referring_domains: int | None = None
    referring_domains_nofollow: int | None = None
    referring_main_domains: int | None = None
    referring_main_domains_nofollow: int | None = None
    referring_ips: int | None = None
    referring_subnets: int | None = None
    referring_pages: int | None = None
    referring_pages_nofollow: int | None = None
    referring_links_tld: dict[str, int | None] | None = None
    referring_links_types: dict[str, int | None] | None = None
    referring_links_attributes: dict[str, int | None] | None = None
    referring_links_platform_types: dict[str, int | None] | None = None
    referring_links_semantic_locations: dict[str, int | None] | None = None
    referring_links_countries: dict[str, int | None] | None = None


class TimeseriesSummary(msgspec.Struct, gc=False, kw_only=True):
    """A domain's backlink counts on one date of the series."""

    type: str | None = None
    date: str | None = None
    rank: int | None = None
    backlinks: int | None = None
    backlinks_nofollow: int | None = None
    referring_pages: int | None = None
    referring_pages_nofollow: int | None = None
    referring_domains: int | None = None
    referring_domains_nofollow: int | None = None
    referring_main_domains: int | None = None
    referring_main_domains_nofollow: int | None = None
    referring_ips: int | None = None
    referring_subnets: int | None = None


class TimeseriesNewLostSummary(msgspec.Struct, gc=False, kw_only=True):
    """A domain's new and lost backlinks and referring domains in one period of the series."""

    type: str | None = None
    date: str | None = None
    new_backlinks: int | None = None
    lost_backlinks: int | None = None
    new_referring_domains: int | None = None
    lost_referring_domains: int | None = None
    new_referring_main_domains: int | None = None
    lost_referring_main_domains: int | None = None
