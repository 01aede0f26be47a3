"""The account side of the API: who may call, how often, how many at once, and the money.

One `Account` per configured login. Its checks run before the task is worked on, in the
order the API would refuse: rate (40202), simultaneous requests (40209); money (40210, 40203)
is checked once the task's cost is known, so a refused task is never charged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections import deque
from datetime import UTC, datetime

from dfs_async.emulator.config import EmulatorConfig


class Account:
    """The state of one login: its recent requests, requests in flight and spending."""

    def __init__(self, login: str, config: EmulatorConfig) -> None:
        self.login = login
        self._config = config
        self._recent: deque[float] = deque()  # accepted requests within the window
        self.in_flight = 0
        self.spent = 0.0
        self._day = ""
        self.spent_today = 0.0
        self.used_today: dict[str, int] = dict(config.used_today)  # requests by function

    def refuse_daily(self, function: str) -> int | None:
        """40205 if `function`'s daily request limit is used up, else None (and the request
        is counted against it)."""
        self._today_spent()
        used = self.used_today.get(function, 0)
        limit = self._config.daily_limits.get(function)
        if limit is not None and used >= limit:
            return 40205
        self.used_today[function] = used + 1
        return None

    def admit(self, now: float | None = None) -> int | None:
        """None if the request may go on (and it is counted), else 40202."""
        now = time.monotonic() if now is None else now
        horizon = now - self._config.window_seconds
        recent = self._recent
        while recent and recent[0] <= horizon:
            recent.popleft()
        if len(recent) >= self._config.rate_limit:
            return 40202
        recent.append(now)
        return None

    def too_many_at_once(self) -> bool:
        """Whether the request just counted in `in_flight` exceeds the cap (40209)."""
        return self.in_flight > self._config.max_simultaneous

    @property
    def balance(self) -> float | None:
        """What is left of the balance (None: unlimited)."""
        if self._config.balance is None:
            return None
        return max(0.0, self._config.balance - self.spent)

    def refuse_cost(self, cost: float) -> int | None:
        """40210 if the balance cannot pay `cost`, 40203 if the daily cap would be passed."""
        balance = self.balance
        if balance is not None and cost > balance + 1e-12:
            return 40210
        cap = self._config.daily_cost_cap
        if cap is not None and self._today_spent() + cost > cap + 1e-12:
            return 40203
        return None

    def charge(self, cost: float) -> None:
        self._today_spent()
        self.spent += cost
        self.spent_today += cost

    def today(self) -> float:
        """What was spent today (UTC); a new day starts the day's counts over."""
        return self._today_spent()

    def _today_spent(self) -> float:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if day != self._day:
            if self._day:  # a new day: the counts start over
                self.used_today = {}
            self._day, self.spent_today = day, 0.0
        return self.spent_today


def authenticate(
    header: bytes | None, accounts: dict[str, Account], config: EmulatorConfig
) -> Account | None:
    """The account of a Basic `Authorization` header, or None if it does not match one."""
    if not header or header[:6].lower() != b"basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, password = decoded.partition(":")
    expected = config.accounts.get(login)
    if not sep or expected is None:
        return None
    if not hmac.compare_digest(password.encode(), expected.encode()):
        return None
    return accounts[login]
