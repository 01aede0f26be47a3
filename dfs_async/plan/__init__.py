"""The sans-I/O core: one plan per unit of work, made by the endpoint's paging kind.

`protocol` says what the engine asks of any plan; each kind is its own small module with its
own property tests: `offset` (pages in parallel once `total_count` is known), `single`
(one request whose result is the record) and `bulk` (one request per target, the targets
packed up to 1,000 a task by a `Packer`).
"""

from dfs_async.plan.bulk import Bulk, Pack, Packer, root_domain
from dfs_async.plan.offset import Offset, OffsetPlan
from dfs_async.plan.protocol import JobPlan, PageNotInFlight, PageRequest, Paging
from dfs_async.plan.single import Series, Single, SinglePlan

__all__ = [
    "Bulk",
    "JobPlan",
    "Offset",
    "OffsetPlan",
    "Pack",
    "Packer",
    "PageNotInFlight",
    "PageRequest",
    "Paging",
    "Series",
    "Single",
    "SinglePlan",
    "root_domain",
]
