"""What an emulator is told: its accounts, limits, corpus shape and faults.

Both configs are frozen and every field has a default, so `EmulatorConfig()` is a working
emulator (account `emulator`/`emulator`, no faults) and a test states only what it changes.
Values are checked on construction: a bad one is a ValueError naming the field.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Final

FAULT_KINDS: Final = (
    "http_500",
    "envelope_50000",
    "task_40103",
    "task_50401",
    "drop_connection",
    "truncated_body",
    "slow_trickle",
)
"""Every fault kind, in the order a request's draw is matched against their rates."""


def _check(ok: bool, name: str, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {rule}")


@dataclass(frozen=True)
class FaultConfig:
    """Injected faults, all off by default; every kind is transient.

    Each request draws one number from a generator seeded by `seed`; the kinds' rates are
    stacked in FAULT_KINDS order, so at most one fault hits a request and the rates must sum
    to at most 1. Latency (uniform in [latency_min, latency_max]) comes on top. So that every
    fault is transient even at rate 1, the same request body is faulted at most
    `max_consecutive` times in a row; the next try succeeds.

    `arrival_delay_min`/`arrival_delay_max`: a network that delays some requests more than
    others. Each rate-limited request waits uniform([min, max]) seconds (drawn from its own
    generator seeded by `seed`, so the fault draws stay as they were) *before* the account
    counts it against the per-minute limit: the server counts a request when it arrives, so
    two requests sent 1 s apart may arrive 0.2 s apart.
    """

    seed: int = 0
    latency_min: float = 0.0
    latency_max: float = 0.0
    http_500: float = 0.0
    envelope_50000: float = 0.0
    task_40103: float = 0.0
    task_50401: float = 0.0
    drop_connection: float = 0.0
    truncated_body: float = 0.0
    slow_trickle: float = 0.0
    slow_trickle_seconds: float = 1.0  # how long a trickled body takes to arrive
    max_consecutive: int = 3
    arrival_delay_min: float = 0.0
    arrival_delay_max: float = 0.0

    def __post_init__(self) -> None:
        _check(0 <= self.latency_min <= self.latency_max, "latency", "0 <= min <= max")
        arrival = 0 <= self.arrival_delay_min <= self.arrival_delay_max
        _check(arrival, "arrival_delay", "0 <= min <= max")
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            _check(0.0 <= rate <= 1.0, kind, f"a rate from 0 to 1, got {rate}")
        total = sum(self.rates.values())
        _check(total <= 1.0 + 1e-9, "faults", f"the rates sum to at most 1, got {total}")
        _check(self.slow_trickle_seconds >= 0, "slow_trickle_seconds", "at least 0")
        _check(self.max_consecutive >= 1, "max_consecutive", "at least 1")

    @property
    def rates(self) -> dict[str, float]:
        return {kind: float(getattr(self, kind)) for kind in FAULT_KINDS}

    @property
    def any(self) -> bool:
        return self.latency_max > 0 or any(self.rates.values())


@dataclass(frozen=True)
class EmulatorConfig:
    """An emulator's accounts, limits and corpus.

    Limits apply per account. `rate_limit` requests per `window_seconds` (a sliding window;
    60 s is the API's minute, a test shortens it); `max_simultaneous` requests in flight;
    `balance` in USD (None: unlimited); `daily_cost_cap` in USD per UTC day (None: none).

    The account as `GET /v3/appendix/user_data` reports it (issue 13): `per_minute` (from
    `rate_limit` and `window_seconds`), `prices` (endpoint name -> (per request, per item)
    USD, also what the emulator charges; an endpoint left out costs its spec's documented
    price), `daily_limits` (endpoint name -> requests a UTC day, refused past it with 40205,
    reported in `rates.limits.day.backlinks.<name>.live`) and `used_today` (requests already
    made today, as if by earlier runs). `user_data_fails`: user_data answers HTTP 500 (50000),
    for the clients' fallback.

    The corpus: a target's number of pages is `min_pages + (max_pages - min_pages) * u**skew`
    for a uniform u drawn from (seed, host), so most targets are small and a few are large;
    `target_sizes` pins the size of given hosts (tests and benchmarks use it).
    `corpus_cache_size` scales what the corpus keeps between answers (about 3 MB a target:
    links, page summaries, the orders of filtered lists; the default keeps the page
    summaries of a 30,000-page host): everything is rebuilt the same when dropped, so it
    trades memory for time only.

    Big hosts: a host listed in `big_hosts`, or whose first label starts with "big"
    (`big.com`, `bigshop.org`, `big-news.net`, `blog.bigsite.com` is not: first label
    `blog`), has at least `big_backlinks` live backlinks (so the `backlinks` cursor path past
    20,000 is exercised by default) and at least one page.
    Server-invalid targets: a target whose host ends in one of the reserved TLDs `.invalid`,
    `.test`, `.example`, `.localhost`, or whose host is listed in `invalid_targets`, is
    unknown to the API: a bulk task naming one is refused whole (40501).

    `task_log_size`: the tasks each account's log keeps (the last ones), which `errors` and
    `id_list` serve (emulator/tasks.py).
    """

    seed: int = 0
    accounts: Mapping[str, str] = field(
        default_factory=lambda: {"emulator": "emulator"}, repr=False
    )  # login -> password: never in a repr
    rate_limit: int = 2000
    window_seconds: float = 60.0
    max_simultaneous: int = 30
    balance: float | None = None
    daily_cost_cap: float | None = None
    min_pages: int = 0
    max_pages: int = 30_000
    size_skew: float = 5.0
    target_sizes: Mapping[str, int] = field(default_factory=dict)
    corpus_cache_size: int = 64
    big_hosts: Collection[str] = frozenset()
    big_backlinks: int = 50_000
    invalid_targets: Collection[str] = frozenset()
    faults: FaultConfig = field(default_factory=FaultConfig)
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    daily_limits: Mapping[str, int] = field(default_factory=dict)
    used_today: Mapping[str, int] = field(default_factory=dict)
    user_data_fails: bool = False
    task_log_size: int = 10_000

    def __post_init__(self) -> None:
        _check(bool(self.accounts), "accounts", "at least one login")
        for login, password in self.accounts.items():
            _check(bool(login) and ":" not in login, "accounts", "a login is non-empty, no ':'")
            _check(isinstance(password, str) and bool(password), "accounts", "empty password")
        _check(self.rate_limit >= 1, "rate_limit", "at least 1")
        _check(self.window_seconds > 0, "window_seconds", "more than 0")
        _check(self.max_simultaneous >= 1, "max_simultaneous", "at least 1")
        _check(self.balance is None or self.balance >= 0, "balance", "at least 0")
        _check(self.daily_cost_cap is None or self.daily_cost_cap >= 0, "daily_cost_cap", ">= 0")
        _check(0 <= self.min_pages <= self.max_pages, "pages", "0 <= min_pages <= max_pages")
        _check(self.size_skew > 0, "size_skew", "more than 0")
        _check(all(n >= 0 for n in self.target_sizes.values()), "target_sizes", "sizes >= 0")
        _check(self.corpus_cache_size >= 1, "corpus_cache_size", "at least 1")
        _check(self.task_log_size >= 1, "task_log_size", "at least 1")
        _check(self.big_backlinks >= 0, "big_backlinks", "at least 0")
        prices = self.prices.values()
        _check(all(a >= 0 and b >= 0 for a, b in prices), "prices", "(per request, per item) >= 0")
        _check(all(n >= 0 for n in self.daily_limits.values()), "daily_limits", "at least 0")
        _check(all(n >= 0 for n in self.used_today.values()), "used_today", "at least 0")

    @property
    def per_minute(self) -> int:
        """The rate limit as requests per minute (what `user_data` reports)."""
        return max(1, round(self.rate_limit * 60.0 / self.window_seconds))
