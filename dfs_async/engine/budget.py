"""What may be sent: the client's budget (`max_cost`) and the account's daily limits."""

from __future__ import annotations

from dfs_async.account import AccountInfo, DailyLimitReached
from dfs_async.endpoints import Endpoint
from dfs_async.errors import BudgetExhausted
from dfs_async.records import Stats

__all__ = ["Budget", "DailyLimits"]


class Budget:
    """`max_cost` for one client: a request goes out only if it cannot overshoot it.

    The bound: before each request, `spent + reserved + worst <= max_cost`, where `spent` is
    the sum of task costs the server returned, `reserved` the worst case of the requests in
    flight and `worst` that of the next one, `$0.02 + $0.00003 * limit` per task (the
    account's price where user_data lists it, else the documented one: `Engine.price`).
    So the charge never exceeds `max_cost` at that price.
    """

    def __init__(self, max_cost: float | None, stats: Stats) -> None:
        self.max_cost = max_cost
        self.reserved = 0.0
        self._stats = stats

    def reserve(self, worst: float) -> None:
        if self.max_cost is not None:
            spent = self._stats.cost
            if spent + self.reserved + worst > self.max_cost + 1e-9:
                raise BudgetExhausted(spent, self.max_cost)
        self.reserved += worst

    def settle(self, worst: float, charged: float, endpoint: str) -> None:
        """A request of `endpoint` reserved at `worst` ended; the server charged `charged`."""
        self.reserved = max(0.0, self.reserved - worst)
        if charged:
            self._stats.charge(endpoint, charged)


class DailyLimits:
    """The account's daily limit of each function, less what was used of it today
    (`AccountInfo.daily_limits`, `used_today`) and what this client has sent since."""

    def __init__(self, info: AccountInfo | None) -> None:
        self._limits = info.daily_limits if info is not None else {}
        self._used = dict(info.used_today) if info is not None else {}

    def take(self, endpoint: Endpoint) -> None:
        """Count one request of `endpoint`, or DailyLimitReached when it would be refused."""
        name = endpoint.name
        limit = self._limits.get(name)
        if limit is None:
            return
        used = self._used.get(name, 0)
        if used >= limit:
            raise DailyLimitReached(name, limit, used)
        self._used[name] = used + 1

    def give_back(self, endpoint: Endpoint) -> None:
        """A request counted by `take` was not sent after all."""
        name = endpoint.name
        if name in self._limits and self._used.get(name):
            self._used[name] -= 1
