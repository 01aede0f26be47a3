"""What both kinds of stream share (`pages.PagesRun`, `bulk.BulkRun`): the workers, the units,
the delivery to the caller, the backoff timer, stopping.

    targets --(lazily, only while slots would idle)--> units (one plan each, made by the
      endpoint's paging kind) --(a kind's `_next`: what the next request carries)--> work
      --(a work slot each, `concurrency` workers; admitted by the budget)--> `_send`
      (exchange) --> outcome --> plans --> chunks of events --(bounded memory stream)-->
      the caller

A work slot is held from sending a request until the caller has consumed its records (the
request's chunk goes out `held`: its slot is released by the stream when the caller asks
for what comes after it), so a slow consumer stops new requests: at most `concurrency`
requests' pages are sent or answered and not yet consumed, whatever the number of targets
and the stream's buffer. That is also all a crash can lose of a caller who records each page
as it consumes it (the CLI's checkpoint). Retries wait in one timer task (a heap), not in a
task each. A page is in flight for its plan from `owed()` until its final outcome (backoff
included), so a unit is done exactly when its plan is.

Memory: an answer is decoded only once it holds one of `PAGES_AHEAD` landings, released
with its work slot when the caller has consumed it. So of the `concurrency` answers a slow
caller leaves waiting, all but `PAGES_AHEAD` wait as the bytes they came in, not as items
(a page of 1,000 items: 0.7 MB of JSON, 1.6 MB decoded).

Each answered page is delivered as its Records followed by a `PageDone`, and a unit's end as
its `TargetDone` or `Failure`; a stream given `resume` progress starts each target's plan
from it (seeded: the pages answered before are not asked again), which is how a killed run
resumes page by page.

The response cache (`Engine.recall`): a kind of run asks it as it reads its targets, a
batch at a time (a target's first page, `pages`; a bulk target's item, `bulk`), and before
admitting a later page of a target whose pages so far came from it; a hit is
delivered as an answer would be (the same events, the same delivery: a page's chunk takes a
work slot and a landing), without a pacing slot, a place in the rate window or a cost. The
answers fetched are kept, batched: a worker writes the batch when it is due, and the run
writes what is left when it ends. A unit asks the server from its first page the cache
did not hold (one walk of a target, one snapshot of its data: a `total_count` and an order),
and from a failure its plan goes on after (a cursor chain walked again after its token was
refused: the token may have come from the cache).
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Final, Generic, TypeVar

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectSendStream

from dfs_async.account import DailyLimitReached
from dfs_async.codes import INVALID_FIELD
from dfs_async.endpoints import Endpoint
from dfs_async.engine.exchange import Engine
from dfs_async.engine.retries import Tries
from dfs_async.errors import BudgetExhausted, Interrupted, InvalidTarget, RunStopped
from dfs_async.plan import JobPlan, PageRequest
from dfs_async.records import Event, Failure, PageDone, PageProgress, Record, TargetDone
from dfs_async.wire import Outcome

__all__ = ["PAGES_AHEAD", "Chunk", "Run", "Unit"]

log: Final = logging.getLogger("dfs_async")

# Answers a stream decodes ahead of the caller (see "Memory" in the module docstring).
PAGES_AHEAD: Final = 4

W = TypeVar("W")  # what one request carries: a unit's page, a pack of units


class Unit(msgspec.Struct, gc=False, eq=False):
    """One unit of work of a stream (a target, a query): its plan and the bookkeeping around
    it. `target` is its key (a record's `target`), `task_fields` the fields that name it in
    a task.

    `plan_or_none` is None only for a bulk target's unit until it needs one (`bulk`).

    A Struct (made in C; compared and hashed by identity) kept out of the cycle collector,
    as it holds no cycles: a bulk stream makes one per target.
    """

    target: str
    task_fields: Mapping[str, Any]
    plan_or_none: JobPlan[Any] | None
    tries: dict[int, Tries] | None = None  # per page sent and not answered (made when needed)
    failed_tries: int = 0
    queued: bool = False  # in the ready queue (may have owed pages)
    delivering: int = 0  # chunks of this unit being handed to the stream right now
    reported: bool = False  # its TargetDone / Failure is out
    skips_cache: bool = False  # its pages are asked of the server, never of the cache
    ahead: PageRequest | None = None  # its next page, handed out and looked up before its turn
    recalled: tuple[PageRequest, Any] | None = None  # a page and the cache's entry of it

    @property
    def plan(self) -> JobPlan[Any]:
        """The unit's plan, made by now (see `plan_or_none`)."""
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
            self.skips_cache = True
            return True
        if not had_failed:
            self.failed_tries = tries.sent
        return False


class Chunk:
    """Events handed to the stream together. A request's chunk is `held`: its work slot is
    released (`Run.consumed`) only when the caller has consumed it, not when it enters the
    stream's buffer."""

    __slots__ = ("events", "held")

    def __init__(self, events: list[Event], held: bool = False) -> None:
        self.events = events
        self.held = held


class Run(Generic[W]):
    """One stream: every item of every target, sent as chunks of events into `send`.

    A kind of run says what the next request carries (`_next`) and how it is admitted at
    what it may cost, sent and landed (`_send`); the rest is here. `error` holds the
    RunStopped that ended it early (account error, budget, daily limit, unreachable).
    `resume(target)` gives what an earlier run delivered of a (normalised) target, or None.
    """

    # Set up by `run`, inside the event loop.
    _send_stream: MemoryObjectSendStream[Chunk]
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
        max_active: int,
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
        self._ready: deque[Unit] = deque()
        self._active = 0  # units read and not reported
        self._max_active = max_active  # units open at most (see the kinds)
        self._targets_done = False
        self._draining = False
        self._heap: list[tuple[float, int, Unit, PageRequest]] = []
        self._seq = itertools.count()

    async def run(self, engine: Engine, send: MemoryObjectSendStream[Chunk]) -> None:
        """Run to the end (or to a stop) on `engine`, then close `send`."""
        self.engine = engine
        self._send_stream = send
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
                    try:
                        await self.engine.ready()
                    except RunStopped as exc:  # a shared pacing's Redis lost
                        self._stop(exc)
                        return
                    async with anyio.create_task_group() as requests:
                        for _ in range(self.concurrency):
                            requests.start_soon(self._worker)
                    if engine.recall is not None:
                        await engine.recall.flush(read=False)
                    outer.cancel_scope.cancel()
            finally:
                aclose = getattr(self._targets, "aclose", None)
                if aclose is not None and not self._targets_done:
                    # The caller's async generator, left part-read: close it here, in the task
                    # that iterated it (else it is finalised later, elsewhere, with a warning).
                    with anyio.move_on_after(5, shield=True):
                        await aclose()

    # -- what a kind of run does ----------------------------------------------------------

    async def _next(self) -> W | None:
        """What the next request carries, now in flight; None when nothing is left (or the
        run drains). Called by one worker at a time."""
        raise NotImplementedError

    async def _send(self, work: W) -> None:
        """Admit the request of `work` (`_admit`), send it and deliver what it brings (or
        what the cache holds of it); its work slot is released (`_free`) or handed to the
        caller's consumption."""
        raise NotImplementedError

    # -- stopping -----------------------------------------------------------------------

    def _stop(self, error: RunStopped) -> None:
        """An account error: cancel everything now (no hammering a locked account)."""
        if self.error is None:
            self.error = error
        log.debug("run stopped: %s", error)
        self._scope.cancel()

    def _drain(self, error: RunStopped) -> None:
        """The budget, a daily limit, a shared pacing's Redis lost, the caller's stop: send
        nothing more, let what is in flight land and be delivered."""
        if self.error is None:
            self.error = error
        self._draining = True
        self._wake.set()

    # -- dispatching --------------------------------------------------------------------

    async def _worker(self) -> None:
        """One of `concurrency` workers: a work slot, the next request's work, its request;
        until nothing is left. One picks at a time (`_picking`), so requests go in the order
        of the ready queue. Workers rather than a task per request: under anyio a task costs
        more than the rest of a small request's own bookkeeping."""
        recall = self.engine.recall
        while not self._draining:
            await self._work.acquire()
            async with self._picking:
                work = await self._next()
            if work is None:
                self._work.release()
                return
            try:
                await self._send(work)
            except RunStopped as exc:  # the pacing's: a daily limit, its Redis lost
                self._drain(exc)
                return
            if recall is not None and recall.due:
                await recall.flush()

    def _admit(self, worst: float) -> bool:
        """Admit a request that can cost `worst` (`Engine.admit`); False when the budget or
        a daily limit refused it, or the client was stopped: the run drains."""
        try:
            self.engine.admit(self.endpoint, worst)
        except (BudgetExhausted, DailyLimitReached, Interrupted) as exc:
            self._drain(exc)
            return False
        return True

    async def _pull(self, n: int = 1) -> list[Unit]:
        """Read up to `n` units of work: each unit, queued (and returned); a Failure for an
        invalid one, a TargetDone for one done before."""
        queued: list[Unit] = []
        for _ in range(n):
            try:
                raw = await anext(self._targets)
            except StopAsyncIteration:
                self._targets_done = True
                break
            try:
                target, fields = self.endpoint.unit(raw)
            except InvalidTarget as exc:
                await self._deliver(Chunk([self._invalid(raw, exc)]))
                continue
            plan = self._plan(self.resume(target) if self.resume is not None else None)
            unit = Unit(target, self._task_fields(fields), plan)
            self._active += 1
            if plan.done:  # every page was answered before: done without a request
                await self._deliver(Chunk([self._final(unit)]))
                continue
            self._queue(unit)
            queued.append(unit)
        return queued

    def _task_fields(self, fields: dict[str, Any]) -> Mapping[str, Any]:
        """What a unit keeps of the task fields that name it."""
        return fields

    def _invalid(self, raw: Any, exc: InvalidTarget) -> Failure:
        """The Failure of a unit of work that is not valid: no request is sent for it."""
        self.engine.stats.targets_failed += 1
        return Failure(str(raw), INVALID_FIELD, f"Invalid Field: '{exc.field}': {exc.rule}", 0)

    def _plan(self, progress: PageProgress | None) -> JobPlan[Any]:
        """A new unit's plan, seeded with what an earlier run delivered of it."""
        return self.endpoint.paging.plan(
            limit=self.limit, offset=self.offset, max_items=self.max_items, progress=progress
        )

    def _queue(self, unit: Unit) -> None:
        if not unit.queued and unit.plan.failure is None:
            unit.queued = True
            self._ready.append(unit)
        self._wake.set()

    async def _idle(self) -> None:
        """Wait for something to change (an answer, a retry due, a unit done)."""
        self._wake = anyio.Event()
        await self._wake.wait()

    # -- landing ------------------------------------------------------------------------

    def _answered(self, unit: Unit, page: PageRequest, result: Any) -> tuple[list[Event], int]:
        """`page` of `unit` was answered with `result`: the events to deliver (its Records
        and its PageDone: none for a late page of a failed unit) and how many records."""
        plan = unit.plan
        items = plan.on_result(page, result)
        unit.answered(page)
        self._queue(unit)
        target = unit.target
        events: list[Event] = [Record(target, item) for item in items]
        if plan.failure is None:
            events.append(PageDone(target, page.offset, plan.total_count, len(items), plan.cursor))
        return events, len(items)

    def _not_answered(self, unit: Unit, page: PageRequest, outcome: Outcome) -> bool:
        """`page` of `unit`, a request of its own, ended without an answer: retried after its
        backoff, failed, or the run stopped (False)."""
        step = self.engine.after(outcome, unit.tried(page), unit.target)
        if isinstance(step, float):
            self.engine.stats.count_retry(outcome.cause)
        return self._follow(unit, page, outcome, step)

    def _follow(
        self, unit: Unit, page: PageRequest, outcome: Outcome, step: float | RunStopped | None
    ) -> bool:
        """Do what `Engine.after` decided for `page` of `unit`: wait `step` seconds and ask
        again, fail it (None), or stop the run (False)."""
        if isinstance(step, RunStopped):
            self._stop(step)
            return False
        if step is None:
            if unit.fail(page, outcome):
                self._queue(unit)
            log.debug(
                "%s: page %d failed: %s %s", unit.target, page.offset, outcome.code, outcome.message
            )
        else:
            heapq.heappush(self._heap, (anyio.current_time() + step, next(self._seq), unit, page))
            self._timer_wake.set()
        return True

    def consumed(self) -> None:
        """The caller has consumed a held chunk: its request's work slot and its landing
        are free."""
        self._free(landed=True)

    def _free(self, landed: bool) -> None:
        """A request's work slot, and its landing if it took one."""
        self._work.release()
        if landed:
            self._landing.release()

    # -- completion ---------------------------------------------------------------------

    def _finished(self, unit: Unit) -> bool:
        """Its plan is done and its end not yet reported."""
        return not unit.reported and unit.plan.done

    def _final(self, unit: Unit) -> Event:
        """The unit's TargetDone or Failure; it is no longer active."""
        unit.reported = True
        self._active -= 1
        self._wake.set()
        stats = self.engine.stats
        failure = unit.plan.failure
        if failure is None:
            stats.targets_done += 1
            return TargetDone(unit.target, unit.plan.items_emitted, unit.plan.pages_done)
        stats.targets_failed += 1
        code, message = failure
        return Failure(unit.target, code, message, unit.failed_tries)

    async def _report_if_finished(self, unit: Unit) -> None:
        if unit.delivering == 0 and self._finished(unit):
            await self._deliver(Chunk([self._final(unit)]))

    async def _deliver_held(self, events: list[Event], units: Sequence[Unit]) -> bool:
        """Hand a request's `events` to the stream, held (its work slot is released once the
        caller consumed them); then the end of each of `units` (whose events these are) that
        is finished by now. False when there was nothing to hand: the work slot is still
        the sender's to free."""
        for unit in units:
            unit.delivering += 1
        self._wake.set()
        handed = False
        if events:
            await self._deliver(Chunk(events, held=True))
            handed = True
        for unit in units:
            unit.delivering -= 1
            await self._report_if_finished(unit)
        return handed

    async def _deliver(self, chunk: Chunk) -> None:
        """Hand `chunk` to the stream: at once while its buffer has room (no checkpoint: a
        request has its own awaits), else once the caller made room."""
        try:
            self._send_stream.send_nowait(chunk)
        except anyio.WouldBlock:
            await self._send_stream.send(chunk)

    # -- retries ------------------------------------------------------------------------

    async def _timer(self) -> None:
        """Give pages back to their plans when their backoff is over."""
        heap = self._heap
        while True:
            wake = self._timer_wake = anyio.Event()
            now = anyio.current_time()
            due: list[Unit] = []
            while heap and heap[0][0] <= now:
                _, _, unit, page = heapq.heappop(heap)
                unit.plan.on_retry(page)
                self._queue(unit)
                due.append(unit)
            for unit in due:
                await self._report_if_finished(unit)
            if heap:
                with anyio.move_on_after(heap[0][0] - anyio.current_time()):
                    await wake.wait()
            else:
                await wake.wait()


def _aiter(targets: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(targets, AsyncIterable):
        return aiter(targets)
    return SyncTargets(iter(targets))


class SyncTargets:
    """A plain iterator read one item at a time, as an async iterator (no generator); a bulk
    stream reads a pack's worth at once from `iterator`."""

    def __init__(self, iterator: Iterator[Any]) -> None:
        self.iterator = iterator

    def __aiter__(self) -> SyncTargets:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self.iterator)
        except StopIteration:
            raise StopAsyncIteration from None
