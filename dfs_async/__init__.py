"""dfs-async: an async, high-throughput batch client for the DataForSEO Backlinks API."""

from dfs_async.client import DataForSEO
from dfs_async.errors import (
    AccountError,
    BudgetExhausted,
    ConfigurationError,
    DataForSEOError,
    InvalidTarget,
    RunStopped,
    TaskFailed,
    UnknownField,
    ValidationError,
)
from dfs_async.filters import Field
from dfs_async.records import Failure, Page, Record, Stats, TargetDone
from dfs_async.retry import RetryPolicy
from dfs_async.targets import normalize_target

__all__ = [
    "AccountError",
    "BudgetExhausted",
    "ConfigurationError",
    "DataForSEO",
    "DataForSEOError",
    "Failure",
    "Field",
    "InvalidTarget",
    "Page",
    "Record",
    "RetryPolicy",
    "RunStopped",
    "Stats",
    "TargetDone",
    "TaskFailed",
    "UnknownField",
    "ValidationError",
    "normalize_target",
]
