"""The results of the utility endpoints that take no task (`GET`)."""

from __future__ import annotations

import msgspec

from dfs_async.models.requests import Request


class NoFields(Request):
    """The request of an endpoint that takes no task (`available_filters`, `index`)."""


class AvailableFilters(msgspec.Struct, gc=False, kw_only=True):
    """`available_filters`: per endpoint, the fields its `filters` may name and their kind."""

    content_duplicates: dict[str, str | None] | None = None
    backlinks: dict[str, str | None] | None = None
    domain_pages: dict[str, str | None] | None = None
    anchors: dict[str, str | None] | None = None
    referring_domains: dict[str, str | None] | None = None
    domain_intersection: dict[str, str | None] | None = None
    page_intersection: dict[str, str | None] | None = None
    referring_networks: dict[str, str | None] | None = None
    domain_pages_summary: dict[str, str | None] | None = None
    competitors: dict[str, str | None] | None = None


class IndexHistory(msgspec.Struct, gc=False, kw_only=True):
    """The size of the backlink index on one date."""

    date: str | None = None
    total_backlinks: int | None = None
    total_pages: int | None = None


class Index(msgspec.Struct, gc=False, kw_only=True):
    """`index`: the size of the backlink index now, and over the last months."""

    total_backlinks: int | None = None
    total_pages: int | None = None
    index_history: list[IndexHistory] | None = None
