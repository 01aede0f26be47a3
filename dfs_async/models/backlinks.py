"""Items and requests of the Backlinks API, field for field as the official schema names them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from dfs_async.models.datetimes import parse_api_datetime
from dfs_async.models.envelope import Envelope, PagedResult


class DomainPageSummary(msgspec.Struct, gc=False, kw_only=True):
    """One page of a domain with the summary of its backlinks (`backlinks_page_summary`)."""

    type: str | None = None
    url: str | None = None
    rank: int | None = None
    backlinks: int | None = None
    first_seen: str | None = None
    lost_date: str | None = None
    backlinks_spam_score: int | None = None
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

    @property
    def first_seen_datetime(self) -> datetime | None:
        """`first_seen` parsed (the API's format is not one msgspec decodes)."""
        return parse_api_datetime(self.first_seen)

    @property
    def lost_date_datetime(self) -> datetime | None:
        """`lost_date` parsed; None while the page is live."""
        return parse_api_datetime(self.lost_date)


DomainPagesSummaryResult = PagedResult[DomainPageSummary]
DomainPagesSummaryResponse = Envelope[DomainPagesSummaryResult]
