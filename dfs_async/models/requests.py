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
