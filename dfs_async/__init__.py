"""dfs-async: an async, high-throughput batch client for the DataForSEO Backlinks API."""

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
from dfs_async.targets import normalize_target

__all__ = [
    "AccountError",
    "BudgetExhausted",
    "ConfigurationError",
    "DataForSEOError",
    "Field",
    "InvalidTarget",
    "RunStopped",
    "TaskFailed",
    "UnknownField",
    "ValidationError",
    "normalize_target",
]
