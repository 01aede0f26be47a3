"""The sans-I/O core: one plan per unit of work, made by the endpoint's paging kind.

`protocol` says what the engine asks of any plan; each kind is its own small module with its
own property tests: `offset` (pages in parallel once `total_count` is known), `cursor` (the
offset grid up to a cap, then a chain of `search_after_token` pages), `single` (one request
whose result, or its series of items, is the record) and `bulk` (one request per target,
many targets packed into one task by a `Packer`).
"""

from dfs_async.plan.bulk import Bulk, Pack, Packer, pack_fields, root_domain
from dfs_async.plan.cursor import REFUSED_TOKEN, CursorPlan, CursorResult, OffsetThenCursor
from dfs_async.plan.offset import Offset, OffsetPlan
from dfs_async.plan.protocol import JobPlan, PageNotInFlight, PageRequest, Paging
from dfs_async.plan.single import ONLY_REQUEST, Listing, Series, Single, SinglePlan

__all__ = [
    "ONLY_REQUEST",
    "REFUSED_TOKEN",
    "Bulk",
    "CursorPlan",
    "CursorResult",
    "JobPlan",
    "Listing",
    "Offset",
    "OffsetPlan",
    "OffsetThenCursor",
    "Pack",
    "Packer",
    "PageNotInFlight",
    "PageRequest",
    "Paging",
    "Series",
    "Single",
    "SinglePlan",
    "pack_fields",
    "root_domain",
]
