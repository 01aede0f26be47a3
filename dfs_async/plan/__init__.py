"""The sans-I/O core: one plan per unit of work, made by the endpoint's paging kind.

`protocol` says what the engine asks of any plan; each kind is its own small module with its
own property tests: `offset` (pages in parallel once `total_count` is known), `cursor` (the
offset grid up to a cap, then a chain of `search_after_token` pages) and `single` (one
request whose result is the record).
"""

from dfs_async.plan.cursor import REFUSED_TOKEN, CursorPlan, CursorResult, OffsetThenCursor
from dfs_async.plan.offset import Offset, OffsetPlan
from dfs_async.plan.protocol import JobPlan, PageNotInFlight, PageRequest, Paging
from dfs_async.plan.single import Single, SinglePlan

__all__ = [
    "REFUSED_TOKEN",
    "CursorPlan",
    "CursorResult",
    "JobPlan",
    "Offset",
    "OffsetPlan",
    "OffsetThenCursor",
    "PageNotInFlight",
    "PageRequest",
    "Paging",
    "Single",
    "SinglePlan",
]
