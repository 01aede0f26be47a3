"""Items of the paged endpoints of the Backlinks API, field for field as the official schema
names them: every field optional and nullable, datetimes kept as the API's strings."""

from __future__ import annotations

from datetime import datetime

import msgspec

from dfs_async.models.datetimes import parse_api_datetime
from dfs_async.models.envelope import Envelope, PagedResult
from dfs_async.models.parts import (
    IntersectionSummary,
    PageMeta,
    PageSummary,
    RankedKeywordsInfo,
    RedirectInfo,
)


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


# -- the other paged endpoints: their items ----------------------------------------------


class Backlink(msgspec.Struct, gc=False, kw_only=True):
    """One backlink of a target (`backlink`)."""

    type: str | None = None
    domain_from: str | None = None
    url_from: str | None = None
    url_from_https: bool | None = None
    domain_to: str | None = None
    url_to: str | None = None
    url_to_https: bool | None = None
    tld_from: str | None = None
    is_new: bool | None = None
    is_lost: bool | None = None
    backlink_spam_score: int | None = None
    rank: int | None = None
    page_from_rank: int | None = None
    domain_from_rank: int | None = None
    domain_from_platform_type: list[str | None] | None = None
    domain_from_is_ip: bool | None = None
    domain_from_ip: str | None = None
    domain_from_country: str | None = None
    page_from_external_links: int | None = None
    page_from_internal_links: int | None = None
    page_from_size: int | None = None
    page_from_encoding: str | None = None
    page_from_language: str | None = None
    page_from_title: str | None = None
    page_from_status_code: int | None = None
    first_seen: str | None = None
    prev_seen: str | None = None
    last_seen: str | None = None
    item_type: str | None = None
    attributes: list[str | None] | None = None
    dofollow: bool | None = None
    original: bool | None = None
    alt: str | None = None
    image_url: str | None = None
    anchor: str | None = None
    text_pre: str | None = None
    text_post: str | None = None
    semantic_location: str | None = None
    links_count: int | None = None
    group_count: int | None = None
    is_broken: bool | None = None
    url_to_status_code: int | None = None
    url_to_spam_score: int | None = None
    url_to_redirect_target: str | None = None
    ranked_keywords_info: RankedKeywordsInfo | None = None
    is_indirect_link: bool | None = None
    indirect_link_path: list[RedirectInfo | None] | None = None


class Anchor(msgspec.Struct, gc=False, kw_only=True):
    """One anchor text of a target's backlinks, with their summary (`anchor`)."""

    type: str | None = None
    anchor: str | None = None
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


class DomainPage(msgspec.Struct, gc=False, kw_only=True):
    """One crawled page of a domain, with its meta and backlink summary (`page`)."""

    type: str | None = None
    main_domain: str | None = None
    domain: str | None = None
    tld: str | None = None
    page: str | None = None
    ip: str | None = None
    first_visited: str | None = None
    prev_visited: str | None = None
    fetch_time: str | None = None
    status_code: int | None = None
    location: str | None = None
    size: int | None = None
    encoded_size: int | None = None
    content_encoding: str | None = None
    media_type: str | None = None
    server: str | None = None
    meta: PageMeta | None = None
    page_summary: PageSummary | None = None


class ReferringDomain(msgspec.Struct, gc=False, kw_only=True):
    """One domain linking to a target, with the summary of its links."""

    type: str | None = None
    domain: str | None = None
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


class ReferringNetwork(msgspec.Struct, gc=False, kw_only=True):
    """One IP address or subnet linking to a target, with the summary of its links."""

    type: str | None = None
    network_address: str | None = None
    rank: int | None = None
    backlinks: int | None = None
    first_seen: str | None = None
    lost_date: str | None = None
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


class Competitor(msgspec.Struct, gc=False, kw_only=True):
    """One domain sharing referring domains with a target (`backlinks_competitor`)."""

    type: str | None = None
    target: str | None = None
    rank: int | None = None
    intersections: int | None = None


class IntersectionDomain(msgspec.Struct, gc=False, kw_only=True):
    """A referring domain's links to one of the targets of a domain intersection."""

    type: str | None = None
    target: str | None = None
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
    # The schema types this one map as a bare object (no value type): counts, like the others.
    referring_links_countries: dict[str, int | None] | None = None


class DomainIntersection(msgspec.Struct, gc=False, kw_only=True):
    """One domain linking to several targets: its links to each, keyed by target number."""

    domain_intersection: dict[str, IntersectionDomain | None] | None = None
    summary: IntersectionSummary | None = None


class IntersectionBacklink(msgspec.Struct, gc=False, kw_only=True):
    """A backlink from an intersecting page to one of the targets of a page intersection."""

    type: str | None = None
    domain_from: str | None = None
    url_from: str | None = None
    url_from_https: bool | None = None
    domain_to: str | None = None
    url_to: str | None = None
    url_to_https: bool | None = None
    tld_from: str | None = None
    is_new: bool | None = None
    is_lost: bool | None = None
    backlink_spam_score: int | None = None
    rank: int | None = None
    page_from_rank: int | None = None
    domain_from_rank: int | None = None
    domain_from_platform_type: list[str | None] | None = None
    domain_from_is_ip: bool | None = None
    domain_from_ip: str | None = None
    domain_from_country: str | None = None
    page_from_external_links: int | None = None
    page_from_internal_links: int | None = None
    page_from_size: int | None = None
    page_from_encoding: str | None = None
    page_from_language: str | None = None
    page_from_title: str | None = None
    page_from_status_code: int | None = None
    first_seen: str | None = None
    prev_seen: str | None = None
    last_seen: str | None = None
    item_type: str | None = None
    attributes: list[str | None] | None = None
    dofollow: bool | None = None
    original: bool | None = None
    alt: str | None = None
    anchor: str | None = None
    text_pre: str | None = None
    text_post: str | None = None
    semantic_location: str | None = None
    links_count: int | None = None
    group_count: int | None = None
    is_broken: bool | None = None
    url_to_status_code: int | None = None
    url_to_spam_score: int | None = None
    url_to_redirect_target: str | None = None
    is_indirect_link: bool | None = None
    indirect_link_path: list[RedirectInfo | None] | None = None


class PageIntersection(msgspec.Struct, gc=False, kw_only=True):
    """One page linking to several targets: its backlinks to each, keyed by target number."""

    page_intersection: dict[str, list[IntersectionBacklink | None] | None] | None = None
    summary: IntersectionSummary | None = None
