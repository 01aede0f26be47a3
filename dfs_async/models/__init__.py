"""msgspec Structs for the API's envelope, items and requests."""

from dfs_async.models.backlinks import (
    DomainPagesSummaryResponse,
    DomainPagesSummaryResult,
    DomainPageSummary,
)
from dfs_async.models.datetimes import format_api_datetime, parse_api_datetime
from dfs_async.models.envelope import Envelope, PagedResult, Task

__all__ = [
    "DomainPageSummary",
    "DomainPagesSummaryResponse",
    "DomainPagesSummaryResult",
    "Envelope",
    "PagedResult",
    "Task",
    "format_api_datetime",
    "parse_api_datetime",
]
