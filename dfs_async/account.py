"""Account awareness: what `GET /v3/appendix/user_data` says the account may do and costs.

At the start of a run (the first request of a client, once; concurrent first requests wait
for it: `Engine.ready`) the client reads user_data, unless told a rate (`rate=` / `--rate`
wins: no call) or told not to (`account_limits=False` / `--no-account-limits`); clients
sharing their limits (`shared_limits`) read it once for all of them. From it:

- **the pace**: `rates.limits.minute.total` requests a minute, less `ACCOUNT_SHARE` (2%):
  the account's per-minute limit counts every request of the account, and other requests
  may share it (another client of the account, the utility endpoints; the user_data call
  itself has its own small limit, 6 a minute, and is made once per client). The pacer keeps
  its own margin below that (`pacing.MARGIN`).
- **the daily limits**: `rates.limits.day.backlinks.<function>.live` requests a UTC day,
  less what `rates.statistics.day.backlinks.<function>.live` says was used today. A run
  stops (`DailyLimitReached`, a RunStopped) before the request the API would refuse. A
  limit of 0 or none is read as "not limited" (the schema's numbers are all nullable).
- **the prices**: `price.backlinks.<function>.live.priority_normal`, a list of
  `{cost, cost_type}` (`per_request`, `per_result`): the budget's bound and the estimates
  use them where the account lists them, the documented price (`spec.Price`) elsewhere.

If user_data cannot be read (a network error, any status but 20000, missing figures) the
client goes on with today's defaults (`DEFAULT_RATE`, the documented prices) after one
notice (a `logging` warning, `Account.notice`), never an error. An account error (bad
credentials, say) is the run's to report (`Account.refused`), with no notice.

No I/O here: the engine sends the request, this module reads the answer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from dfs_async.codes import Action
from dfs_async.endpoints import Endpoint, Price
from dfs_async.errors import DataForSEOError, RunStopped
from dfs_async.models import Envelope
from dfs_async.money import money
from dfs_async.wire import read

if TYPE_CHECKING:
    from dfs_async.transport import Answer, NetworkFailure

__all__ = [
    "ACCOUNT_SHARE",
    "DEFAULT_RATE",
    "USER_DATA_PATH",
    "Account",
    "AccountInfo",
    "AccountUnavailable",
    "DailyLimitReached",
    "account_of",
    "parse_user_data",
    "user_data_from",
]

USER_DATA_PATH: Final = "/v3/appendix/user_data"
# Requests a minute when the account's figure is unknown (the historical limit).
DEFAULT_RATE: Final = 2000.0
# The share of the account's per-minute limit left to its other requests.
ACCOUNT_SHARE: Final = 0.02


class AccountUnavailable(DataForSEOError):
    """user_data could not be read (`reason` says why; `status_code` when the API said)."""

    def __init__(
        self, reason: str, status_code: int | None = None, stop: bool = False, message: str = ""
    ) -> None:
        super().__init__(f"cannot read the account (user_data): {reason}")
        self.reason = reason
        self.status_code = status_code
        self.stop = stop  # an account error (credentials, ...): the run would stop anyway
        self.message = message or reason


class DailyLimitReached(RunStopped):
    """The account's daily limit of a function is used up: the next request would be
    refused. It resets at 00:00 UTC."""

    def __init__(self, function: str, limit: int, used: int) -> None:
        super().__init__(
            f"daily limit reached: the account allows {limit:,} {function} requests a day"
            f" and {used:,} were made today; it resets at 00:00 UTC"
        )
        self.function = function
        self.limit = limit
        self.used = used


class UserDataResult(msgspec.Struct, gc=False):
    """A user_data result (`AppendixUserDataResultInfo`), lenient: the nested parts are read
    field by field (`parse_user_data`), so a drifted shape loses a figure, not the answer."""

    login: str | None = None
    timezone: str | None = None
    rates: Any = None
    money: Any = None
    price: Any = None
    backlinks_subscription_expiry_date: str | None = None


_DECODER: Final = msgspec.json.Decoder(Envelope[UserDataResult])


@dataclass(frozen=True)
class AccountInfo:
    """What the account says about itself; None (or empty) where it says nothing."""

    login: str | None = None
    timezone: str | None = None
    per_minute: float | None = None  # rates.limits.minute.total
    balance: float | None = None  # money.balance, USD
    deposited: float | None = None  # money.total, USD
    spent_today: float | None = None  # money.statistics.day.total, USD
    daily_cost_cap: float | None = None  # money.limits.day.total, USD
    daily_limits: dict[str, int] = field(default_factory=dict)  # backlinks function -> a day
    used_today: dict[str, int] = field(default_factory=dict)  # backlinks function -> today
    prices: dict[str, Price] = field(default_factory=dict)  # backlinks function -> price
    backlinks_expiry: str | None = None

    def price(self, endpoint: Endpoint) -> Price:
        """The account's price of `endpoint`, else the documented one."""
        return self.prices.get(endpoint.name, endpoint.price)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    """A count of requests: a number, or `{"live": n}` (the schema's per-function shape)."""
    number = _number(value.get("live") if isinstance(value, dict) else value)
    return None if number is None or number < 0 else int(number)


def _price(entry: Any) -> Price | None:
    """`{"live": {"priority_normal": [{"cost", "cost_type"}, ...]}}` as a Price."""
    live = _dig(entry, "live")
    tiers = None
    for tier in ("priority_normal", "priority_low", "priority_high"):
        tiers = _dig(live, tier)
        if isinstance(tiers, list) and tiers:
            break
    if not isinstance(tiers, list):
        return None
    per_request = per_item = None
    for part in tiers:
        cost = _number(_dig(part, "cost"))
        if cost is None or cost < 0:
            continue
        kind = _dig(part, "cost_type")
        if kind == "per_request":
            per_request = (per_request or 0.0) + cost
        elif kind == "per_result":
            per_item = (per_item or 0.0) + cost
    if per_request is None and per_item is None:
        return None
    return Price(per_request=per_request or 0.0, per_item=per_item or 0.0)


def parse_user_data(result: UserDataResult) -> AccountInfo:
    """The figures of a user_data result; whatever is missing or malformed stays None."""
    rates, money = result.rates, result.money
    minute = _dig(rates, "limits", "minute")
    per_minute = _number(_dig(minute, "total") if isinstance(minute, dict) else minute)
    limits = _dig(rates, "limits", "day", "backlinks")
    used = _dig(rates, "statistics", "day", "backlinks")
    daily = {}
    if isinstance(limits, dict):
        for name, value in limits.items():
            count = _count(value)
            if count:  # 0 or none: not limited
                daily[name] = count
    today = {}
    if isinstance(used, dict):
        for name, value in used.items():
            count = _count(value)
            if count is not None:
                today[name] = count
    prices = {}
    listed = _dig(result.price, "backlinks")
    if isinstance(listed, dict):
        for name, entry in listed.items():
            price = _price(entry)
            if price is not None:
                prices[name] = price
    return AccountInfo(
        login=result.login,
        timezone=result.timezone,
        per_minute=per_minute if per_minute is not None and per_minute > 0 else None,
        balance=_number(_dig(money, "balance")),
        deposited=_number(_dig(money, "total")),
        spent_today=_number(_dig(money, "statistics", "day", "total")),
        daily_cost_cap=_number(_dig(money, "limits", "day", "total")),
        daily_limits=daily,
        used_today=today,
        prices=prices,
        backlinks_expiry=result.backlinks_subscription_expiry_date,
    )


def user_data_from(answer: Answer | NetworkFailure) -> AccountInfo:
    """The figures of a user_data answer (the call is free: no task, no cost), or
    AccountUnavailable (its `status_code` None when the server gave no answer at all)."""
    outcome = read(answer, _DECODER)
    if outcome.action is not Action.DELIVER:
        reason = f"{outcome.code} {outcome.message}" if outcome.code else outcome.message
        stop = outcome.action is Action.STOP
        raise AccountUnavailable(reason, outcome.code, stop=stop, message=outcome.message)
    if not isinstance(outcome.result, UserDataResult):
        raise AccountUnavailable("the answer holds no result", outcome.code)
    return parse_user_data(outcome.result)


class Account(msgspec.Struct, frozen=True):
    """The account as a client read it, before its first request.

    `info` is what user_data said (None when it could not be read: `notice` says why);
    `rate` the requests a minute the client paces at (the account's limit less
    `ACCOUNT_SHARE`, or `DEFAULT_RATE` when it lists none); `refused` the status code and
    message when the account refused the lookup itself (bad credentials, ...): every request
    would be refused the same way, so none is sent.
    """

    info: AccountInfo | None
    rate: float
    notice: str | None = None
    refused: tuple[int | None, str] | None = None

    def price(self, endpoint: Endpoint) -> Price:
        """The account's price of `endpoint` where it lists one, else the documented one."""
        return endpoint.price if self.info is None else self.info.price(endpoint)

    def __repr__(self) -> str:
        info = self.info
        shown = [f"rate={self.rate:,.0f}/min"]
        if info is not None:
            shown.insert(0, f"login={info.login!r}")
            if info.balance is not None:
                shown.append(f"balance={money(info.balance)}")
        if self.refused is not None:
            shown.append(f"refused={self.refused[0]} {self.refused[1]!r}")
        if self.notice is not None:
            shown.append(f"notice={self.notice!r}")
        return f"Account({', '.join(shown)})"


def account_of(read: AccountInfo | AccountUnavailable) -> Account:
    """The account a client goes by, from what its read of user_data gave; never raises."""
    if isinstance(read, AccountUnavailable):
        if read.stop:
            return Account(None, DEFAULT_RATE, refused=(read.status_code, read.message))
        return unread(read.reason)
    if read.per_minute is None:
        return unread("it lists no per-minute limit (rates.limits.minute)", read)
    return Account(read, read.per_minute * (1.0 - ACCOUNT_SHARE))


def unread(reason: str, info: AccountInfo | None = None) -> Account:
    """The defaults, with the one notice that says why."""
    notice = (
        f"could not read the account's limits and prices (user_data: {reason}):"
        f" pacing at {DEFAULT_RATE:,.0f} requests a minute, documented prices"
    )
    return Account(info, DEFAULT_RATE, notice=notice)
