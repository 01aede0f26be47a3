"""dfs-async: an async, high-throughput batch client for the DataForSEO Backlinks API."""

from dfs_async.account import Account, AccountInfo, AccountUnavailable, DailyLimitReached
from dfs_async.audit import AuditEstimate, AuditPlan, AuditRow, PartAnswer
from dfs_async.client import DataForSEO
from dfs_async.endpoints import Price
from dfs_async.errors import (
    AccountError,
    BudgetExhausted,
    ConfigurationError,
    DataForSEOError,
    Interrupted,
    InvalidTarget,
    RunStopped,
    SharedLimitsUnavailable,
    TaskFailed,
    UnknownField,
    Unreachable,
    ValidationError,
)
from dfs_async.estimate import Estimate
from dfs_async.filters import Field
from dfs_async.records import Failure, Page, PageDone, PageProgress, Record, Stats, TargetDone
from dfs_async.retry import RetryPolicy
from dfs_async.targets import DomainOf, domain_of, normalize_target, read_targets
from dfs_async.transport import NetworkFailure

__all__ = [
    "Account",
    "AccountError",
    "AccountInfo",
    "AccountUnavailable",
    "AuditEstimate",
    "AuditPlan",
    "AuditRow",
    "BudgetExhausted",
    "ConfigurationError",
    "DailyLimitReached",
    "DataForSEO",
    "DataForSEOError",
    "DomainOf",
    "Estimate",
    "Failure",
    "Field",
    "Interrupted",
    "InvalidTarget",
    "NetworkFailure",
    "Page",
    "PageDone",
    "PageProgress",
    "PartAnswer",
    "Price",
    "Record",
    "RetryPolicy",
    "RunStopped",
    "SharedLimitsUnavailable",
    "Stats",
    "TargetDone",
    "TaskFailed",
    "UnknownField",
    "Unreachable",
    "ValidationError",
    "domain_of",
    "normalize_target",
    "read_targets",
]
