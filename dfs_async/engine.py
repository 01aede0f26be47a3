"""The engine: jobs, batches, retries and the record stream.

One `Engine` per client holds what all calls share: the transport, the pacing, the retry
policy, the budget and the stats. `Engine.exchange` is the one path every request takes
(budget, pacing, POST, decode, classify, feedback); `Engine.after` is the one decision of
what follows an outcome that delivered nothing (wait and retry, fail, stop the run).
`Engine.call` is a single request; `Run` is a stream over many units of work (targets):

    targets --(lazily, only while slots would idle)--> jobs (one plan each, made by the
      endpoint's paging kind)
      --(the oldest job with owed pages first)--> batches of up to the endpoint's
      capacity --(a work slot each, `concurrency` workers)--> exchange --> outcomes per
      task --> plan
      --> chunks of events --(bounded memory stream)--> the caller

A work slot is held from sending a batch until the caller has consumed its records (the
batch's last chunk goes out `held`: its slot is released by the stream when the
caller asks for what comes after it), so a slow consumer stops new requests: at most
`concurrency` requests' pages are sent or answered and not yet consumed, whatever the
number of targets and the stream's buffer. That is also all a crash can lose of a caller
who records each page as it consumes it (the CLI's checkpoint). Retries wait in one timer
task (a heap), not in a task each. A page is in flight for its plan from `owed()` until
its final outcome (backoff included), so a job is done exactly when its plan is.

Memory: an answer is decoded only once it holds one of `PAGES_AHEAD` landings, released
with its work slot when the caller has consumed it. So of the `concurrency` answers a slow
caller leaves waiting, all but `PAGES_AHEAD` wait as the bytes they came in, not as items
(a page of 1,000 items: 0.7 MB of JSON, 1.6 MB decoded).

Started targets finish first: a batch takes the owed pages of the oldest job in the ready
queue before the next job's, and a new target is read only when no job has a page owed. So
few targets are half-done at any moment (fewer partial targets in a stopped run's output,
less for a resume to continue). Each answered page is delivered as its Records followed by
a `PageDone`; a stream given `resume` progress starts each target's plan from it (seeded:
the pages answered before are not asked again), which is how a killed run resumes page by
page.

Unreachable, the exact rule: the engine notes whether the server ever answered (any HTTP
status, in this client's life). When a page runs out of attempts, the server has never
answered, and the page's last attempt could not even connect (a `NetworkFailure` of kind
"connect": refused, DNS failure, no route, TLS handshake refused),
every other target would fail the same way: the run (or the single call) stops with
`Unreachable` instead of failing each target after `max_attempts` of its own. Once anything
was answered, network errors are per page (retried, then that target's Failure), as any
transient error; so are read timeouts (the server took the connection: it is there).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import operator
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, cast

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectSendStream

from dfs_async.account import AccountLimits, DailyLimitReached
from dfs_async.codes import INVALID_FIELD, Action
from dfs_async.endpoints import Endpoint, Price
from dfs_async.errors import (
    AccountError,
    BudgetExhausted,
    InvalidTarget,
    RunStopped,
    TaskFailed,
    Unreachable,
)
from dfs_async.pacing import Pacer
from dfs_async.plan import ONLY_REQUEST, JobPlan, Pack, Packer, PageRequest, pack_fields
from dfs_async.records import (
    Event,
    Failure,
    Page,
    PageDone,
    PageProgress,
    Record,
    Stats,
    TargetDone,
)
from dfs_async.retry import RetryPolicy
from dfs_async.transport import Answer, NetworkFailure, Transport
from dfs_async.wire import Outcome, build_task, encode_tasks, read

__all__ = ["Budget", "Engine", "Run"]

log: Final = logging.getLogger("dfs_async")

# Answers a stream decodes ahead of the caller (see "Memory" in the module docstring).
PAGES_AHEAD: Final = 4
# The unit of a bulk endpoint's job: none of its own (see `Job`).
IN_A_PACK: Final[Mapping[str, Any]] = MappingProxyType({})
# Jobs a stream keeps open per request slot: enough that a slot freed by a finished job
# finds another job with owed pages at once, few enough that few targets are half-done
# when a run stops (less for a resume to continue).
JOBS_PER_SLOT: Final = 4


def connect_failed(outcome: Outcome) -> bool:
    """The exchange had no answer because no connection could be made (see Unreachable)."""
    return outcome.failure is not None and outcome.failure.kind == "connect"


class Budget:
    """`max_cost` for one client: a request goes out only if it cannot overshoot it.

    The bound: before each request, `spent + reserved + worst <= max_cost`, where `spent` is
    the sum of task costs the server returned, `reserved` the worst case of the requests in
    flight and `worst` that of the next one, `$0.02 + $0.00003 * limit` per task (the
    account's price where user_data lists it, else the documented one: `Engine.page_cost`).
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

    def settle(self, worst: float, charged: float) -> None:
        self.reserved = max(0.0, self.reserved - worst)
        self._stats.cost += charged


@dataclass(slots=True)
class Tries:
    """Requests sent for one page, and how many of them were free (throttled) retries."""

    sent: int = 0
    free: int = 0


class Engine:
    """What every call of one client shares; see the module docstring."""

    def __init__(
        self,
        *,
        transport: Transport,
        pacer: Pacer,
        policy: RetryPolicy,
        stats: Stats,
        budget: Budget,
        base_url: str = "the server",
        account: AccountLimits | None = None,
    ) -> None:
        self.account = account  # read before the first request (see `ready`); None: not at all
        self._account_paced = False
        self.transport = transport
        self.pacer = pacer
        self.policy = policy
        self.stats = stats
        self.budget = budget
        self.base_url = base_url  # for messages only (never carries credentials)
        self.answered = False  # the server gave some HTTP answer once (see `Unreachable`)

    async def ready(self) -> None:
        """Read the account once, before the first request (`account.AccountLimits`); from
        then on the pace, the prices and the daily limits are the account's."""
        account = self.account
        if account is None:
            return
        if not account.loaded:
            await account.load(self.transport)
        if account.answered:
            self.answered = True
        if account.pace and not self._account_paced:
            self._account_paced = True  # no await since the check: done once
            self.pacer = self.pacer.with_rate(account.rate)

    def price(self, endpoint: Endpoint) -> Price:
        """The account's price of `endpoint` where it lists one, else the documented one."""
        return endpoint.price if self.account is None else self.account.price(endpoint)

    def page_cost(self, endpoint: Endpoint, page: PageRequest) -> float:
        """The most one request of `page` can cost (an unpaged one: one row)."""
        return self.price(endpoint).worst(page.limit)

    def reserve(self, endpoint: Endpoint, worst: float) -> None:
        """Admit one request of `endpoint` that can cost `worst`: DailyLimitReached when the
        account's daily limit of it is used up, BudgetExhausted when it could pass the
        budget."""
        if self.account is not None:
            self.account.take(endpoint)
        try:
            self.budget.reserve(worst)
        except BudgetExhausted:
            if self.account is not None:
                self.account.give_back(endpoint)
            raise

    async def exchange(
        self,
        endpoint: Endpoint,
        task: Mapping[str, Any],
        worst: float,
        landing: anyio.Semaphore | None = None,
    ) -> Outcome:
        """Send one POST of `task` (its `worst` cost already reserved) and read it.

        `landing` (a stream's): taken between the answer and its decoding, and held by the
        caller once this returns (see "Memory" above); cancelled while waiting for it,
        the answer is still read for what it cost.
        """
        account = self.account
        if account is not None and not account.loaded:
            await self.ready()
        if account is not None and account.refused is not None:  # as the API would answer
            if landing is not None:
                await landing.acquire()
            code, message = account.refused
            return Outcome(Action.STOP, code, message)
        body = encode_tasks([task]) if endpoint.method == "POST" else None
        decoder = endpoint.decoder
        outcome: Outcome | None = None
        answer: Answer | NetworkFailure | None = None
        try:
            async with self.pacer.slot() as sent_at:
                self.stats.requests += 1
                answer = await self.transport.send(endpoint.method, endpoint.path, body)
            if type(answer) is Answer:
                self.answered = True
                self.stats.answered += 1
            if landing is not None:
                await landing.acquire()
            outcome = read(answer, decoder)
        finally:
            if outcome is None and type(answer) is Answer:  # cancelled before reading it
                outcome = read(answer, decoder)
            self.budget.settle(worst, outcome.cost if outcome is not None else 0.0)
        assert outcome is not None
        if outcome.action is Action.SLOW_DOWN:
            self.pacer.slow_down(sent_at)
        elif outcome.action is Action.FEWER_AT_ONCE:
            self.pacer.fewer_at_once(sent_at)
        return outcome

    def retry_delay(self, outcome: Outcome, tries: Tries) -> float | None:
        """Seconds before asking again, or None when the page has had its attempts."""
        throttled = outcome.action in (Action.SLOW_DOWN, Action.FEWER_AT_ONCE)
        if throttled and tries.free < self.policy.max_throttled:
            tries.free += 1
            self.stats.count_retry(outcome.cause)
            return self.policy.throttle_delay(tries.free)
        if self.policy.exhausted(tries.sent - tries.free):
            return None
        self.stats.count_retry(outcome.cause)
        return self.policy.delay(tries.sent - tries.free, outcome.code)

    def after(self, outcome: Outcome, tries: Tries, key: str) -> float | RunStopped | None:
        """What follows an outcome that delivered nothing: seconds to wait before asking
        again, the RunStopped that ends the run, or None when the request failed for good."""
        if outcome.action is Action.STOP:
            return AccountError(outcome.code, outcome.message)
        delay = None if outcome.action is Action.FAIL else self.retry_delay(outcome, tries)
        if delay is None and not self.answered and connect_failed(outcome):
            assert outcome.failure is not None
            return Unreachable(self.base_url, key, outcome.failure)
        return delay

    def delivered(self, items: int) -> None:
        """A request was answered and its `items` delivered."""
        self.stats.pages += 1
        self.stats.items += items

    async def call(
        self, endpoint: Endpoint, key: str, unit: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> Any:
        """One request of one unit of work (fields already checked), retried by the policy;
        what the endpoint's paging kind makes of its answer (a `Page`, or the result)."""
        page = PageRequest(
            int(fields.get("offset", 0)), int(fields.get("limit", endpoint.default_limit or 1))
        )
        task = {**fields, **unit}
        tries = Tries()
        await self.ready()
        while True:
            worst = self.page_cost(endpoint, page)
            self.reserve(endpoint, worst)
            outcome = await self.exchange(endpoint, task, worst)
            tries.sent += 1
            if outcome.action is Action.DELIVER:
                answer = endpoint.paging.answer(key, page, outcome.results, outcome.cost)
                self.delivered(len(answer.items) if isinstance(answer, Page) else 1)
                return answer
            step = self.after(outcome, tries, key)
            if isinstance(step, RunStopped):
                raise step
            if step is None:
                raise TaskFailed(key, outcome.code, outcome.message)
            log.debug("%s: %s %s, retrying in %.2fs", key, outcome.code, outcome.message, step)
            await anyio.sleep(step)


class Job(msgspec.Struct, gc=False, eq=False):
    """One unit of work of a stream (a target, a query): its plan and the bookkeeping around
    it. `target` is its key (a record's `target`), `unit` the task fields that name it
    (`IN_A_PACK` on a bulk endpoint: the task of its pack names its target, `pack_fields`).

    `plan_or_none` is None for a bulk target's job until its one request (`ONLY_REQUEST`)
    ends other than answered (`Run._planned` makes the plan then): a fresh target's answer
    needs no ledger (`Run._answered_pack`), and a bulk stream answers thousands a request.

    A Struct (made in C; compared and hashed by identity) kept out of the cycle collector,
    as it holds no cycles: a bulk stream makes one per target.
    """

    target: str
    unit: Mapping[str, Any]
    plan_or_none: JobPlan[Any] | None
    tries: dict[int, Tries] | None = None  # per page sent and not answered (made when needed)
    failed_tries: int = 0
    queued: bool = False  # in the ready queue (may have owed pages)
    delivering: int = 0  # chunks of this job being handed to the stream right now
    reported: bool = False  # its TargetDone / Failure is out

    @property
    def plan(self) -> JobPlan[Any]:
        """The job's plan, made by now (see `plan_or_none`)."""
        plan = self.plan_or_none
        assert plan is not None, f"{self.target}: no plan made"
        return plan

    def sent(self, page: PageRequest) -> Tries:
        """One more request of `page` was sent: its tries."""
        tries = self.tries
        if tries is None:
            tries = self.tries = {}
        each = tries.get(page.offset)
        if each is None:
            each = tries[page.offset] = Tries()
        each.sent += 1
        return each

    def tried(self, page: PageRequest) -> Tries:
        """The tries of `page`, sent and not answered."""
        assert self.tries is not None
        return self.tries[page.offset]

    def answered(self, page: PageRequest) -> None:
        """`page` was answered (or is walked again from the start): its tries are over."""
        if self.tries:
            self.tries.pop(page.offset, None)

    def fail(self, page: PageRequest, outcome: Outcome) -> bool:
        """The request failed for good; True when the plan goes on without it (a cursor
        chain whose token was refused is walked again: the request's tries start over)."""
        plan, tries = self.plan, self.tried(page)
        had_failed = plan.failure is not None
        plan.on_failure(page, outcome.code, outcome.message)
        if plan.failure is None:
            self.answered(page)
            return True
        if not had_failed:
            self.failed_tries = tries.sent
        return False


class Chunk:
    """Events handed to the stream together. A request's last chunk is `held`: its work
    slot is released (`Run.consumed`) only when the caller has consumed it, not when it
    enters the stream's buffer."""

    __slots__ = ("events", "held")

    def __init__(self, events: list[Event], held: bool = False) -> None:
        self.events = events
        self.held = held


class Run:
    """One stream: every item of every target, sent as chunks of events into `send`.

    `error` holds the RunStopped that ended it early (account error, budget, unreachable).
    `resume(target)` gives what an earlier run delivered of a (normalised) target, or None.
    """

    # Set up by `run`, inside the event loop.
    _send: MemoryObjectSendStream[Chunk]
    _scope: anyio.CancelScope
    _work: anyio.Semaphore
    _landing: anyio.Semaphore
    _picking: anyio.Lock
    _wake: anyio.Event
    _timer_wake: anyio.Event

    engine: Engine

    def __init__(
        self,
        endpoint: Endpoint,
        targets: Iterable[Any] | AsyncIterable[Any],
        fields: dict[str, Any],
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        concurrency: int = 30,
        resume: Callable[[str], PageProgress | None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.resume = resume
        self.fields = fields
        self.limit = limit
        self.offset = offset
        self.max_items = max_items
        self.concurrency = concurrency
        self.error: RunStopped | None = None
        self._targets = _aiter(targets)
        self._ready: deque[Job] = deque()
        self._active = 0
        # A bulk endpoint packs many jobs' requests into one task (see `_request_pack`).
        self._packer = endpoint.paging.packer()
        if self._packer is None:
            self._max_active = JOBS_PER_SLOT * concurrency
        else:  # a full pack for every slot, and the next one filling
            self._max_active = (concurrency + 1) * self._packer.capacity
        self._targets_done = False
        self._draining = False
        self._heap: list[tuple[float, int, Job, PageRequest]] = []
        self._seq = itertools.count()

    async def run(self, engine: Engine, send: MemoryObjectSendStream[Chunk]) -> None:
        """Run to the end (or to a stop) on `engine`, then close `send`."""
        self.engine = engine
        self._send = send
        self._work = anyio.Semaphore(self.concurrency, fast_acquire=True)
        self._landing = anyio.Semaphore(PAGES_AHEAD, fast_acquire=True)
        self._picking = anyio.Lock(fast_acquire=True)
        self._wake = anyio.Event()
        self._timer_wake = anyio.Event()
        async with send:
            try:
                async with anyio.create_task_group() as outer:
                    self._scope = outer.cancel_scope
                    outer.start_soon(self._timer)
                    await self.engine.ready()
                    async with anyio.create_task_group() as requests:
                        for _ in range(self.concurrency):
                            requests.start_soon(self._worker)
                    outer.cancel_scope.cancel()
            finally:
                aclose = getattr(self._targets, "aclose", None)
                if aclose is not None and not self._targets_done:
                    # The caller's async generator, left part-read: close it here, in the task
                    # that iterated it (else it is finalised later, elsewhere, with a warning).
                    with anyio.move_on_after(5, shield=True):
                        await aclose()

    # -- stopping -----------------------------------------------------------------------

    def _stop(self, error: RunStopped) -> None:
        """An account error: cancel everything now (no hammering a locked account)."""
        if self.error is None:
            self.error = error
        log.debug("run stopped: %s", error)
        self._scope.cancel()

    def _drain(self, error: RunStopped) -> None:
        """The budget: send nothing more, let what is in flight land and be delivered."""
        if self.error is None:
            self.error = error
        self._draining = True
        self._wake.set()

    # -- dispatching --------------------------------------------------------------------

    async def _worker(self) -> None:
        """One of `concurrency` workers: a work slot, the next batch, its request; until
        nothing is left. One picks at a time (`_picking`), so batches come in the order of
        the ready queue. Workers rather than a task per request: under anyio a task costs
        more than the rest of a small request's own bookkeeping."""
        capacity, endpoint = 1, self.endpoint
        while not self._draining:
            await self._work.acquire()
            async with self._picking:
                batch = pack = None
                if self._packer is None:
                    batch = await self._next_batch(capacity)
                else:
                    pack = await self._next_pack(self._packer)
                if batch is not None:
                    worst = sum(self.engine.page_cost(endpoint, page) for _, page in batch)
                elif pack is not None:  # one task: one request's price, a row per target
                    worst = self.engine.price(endpoint).worst(len(pack))
                else:
                    self._work.release()
                    return
                try:
                    self.engine.reserve(endpoint, worst)
                except (BudgetExhausted, DailyLimitReached) as exc:
                    self._work.release()
                    self._drain(exc)
                    return
            if batch is not None:
                await self._request(batch, worst)
            elif pack is not None:
                await self._request_pack(pack, worst)

    async def _next_pack(self, packer: Packer[Job]) -> Pack[Job] | None:
        """The next pack of a bulk endpoint, as full as the targets allow; None at the end.

        Jobs with an owed request enter the packer (the jobs themselves: a bulk job's one
        request is `ONLY_REQUEST`); targets are read until a pack is full (or the targets
        end), so packs are full but the last. A plain iterable of targets is read a pack's
        worth at a time (`_pull_many`), an async one target by target.
        """
        ready = self._ready
        sync = self._targets._iterator if isinstance(self._targets, _SyncTargets) else None
        while not self._draining:
            while ready:
                job = ready.popleft()
                job.queued = False
                for page in job.plan.owed():
                    assert page == ONLY_REQUEST, page
                    packer.add(job, job.target)
            room = min(packer.capacity - packer.waiting, self._max_active - self._active)
            if room > 0 and not self._targets_done:
                if sync is None:
                    await self._pull()
                else:
                    await self._pull_many(sync, packer, room)
                continue
            pack = packer.next_pack()
            if pack is not None:
                return pack
            if self._targets_done and self._active == 0:
                return None
            self._wake = anyio.Event()
            await self._wake.wait()
        return None

    async def _next_batch(self, capacity: int) -> list[tuple[Job, PageRequest]] | None:
        """Up to `capacity` pages, the oldest job's first; None when there is nothing left."""
        batch: list[tuple[Job, PageRequest]] = []
        ready = self._ready
        while not self._draining:
            while len(batch) < capacity and ready:
                job = ready[0]
                pages = job.plan.owed(at_most=capacity - len(batch))
                if pages:
                    batch.extend((job, page) for page in pages)
                else:
                    ready.popleft()
                    job.queued = False
            if len(batch) < capacity and not self._targets_done and self._active < self._max_active:
                await self._pull()
                continue
            if batch:
                return batch
            if self._targets_done and self._active == 0:
                return None
            self._wake = anyio.Event()
            await self._wake.wait()
        return None

    async def _pull(self) -> None:
        """Read one unit of work: a job, or a Failure record for an invalid one."""
        try:
            raw = await anext(self._targets)
        except StopAsyncIteration:
            self._targets_done = True
            return
        try:
            target, unit = self.endpoint.unit(raw)
        except InvalidTarget as exc:
            self.engine.stats.targets_failed += 1
            message = f"Invalid Field: '{exc.field}': {exc.rule}"
            await self._deliver(Chunk([Failure(str(raw), INVALID_FIELD, message, 0)]))
            return
        plan = self._plan(self.resume(target) if self.resume is not None else None)
        job = Job(target, unit if self._packer is None else IN_A_PACK, plan)
        self._active += 1
        if plan.done:  # every page was answered before: done without a request
            await self._deliver(Chunk([self._final(job)]))
            return
        self._queue(job)

    async def _pull_many(self, targets: Iterator[Any], packer: Packer[Job], n: int) -> None:
        """Read up to `n` units of work from a plain iterator, as `_pull` does one by one:
        a valid one's job has its owed requests put in `packer` at once; the events of the
        others (an invalid target's Failure, the TargetDone of one a resume had finished)
        go out as one chunk. A target with no progress to resume gets no plan until it needs
        one (`Job.plan_or_none`)."""
        raws = list(itertools.islice(targets, n))
        if len(raws) < n:
            self._targets_done = True
        keys = self.endpoint.keys_of(raws)
        valid = set(map(type, keys)) <= {str}
        resume = self.resume
        progresses: list[PageProgress | None] = (
            [None] * len(keys) if resume is None else [
                None if isinstance(key, InvalidTarget) else resume(key) for key in keys
            ]
        )  # fmt: skip
        if valid and not any(progresses):  # the common case: all valid and fresh, at once
            names = cast("list[str]", keys)
            jobs = list(map(Job, names, itertools.repeat(IN_A_PACK), itertools.repeat(None)))
            self._active += len(jobs)
            packer.add_many(zip(jobs, names, strict=True))
            return
        entries: list[tuple[Job, str]] = []
        events: list[Event] = []
        for raw, target, progress in zip(raws, keys, progresses, strict=True):
            if isinstance(target, InvalidTarget):  # no unit needed (`Job.unit`)
                self.engine.stats.targets_failed += 1
                message = f"Invalid Field: '{target.field}': {target.rule}"
                events.append(Failure(str(raw), INVALID_FIELD, message, 0))
                continue
            self._active += 1
            if progress is None:  # its one request is owed
                entries.append((Job(target, IN_A_PACK, None), target))
                continue
            plan = self._plan(progress)
            job = Job(target, IN_A_PACK, plan)
            if plan.done:  # every page was answered before: done without a request
                events.append(self._final(job))
                continue
            for page in plan.owed():
                assert page == ONLY_REQUEST, page
                entries.append((job, target))
        packer.add_many(entries)
        if events:
            await self._deliver(Chunk(events))

    def _plan(self, progress: PageProgress | None) -> JobPlan[Any]:
        """A new job's plan, seeded with what an earlier run delivered of it."""
        return self.endpoint.paging.plan(
            limit=self.limit, offset=self.offset, max_items=self.max_items, progress=progress
        )

    def _planned(self, job: Job, page: PageRequest) -> None:
        """Make the plan of a bulk target's job whose one request, `page`, is in flight."""
        if job.plan_or_none is None:
            plan = job.plan_or_none = self._plan(None)
            owed = plan.owed()  # in flight, as it is
            assert owed == [page], owed

    def _queue(self, job: Job) -> None:
        if not job.queued and job.plan.failure is None:
            job.queued = True
            self._ready.append(job)
        self._wake.set()

    # -- requests -----------------------------------------------------------------------

    async def _request(self, batch: list[tuple[Job, PageRequest]], worst: float) -> None:
        """Send one batch (a task per page) and deliver what it brings, job by job; the
        work slot is released once the caller consumed it."""
        handed = landed = False
        try:
            endpoint, fields = self.endpoint, self.fields
            ((job, page),) = batch
            job.sent(page)
            outcome = await self.engine.exchange(
                endpoint, build_task(endpoint, fields, job.unit, page), worst, self._landing
            )
            outcomes = [outcome]
            landed = True
            by_job: dict[Job, list[Event]] = {}
            for (job, page), outcome in zip(batch, outcomes, strict=True):
                records = self._land(job, page, outcome)
                if records is None:
                    return
                by_job.setdefault(job, []).extend(records)
            for job, events in by_job.items():
                if self._finished(job) and job.delivering == 0:
                    events.append(self._final(job))
            # One chunk for the whole request, held: its work slot is released once the
            # caller has consumed it.
            jobs = [job for job, events in by_job.items() if events]
            for job in jobs:
                job.delivering += 1
            self._wake.set()
            if jobs:
                events = by_job[jobs[0]] if len(jobs) == 1 else [
                    e for job in jobs for e in by_job[job]
                ]  # fmt: skip
                await self._deliver(Chunk(events, held=True))
                handed = True  # from now on the consumer releases the slot
            for job in jobs:
                job.delivering -= 1
                await self._report_if_finished(job)
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)

    async def _request_pack(self, pack: Pack[Job], worst: float) -> None:
        """Send a bulk pack as one task and deliver what it brings as one chunk (each
        target's Record, PageDone and TargetDone or Failure, in the pack's order); the work
        slot is released once the caller consumed it."""
        handed = landed = False
        try:
            batch = pack.keys
            task = build_task(self.endpoint, self.fields, pack_fields(pack.targets), ONLY_REQUEST)
            outcome = await self.engine.exchange(self.endpoint, task, worst, self._landing)
            landed = True
            if outcome.action is Action.DELIVER:
                events, pending = self._answered_pack(pack, outcome)
            else:
                pending = []
                outcomes = self._unpack(pack, outcome)
                if not outcomes:  # split: nothing to deliver yet
                    self._wake.set()
                    return
                for job, each in zip(batch, outcomes, strict=True):
                    if self._land(job, ONLY_REQUEST, each) is None:  # the run stopped
                        return
                events = [
                    self._final(job) for job in batch if self._finished(job) and job.delivering == 0
                ]
            self._wake.set()
            if events:
                await self._deliver(Chunk(events, held=True))
                handed = True  # from now on the consumer releases the slot
            for job in pending:
                job.delivering -= 1
                await self._report_if_finished(job)
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)

    def _answered_pack(self, pack: Pack[Job], outcome: Outcome) -> tuple[list[Event], list[Job]]:
        """An answered pack: each job gets the item that names its target (none if the
        answer has none), and the packer is told. Returns the events to deliver, per job in
        the pack's order what `_land` and `_final` would give, in one loop (counted once),
        and the jobs not finished by it (their `delivering` raised, as `_request` does).

        A job with no plan yet (answered at its first request, the common case) gets the
        events its plan would give without one: the item is the record (none without an
        item), no total or cursor, one page (`SinglePlan`; tests/test_engine_bulk.py checks
        that the two agree)."""
        assert self._packer is not None
        self._packer.on_answered(pack)
        result = outcome.result
        items = (result.items or ()) if result is not None else ()
        key = operator.attrgetter(self.endpoint.paging.key_field)  # type: ignore[attr-defined]
        get = dict(zip(map(key, items), items, strict=True)).get
        jobs, page = pack.keys, ONLY_REQUEST
        if not any(map(_PLANNED, jobs)):  # a fresh pack, the common case: all at once
            events = _unplanned_events(pack.targets, map(get, pack.targets))
            # One Record for each target with an item; the jobs end here, with their pack.
            self._answered(len(pack), len(events) - 2 * len(pack), len(pack), 0)
            return events, []
        events, pending = [], []
        add = events.append
        delivered = done = failed = 0
        for job in jobs:
            plan, target = job.plan_or_none, job.target
            if plan is None:
                unplanned = _unplanned_events((target,), (get(target),))
                events += unplanned
                delivered += len(unplanned) - 2
                done += 1
                job.reported = True
                continue
            records = plan.on_result(page, get(target))
            if job.tries is not None:  # it was sent before
                job.answered(page)
            count = len(records)
            delivered += count
            for item in records:
                add(Record(target, item))
            failure = plan.failure
            if failure is None:  # a late page of a failed job emits nothing
                add(PageDone(target, page.offset, plan.total_count, count, plan.cursor))
            if not job.reported and job.delivering == 0 and plan.done:  # as `_final`
                job.reported = True
                if failure is None:
                    done += 1
                    add(TargetDone(target, plan.items_emitted, plan.pages_done))
                else:
                    failed += 1
                    add(Failure(target, failure[0], failure[1], job.failed_tries))
            else:  # more to come: never for a Bulk plan (one request per target)
                self._queue(job)
                job.delivering += 1
                pending.append(job)
        self._answered(len(pack), delivered, done, failed)
        return events, pending

    def _answered(self, pages: int, items: int, done: int, failed: int) -> None:
        """Count what an answered pack delivered and ended (`_answered_pack`)."""
        stats = self.engine.stats
        stats.pages += pages
        stats.items += items
        stats.targets_done += done
        stats.targets_failed += failed
        self._active -= done + failed

    def _unpack(self, pack: Pack[Job], outcome: Outcome) -> list[Outcome]:
        """A pack's outcome that delivered nothing as one outcome per job, each target's
        attempt counted, and the packer told.

        Refused as invalid (40501) although each target looked valid: a pack of several is
        split and its halves owed again, free of charge to their attempts (the packer
        isolates the bad target): returns []. A pack of one is that target's failure.
        Anything else holds for each job (transient failures back off per job and re-enter
        the packer when due).
        """
        packer = self._packer
        assert packer is not None
        batch = pack.keys
        split = outcome.code == INVALID_FIELD and outcome.action is Action.FAIL and len(pack) > 1
        page = ONLY_REQUEST
        for job in batch:
            self._planned(job, page)
            tries = job.sent(page)
            if split:  # free of charge to the attempts; the plan owes it again, in a half
                tries.free += 1
                job.plan.on_retry(page)
                job.plan.owed()
        if split:
            packer.on_refused(pack)  # the halves are owed again
            return []
        if outcome.action is Action.FAIL and outcome.code == INVALID_FIELD:
            packer.on_refused(pack)  # a pack of one: its target is the bad one
        else:
            packer.on_failed(pack)  # the targets leave the packer; their jobs decide
        return [outcome] * len(batch)

    def consumed(self) -> None:
        """The caller has consumed a held chunk: its request's work slot and its landing
        are free."""
        self._free(landed=True)

    def _free(self, landed: bool) -> None:
        """A request's work slot, and its landing if it took one."""
        self._work.release()
        if landed:
            self._landing.release()

    def _land(self, job: Job, page: PageRequest, outcome: Outcome) -> list[Event] | None:
        """Tell the plan how the request ended; the records to deliver (None: the run
        stopped)."""
        engine = self.engine
        if outcome.action is Action.DELIVER:
            plan = job.plan
            items = plan.on_result(page, outcome.result)
            job.answered(page)
            engine.delivered(len(items))
            self._queue(job)
            target = job.target
            events: list[Event] = [Record(target, item) for item in items]
            if plan.failure is None:  # a late page of a failed job emits nothing
                events.append(
                    PageDone(target, page.offset, plan.total_count, len(items), plan.cursor)
                )
            return events
        step = engine.after(outcome, job.tried(page), job.target)
        if isinstance(step, RunStopped):
            self._stop(step)
            return None
        if step is None:
            if job.fail(page, outcome):
                self._queue(job)
            log.debug(
                "%s: page %d failed: %s %s", job.target, page.offset, outcome.code, outcome.message
            )
        else:
            heapq.heappush(self._heap, (anyio.current_time() + step, next(self._seq), job, page))
            self._timer_wake.set()
        return []

    # -- completion ---------------------------------------------------------------------

    def _finished(self, job: Job) -> bool:
        return not job.reported and job.plan.done

    def _final(self, job: Job) -> Event:
        """The job's TargetDone or Failure; it is no longer active."""
        job.reported = True
        self._active -= 1
        self._wake.set()
        stats = self.engine.stats
        failure = job.plan.failure
        if failure is None:
            stats.targets_done += 1
            return TargetDone(job.target, job.plan.items_emitted, job.plan.pages_done)
        stats.targets_failed += 1
        code, message = failure
        return Failure(job.target, code, message, job.failed_tries)

    async def _report_if_finished(self, job: Job) -> None:
        if job.delivering == 0 and self._finished(job):
            await self._deliver(Chunk([self._final(job)]))

    async def _deliver(self, chunk: Chunk) -> None:
        """Hand `chunk` to the stream: at once while its buffer has room (no checkpoint: a
        request has its own awaits), else once the caller made room."""
        try:
            self._send.send_nowait(chunk)
        except anyio.WouldBlock:
            await self._send.send(chunk)

    # -- retries ------------------------------------------------------------------------

    async def _timer(self) -> None:
        """Give pages back to their plans when their backoff is over."""
        heap = self._heap
        while True:
            wake = self._timer_wake = anyio.Event()
            now = anyio.current_time()
            due: list[Job] = []
            while heap and heap[0][0] <= now:
                _, _, job, page = heapq.heappop(heap)
                job.plan.on_retry(page)
                self._queue(job)
                due.append(job)
            for job in due:
                await self._report_if_finished(job)
            if heap:
                with anyio.move_on_after(heap[0][0] - anyio.current_time()):
                    await wake.wait()
            else:
                await wake.wait()


_PLANNED: Final = operator.attrgetter("plan_or_none")  # of a Job


def _unplanned_events(targets: Iterable[str], items: Iterable[Any]) -> list[Event]:
    """The events of bulk targets answered at their first request, each with its item (None
    if the answer had none), as their plans would give them (`Run._answered_pack`): the
    item's Record, the one page's PageDone (no total, no cursor) and the TargetDone."""
    events: list[Event] = []
    offset = ONLY_REQUEST.offset
    for target, item in zip(targets, items, strict=True):
        if item is None:
            events += (PageDone(target, offset, None, 0, None), TargetDone(target, 0, 1))
        else:
            events += (
                Record(target, item),
                PageDone(target, offset, None, 1, None),
                TargetDone(target, 1, 1),
            )
    return events


def _aiter(targets: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(targets, AsyncIterable):
        return aiter(targets)
    return _SyncTargets(iter(targets))


class _SyncTargets:
    """A plain iterator read one item at a time, as an async iterator (no generator)."""

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._iterator = iterator

    def __aiter__(self) -> _SyncTargets:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None
