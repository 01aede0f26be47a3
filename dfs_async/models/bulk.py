"""The items of the bulk endpoints (one per target) and the records of `id_list` and `errors`."""

from __future__ import annotations

from typing import Any

import msgspec


class BulkRank(msgspec.Struct, gc=False, kw_only=True):
    """The rank of one target."""

    target: str | None = None
    rank: int | None = None


class BulkBacklinks(msgspec.Struct, gc=False, kw_only=True):
    """The backlink count of one target."""

    target: str | None = None
    backlinks: int | None = None


class BulkSpamScore(msgspec.Struct, gc=False, kw_only=True):
    """The spam score of one target."""

    type: str | None = None
    target: str | None = None
    spam_score: int | None = None


class BulkReferringDomains(msgspec.Struct, gc=False, kw_only=True):
    """The referring domain counts of one target."""

    target: str | None = None
    referring_domains: int | None = None
    referring_domains_nofollow: int | None = None
    referring_main_domains: int | None = None
    referring_main_domains_nofollow: int | None = None


class BulkNewLostBacklinks(msgspec.Struct, gc=False, kw_only=True):
    """The new and lost backlinks of one target since `date_from`."""

    target: str | None = None
    new_backlinks: int | None = None
    lost_backlinks: int | None = None


class BulkNewLostReferringDomains(msgspec.Struct, gc=False, kw_only=True):
    """The new and lost referring domains of one target since `date_from`."""

    target: str | None = None
    new_referring_domains: int | None = None
    lost_referring_domains: int | None = None
    new_referring_main_domains: int | None = None
    lost_referring_main_domains: int | None = None


class BulkPageSummary(msgspec.Struct, gc=False, kw_only=True):
    """The backlink summary of one page, domain or subdomain."""

    type: str | None = None
    url: str | None = None
    rank: int | None = None
    main_domain_rank: int | None = None
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


class ListedTask(msgspec.Struct, gc=False, kw_only=True):
    """One task of the account, as `id_list` lists it (the result is the record)."""

    id: str | None = None
    url: str | None = None
    datetime_posted: str | None = None
    datetime_done: str | None = None
    status: str | None = None
    cost: float | None = None
    metadata: dict[str, Any] | None = None  # the schema: values are objects; they are any JSON


class ErroredTask(msgspec.Struct, gc=False, kw_only=True):
    """One task that failed, as `errors` lists it (the result is the record)."""

    id: str | None = None
    datetime: str | None = None
    function: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    http_url: str | None = None
    http_method: str | None = None
    http_code: int | None = None
    http_time: int | None = None
    http_response: str | None = None
