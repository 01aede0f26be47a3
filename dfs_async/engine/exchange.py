"""`Engine`: what every request of one client shares, and `exchange`, the one path every
request takes.

One `Engine` per open client holds the transport, the pacing (a `Pacer`: the engine asks it
for a slot and tells it of throttling, nothing more), the retry policy, the budget, the
account as read and the stats. A request goes:

    admit (the account's daily limit, the budget: `admit`, by the caller, before it commits
    to sending) -> a pacing slot and a place in the rate window -> send -> read (one task's
    `Outcome`) -> settle (what the server charged) -> feedback to the pacing (40202, 40209)

A shared pacing (`shared_limits`) keeps the daily limits itself: its slot raises
DailyLimitReached, or SharedLimitsUnavailable when its Redis is lost; nothing is sent then
and the request is settled at no cost.

The response cache (`recall`, a `Recall` when the client has one; `recalling`) is asked
before `admit`: a hit takes no slot, no place in the window and costs nothing; `exchange`
hands a delivered answer's body to the caller's `keep` for the next time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio

from dfs_async.account import (
    USER_DATA_PATH,
    Account,
    AccountInfo,
    AccountUnavailable,
    account_of,
    user_data_from,
)
from dfs_async.codes import Action
from dfs_async.endpoints import Endpoint, Price
from dfs_async.engine.budget import Budget, DailyLimits
from dfs_async.engine.retries import Tries, after
from dfs_async.errors import BudgetExhausted, Interrupted, RunStopped
from dfs_async.pacing import Pacer
from dfs_async.records import Stats
from dfs_async.retry import RetryPolicy
from dfs_async.transport import Answer, NetworkFailure, Transport
from dfs_async.wire import Outcome, encode_tasks, read

if TYPE_CHECKING:
    from dfs_async.engine.recall import Keep, Recall

__all__ = ["Engine"]

log: Final = logging.getLogger("dfs_async")


class Engine:
    """What every call of one client shares; see the module docstring.

    `reads_account`: read user_data before the first request (`ready`): its rate paces the
    client, its prices bound the budget, its daily limits stop a run before a refusal.
    `recall`: the response cache, None without one.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        pacer: Pacer,
        policy: RetryPolicy,
        stats: Stats,
        budget: Budget,
        base_url: str = "the server",
        reads_account: bool = False,
        recall: Recall | None = None,
    ) -> None:
        self.transport = transport
        self.pacer = pacer
        self.policy = policy
        self.stats = stats
        self.budget = budget
        self.base_url = base_url  # for messages only (never carries credentials)
        self.recall = recall
        self.account: Account | None = None  # once read
        self.reached = False  # the server gave some HTTP answer once (see `retries`)
        self._unread = reads_account  # the account is still to be read before a request
        self._reading = anyio.Lock()
        self._daily = DailyLimits(None)
        self._refused: tuple[int | None, str] | None = None
        self.stopping = False  # the caller stopped the client: admit nothing more

    # -- the account ---------------------------------------------------------------------

    async def ready(self) -> Account | None:
        """Read the account once, before the first request (concurrent callers wait for
        the first one); from then on the pace, the prices and the daily limits are its.
        Raises a RunStopped only when a shared pacing cannot read it (its Redis lost)."""
        if not self._unread:
            return self.account
        async with self._reading:
            if self._unread:
                account = await self._read_account()
                if account.notice is not None:
                    log.warning("%s", account.notice)
                self.pacer = pacer = self.pacer.with_rate(account.rate)
                self._daily = DailyLimits(None if pacer.keeps_daily_limits else account.info)
                self._refused = account.refused
                self.account = account
                self._unread = False
        return self.account

    async def _read_account(self) -> Account:
        """The account as the pacing reads it (a shared pacing: one read for all its
        processes)."""
        try:
            info = await self.pacer.read_account(self.user_data)
        except AccountUnavailable as exc:
            return account_of(exc)
        return account_of(info)

    async def user_data(self) -> AccountInfo:
        """The account as user_data tells it now; AccountUnavailable if it cannot be read."""
        try:
            answer = await self.transport.send("GET", USER_DATA_PATH, None)
        except Exception as exc:  # a caller's own transport raising: never an error here
            raise AccountUnavailable(f"{type(exc).__name__}: {exc}") from None
        if type(answer) is Answer:
            self.reached = True
        return user_data_from(answer)

    def price(self, endpoint: Endpoint) -> Price:
        """The account's price of `endpoint` where it lists one, else the documented one."""
        account = self.account
        return endpoint.price if account is None else account.price(endpoint)

    # -- one request ---------------------------------------------------------------------

    def recalling(self) -> Recall | None:
        """The response cache to answer a request from: None without one, and once the
        client is stopped (the request then meets `admit`, which refuses it: a stop ends a
        run at its next request, whether the cache holds its answer or not)."""
        return None if self.stopping else self.recall

    def admit(self, endpoint: Endpoint, worst: float) -> None:
        """Admit one request of `endpoint` that can cost `worst`: DailyLimitReached when the
        account's daily limit of it is used up, BudgetExhausted when it could pass the
        budget, Interrupted once the client was stopped. Then it must be sent (`exchange`),
        which settles it."""
        if self.stopping:
            raise Interrupted()
        daily = self._daily
        daily.take(endpoint)
        try:
            self.budget.reserve(worst)
        except BudgetExhausted:
            daily.give_back(endpoint)
            raise

    async def exchange(
        self,
        endpoint: Endpoint,
        task: Mapping[str, Any],
        worst: float,
        landing: anyio.Semaphore | None = None,
        keep: Keep | None = None,
    ) -> Outcome:
        """Send one request of `task` (admitted at `worst`) and read its outcome.

        `landing` (a stream's): taken between the answer and its decoding, and held by the
        caller once this returns (see `stream`, "Memory"); cancelled while waiting for it,
        the answer is still read for what it cost. `keep`: given a delivered outcome and
        the body it came in (the response cache keeps it).
        """
        if self._unread:
            await self.ready()
        if self._refused is not None:  # as the API would answer
            if landing is not None:
                await landing.acquire()
            code, message = self._refused
            return Outcome(Action.STOP, code, message)
        body = encode_tasks([task]) if endpoint.method == "POST" else None
        decoder = endpoint.decoder
        outcome: Outcome | None = None
        answer: Answer | NetworkFailure | None = None
        try:
            async with self.pacer.slot(endpoint.name) as sent_at:
                self.stats.requests += 1
                answer = await self.transport.send(endpoint.method, endpoint.path, body)
            if type(answer) is Answer:
                self.reached = True
                self.stats.answered += 1
            if landing is not None:
                await landing.acquire()
            outcome = read(answer, decoder)
        finally:
            if outcome is None and type(answer) is Answer:  # cancelled before reading it
                outcome = read(answer, decoder)
            self.budget.settle(worst, outcome.cost if outcome is not None else 0.0, endpoint.name)
        assert outcome is not None
        action = outcome.action
        if keep is not None and action is Action.DELIVER and type(answer) is Answer:
            keep(outcome, answer.body)
        elif action is Action.SLOW_DOWN:
            await self.pacer.slow_down(sent_at)
        elif action is Action.FEWER_AT_ONCE:
            await self.pacer.fewer_at_once(sent_at)
        return outcome

    def after(self, outcome: Outcome, tries: Tries, key: str) -> float | RunStopped | None:
        """What follows an outcome that delivered nothing (`retries.after`): seconds to wait
        before asking again, the RunStopped that ends the run, or None: failed for good.
        The caller counts the retry (`Stats.count_retry`): once per request."""
        return after(
            outcome, tries, self.policy, reached=self.reached, base_url=self.base_url, key=key
        )

    def delivered(self, items: int) -> None:
        """A request was answered and its `items` delivered."""
        stats = self.stats
        stats.pages += 1
        stats.items += items
