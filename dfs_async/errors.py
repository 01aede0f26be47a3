"""The exceptions dfs-async raises.

    DataForSEOError                 everything below; catch this to catch them all
    ├── ValidationError (ValueError)  a request field is wrong; raised before anything is sent
    │   ├── InvalidTarget               a target is not a domain, subdomain or absolute page URL
    │   └── UnknownField                a field the endpoint does not know (the API's 40506)
    ├── TaskFailed                    one request failed for good (its last status code)
    ├── RunStopped                    the run cannot go on; nothing more is sent
    │   ├── AccountError                the account refused (auth, funds, IP, daily caps)
    │   ├── BudgetExhausted             `max_cost` would be exceeded by the next request
    │   ├── DailyLimitReached           the account's daily limit of a function is used up
    │   │                                 (in `dfs_async.account`)
    │   ├── Interrupted                 the caller stopped the client (`DataForSEO.stop()`)
    │   ├── Unreachable                 the server was never reached (refused, DNS, no route)
    │   └── SharedLimitsUnavailable     the Redis holding the account's shared limits failed
    │                                     for too long: no request may leave without its slot
    ├── ConfigurationError            credentials or settings missing or contradictory
    └── CacheError                    the response cache's store failed (corrupt, locked,
                                        full, lost); a run goes on without its cache

`Unreachable` is also a `TaskFailed` (of the page that found out, status_code None), so a
single call's caller catching TaskFailed still catches it.

None of them ever carries the password: they are built from status codes and messages only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dfs_async.money import money

if TYPE_CHECKING:
    from dfs_async.transport import NetworkFailure


class DataForSEOError(Exception):
    """Base of every dfs-async error."""


class ConfigurationError(DataForSEOError):
    """Credentials or settings are missing or contradictory."""


class CacheError(DataForSEOError):
    """The response cache's store failed during use (corrupt, locked, full, lost).

    A run never stops for it: the cache warns once and turns itself off. The cache's own
    commands (stats, prune, clear) report it.
    """


class ValidationError(DataForSEOError, ValueError):
    """A request field breaks a rule of the API; raised before any request is sent."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def check_int(name: str, value: object, low: int, *, none: bool = False) -> None:
    """ValidationError naming `name` unless `value` is an integer (not a bool) of at least
    `low`, or None when `none` allows it: the one rule of the library's integer settings."""
    if none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        rule = f"must be {'None or ' if none else ''}an integer of at least {low}"
        raise ValidationError(name, f"{rule}, got {value!r}")


class InvalidTarget(ValidationError):
    """A target that is neither a domain/subdomain nor an absolute http(s) page URL."""

    def __init__(self, target: str, rule: str) -> None:
        super().__init__("target", f"{rule} (got {target!r})")
        self.target = target


class UnknownField(ValidationError):
    """A request field the endpoint does not know (the API would answer 40506)."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "not a field of this endpoint")


class TaskFailed(DataForSEOError):
    """A request failed for good: a request error, or a transient one past its retries."""

    def __init__(self, target: str, status_code: int | None, status_message: str) -> None:
        super().__init__(f"{target}: {status_code} {status_message}")
        self.target = target
        self.status_code = status_code
        self.status_message = status_message


class RunStopped(DataForSEOError):
    """The whole run stopped; what was delivered before stays delivered."""


class AccountError(RunStopped):
    """The account cannot go on (bad credentials, no funds, blocked IP, a daily cap)."""

    def __init__(self, status_code: int | None, status_message: str) -> None:
        super().__init__(f"account error {status_code}: {status_message}")
        self.status_code = status_code
        self.status_message = status_message


class BudgetExhausted(RunStopped):
    """The next request could cost more than what is left of `max_cost`."""

    def __init__(self, spent: float, max_cost: float) -> None:
        super().__init__(f"budget reached: spent {money(spent)} of {money(max_cost)}")
        self.spent = spent
        self.max_cost = max_cost


class Interrupted(RunStopped):
    """The caller stopped the client (`DataForSEO.stop()`, a Ctrl-C): nothing more is sent,
    and what was in flight was delivered first, so nothing paid for is lost."""

    def __init__(self) -> None:
        super().__init__("interrupted: nothing more is sent")


class SharedLimitsUnavailable(RunStopped):
    """Redis, which holds the account's limits shared by several processes (`shared_limits`),
    failed for too long or refused a script: no request may leave without its slot, so the
    run stops (a resumed run continues it once Redis is back)."""


class Unreachable(RunStopped, TaskFailed):
    """The server was never reached: no connection could be made to it (refused, DNS
    failure, no route, connect timeout, TLS handshake refused) on any attempt of a page,
    and it has never answered this client anything.

    Then every other target would fail the same way, attempt after attempt: the run stops
    instead. Once the server has answered anything (any HTTP status), network errors are
    only a page's transient failures, retried and failed per page as usual; so is a server
    that accepts connections but does not answer in time (a timeout is not unreachable).
    """

    def __init__(self, base_url: str, target: str, failure: NetworkFailure) -> None:
        DataForSEOError.__init__(self, f"cannot reach {base_url}: {failure.reason}")
        self.base_url = base_url
        self.failure = failure
        self.reason = failure.reason  # in the OS's words: "connection refused"
        self.target = target
        self.status_code = None
        self.status_message = str(failure)
