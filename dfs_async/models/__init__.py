"""msgspec Structs for the API's envelope, items and requests."""

from dfs_async.models.backlinks import (
    DomainPagesSummaryResponse,
    DomainPagesSummaryResult,
    DomainPageSummary,
)
from dfs_async.models.datetimes import format_api_datetime, parse_api_datetime
from dfs_async.models.envelope import Envelope, PagedResult, Task
from dfs_async.models.requests import DomainPagesSummaryRequest, Request

__all__ = [
    "DomainPageSummary",
    "DomainPagesSummaryRequest",
    "DomainPagesSummaryResponse",
    "DomainPagesSummaryResult",
    "Envelope",
    "PagedResult",
    "Request",
    "Task",
    "format_api_datetime",
    "parse_api_datetime",
]
