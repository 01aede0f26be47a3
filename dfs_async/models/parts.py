"""Nested objects of the Backlinks API's records: a small Struct each, every field nullable."""

from __future__ import annotations

import msgspec


class TargetInfo(msgspec.Struct, gc=False, kw_only=True):
    """What is known of a target's server: `info` of a summary."""

    server: str | None = None
    cms: str | None = None
    platform_type: list[str | None] | None = None
    ip_address: str | None = None
    country: str | None = None
    is_ip: bool | None = None
    target_spam_score: int | None = None


class RankedKeywordsInfo(msgspec.Struct, gc=False, kw_only=True):
    """Keywords the linking page ranks for in Google's top 3, 10 and 100."""

    page_from_keywords_count_top_3: int | None = None
    page_from_keywords_count_top_10: int | None = None
    page_from_keywords_count_top_100: int | None = None


class RedirectInfo(msgspec.Struct, gc=False, kw_only=True):
    """One hop of an indirect link's path (a redirect or a canonical)."""

    type: str | None = None
    status_code: int | None = None
    url: str | None = None


class PageMeta(msgspec.Struct, gc=False, kw_only=True):
    """What a page of a domain says of itself: `meta` of a domain page."""

    title: str | None = None
    canonical: str | None = None
    internal_links_count: int | None = None
    external_links_count: int | None = None
    images_count: int | None = None
    words_count: int | None = None
    page_spam_score: int | None = None
    social_media_tags: dict[str, str | None] | None = None
    h1: list[str | None] | None = None
    h2: list[str | None] | None = None
    h3: list[str | None] | None = None
    images_alt: list[str | None] | None = None
    powered_by: list[str | None] | None = None
    language: str | None = None
    charset: str | None = None
    platform_type: list[str | None] | None = None
    technologies: dict[str, str | None] | None = None


class PageSummary(msgspec.Struct, gc=False, kw_only=True):
    """The backlink summary of one page: `page_summary` of a domain page."""

    first_seen: str | None = None
    lost_date: str | None = None
    rank: int | None = None
    backlinks: int | None = None
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


class IntersectionSummary(msgspec.Struct, gc=False, kw_only=True):
    """How many targets an intersection item links to."""

    intersections_count: int | None = None


class CustomModeInfo(msgspec.Struct, gc=False, kw_only=True):
    """`custom_mode` as a backlinks result echoes it: at most `value` backlinks per `field`."""

    field: str | None = None
    value: int | None = None
