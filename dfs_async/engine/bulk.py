"""The stream of a bulk endpoint: one request per target, up to 1,000 targets a request.

Each target is a unit with a `Bulk` plan (one request, the item that names the target is its
record); the kind's `Packer` decides which waiting targets travel together in one task (a
`Pack`). The run reads a pack's worth of targets at once (`Endpoint.keys`) and keeps a full
pack for every work slot, and the next one filling.

A target gets its plan only when it needs one: when it resumes an earlier run, or when its
request ends other than answered (`_planned`). A target answered at its first request, the
common case, needs no ledger: its events are the ones its plan would give
(`Bulk.first_answers`), and a request answers a thousand of them.

The response cache answers a target's record where targets are read (`_take`), a read's
worth of targets looked up at once, before the packer: a pack is made only of the targets
the cache lacked, and its answer is kept whole, with the targets it holds (`held`).
"""

from __future__ import annotations

import itertools
import operator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from dfs_async.codes import INVALID_FIELD, Action
from dfs_async.engine.stream import Chunk, Run, SyncTargets, Unit
from dfs_async.errors import InvalidTarget
from dfs_async.plan import ONLY_REQUEST, Bulk, Pack, Packer, pack_fields
from dfs_async.records import Event, PageProgress
from dfs_async.wire import Outcome, build_task

if TYPE_CHECKING:
    from dfs_async.engine.held import Held
    from dfs_async.engine.recall import Recall

__all__ = ["BulkRun"]

# A bulk unit's task fields: none of its own (its pack's task names it: `pack_fields`).
IN_A_PACK: Final[MappingProxyType[str, Any]] = MappingProxyType({})
_PLANNED: Final = operator.attrgetter("plan_or_none")  # of a Unit


class BulkRun(Run[Pack[Unit]]):
    """Every target of a bulk endpoint, packed; see the module docstring."""

    def __init__(self, *args: Any, kind: Bulk, concurrency: int = 30, **kwargs: Any) -> None:
        self.kind = kind
        self.packer: Packer[Unit] = kind.packer()
        # a full pack for every slot, and the next one filling
        active = (concurrency + 1) * self.packer.capacity
        super().__init__(*args, concurrency=concurrency, max_active=active, **kwargs)
        self._key = operator.attrgetter(kind.key_field)  # of an item: the target it names
        self._held: Held | None = None  # the cache's answers of this run's fields, if asked

    def _task_fields(self, fields: dict[str, Any]) -> MappingProxyType[str, Any]:
        return IN_A_PACK

    async def _next(self) -> Pack[Unit] | None:
        """The next pack, as full as the targets allow.

        Units with an owed request enter the packer; targets are read until a pack is full
        (or the targets end), so packs are full but the last: a pack's worth at a time
        (`_read`, `_take`).
        """
        packer, ready = self.packer, self._ready
        while not self._draining:
            while ready:
                unit = ready.popleft()
                unit.queued = False
                for page in unit.plan.owed():
                    assert page == ONLY_REQUEST, page
                    packer.add(unit, unit.target)
            room = min(packer.capacity - packer.waiting, self._max_active - self._active)
            if room > 0 and not self._targets_done:
                await self._take(await self._read(room))
                continue
            pack = packer.next_pack()
            if pack is not None:
                return pack
            if self._targets_done and self._active == 0:
                return None
            await self._idle()
        return None

    async def _send(self, pack: Pack[Unit]) -> None:
        """One pack as one task (admitted at one request's price and a row per target); what
        it brings (each target's Record, PageDone and TargetDone or Failure, in the pack's
        order) as one chunk, held until the caller consumed it."""
        handed = landed = False
        try:
            worst = self.engine.price(self.endpoint).worst(len(pack))
            if not self._admit(worst):
                return
            task = build_task(self.endpoint, self.fields, pack_fields(pack.targets), ONLY_REQUEST)
            body: list[bytes] = []  # the answer's, for the cache
            keep = None if self.engine.recall is None else (lambda _, b: body.append(b))
            outcome = await self.engine.exchange(self.endpoint, task, worst, self._landing, keep)
            landed = True
            if outcome.action is Action.DELIVER:
                events, pending = self._answered_pack(pack, outcome, body)
            else:
                if not self._unpack(pack, outcome):
                    return  # split, or the run stopped: nothing to deliver yet
                pending = []
                events = [
                    self._final(unit)
                    for unit in pack.keys
                    if self._finished(unit) and unit.delivering == 0
                ]
            handed = await self._deliver_held(events, pending)
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)

    def _answered_pack(
        self, pack: Pack[Unit], outcome: Outcome, body: list[bytes]
    ) -> tuple[list[Event], list[Unit]]:
        """An answered pack (in `body`, if the cache keeps it): each unit gets the item that
        names its target (none if the answer has none). Returns the events to deliver, in
        the pack's order, and the units whose end is not among them."""
        self.packer.on_answered(pack)
        result = outcome.result
        items = (result.items or ()) if result is not None else ()
        by_target = dict(zip(map(self._key, items), items, strict=True))
        item_of = by_target.get
        engine = self.engine
        if engine.recall is not None and result is not None and body:
            if self._held is None:  # no lookup in this run (a resumed one's targets)
                self._held = engine.recall.held(self.endpoint, self.fields)
            self._held.keep(by_target, len(pack.targets), body[0], outcome.cost)
        stats = engine.stats
        stats.pages += 1
        units = pack.keys
        if not any(map(_PLANNED, units)):  # a fresh pack, the common case: all at once
            fresh, records = self.kind.first_answers(pack.targets, map(item_of, pack.targets))
            stats.items += records
            stats.targets_done += len(pack)
            self._active -= len(pack)
            return fresh, []
        events: list[Event] = []
        pending: list[Unit] = []
        for unit in units:
            item = item_of(unit.target)
            if unit.plan_or_none is None:
                answered, records = self.kind.first_answers((unit.target,), (item,))
                unit.reported = True
                stats.targets_done += 1
                self._active -= 1
            else:
                answered, records = self._answered(unit, ONLY_REQUEST, item)
                if self._finished(unit) and unit.delivering == 0:
                    answered.append(self._final(unit))
                else:
                    pending.append(unit)
            events += answered
            stats.items += records
        return events, pending

    def _unpack(self, pack: Pack[Unit], outcome: Outcome) -> bool:
        """A pack's outcome that delivered nothing, for each of its units: each target's
        attempt counted, the packer told. False when there is nothing to deliver.

        Refused as invalid (40501) although each target looked valid: a pack of several is
        split and its halves owed again, free of charge to their attempts (the packer
        isolates the bad target). A pack of one is that target's failure. Anything else
        holds for each unit (transient failures back off per unit and re-enter the packer
        when due).
        """
        packer, units = self.packer, pack.keys
        refused = outcome.code == INVALID_FIELD and outcome.action is Action.FAIL
        split = refused and len(pack) > 1
        page = ONLY_REQUEST
        for unit in units:
            self._planned(unit)
            tries = unit.sent(page)
            if split:  # free of charge to the attempts; the plan owes it again, in a half
                tries.free += 1
                unit.plan.on_retry(page)
                unit.plan.owed()
        if split:
            packer.on_refused(pack)  # the halves are owed again
            self._wake.set()
            return False
        if refused:
            packer.on_refused(pack)  # a pack of one: its target is the bad one
        else:
            packer.on_failed(pack)  # the targets leave the packer; their units decide
        engine = self.engine
        steps = [engine.after(outcome, unit.tried(page), unit.target) for unit in units]
        if any(isinstance(step, float) for step in steps):  # one request to retry
            engine.stats.count_retry(outcome.cause)
        return all(
            map(self._follow, units, itertools.repeat(page), itertools.repeat(outcome), steps)
        )

    def _planned(self, unit: Unit) -> None:
        """Make the plan of a unit whose one request is in flight, if it has none yet."""
        if unit.plan_or_none is None:
            plan = unit.plan_or_none = self._plan(None)
            owed = plan.owed()  # in flight, as it is
            assert owed == [ONLY_REQUEST], owed

    async def _read(self, n: int) -> list[Any]:
        """Up to `n` units of work from the targets; fewer when they end."""
        targets = self._targets
        if isinstance(targets, SyncTargets):
            raws = list(itertools.islice(targets.iterator, n))
        else:
            raws = []
            try:
                while len(raws) < n:
                    raws.append(await anext(targets))
            except StopAsyncIteration:
                pass
        if len(raws) < n:
            self._targets_done = True
        return raws

    async def _take(self, raws: list[Any]) -> None:
        """Units of work read (`_read`), as `_pull` takes one: a valid one's owed request
        goes into the packer at once, unless the cache holds its target's item; the events
        of the others (an invalid target's Failure, the TargetDone of one a resume had
        finished, a cached target's Record, PageDone and TargetDone) go out as one chunk.
        A target with no progress to resume gets no plan until it needs one."""
        keys = self.endpoint.keys_of(raws)
        valid = set(map(type, keys)) <= {str}
        resume = self.resume
        progresses: list[PageProgress | None] = (
            [None] * len(keys) if resume is None else [
                None if isinstance(key, InvalidTarget) else resume(key) for key in keys
            ]
        )  # fmt: skip
        packer, recall = self.packer, self.engine.recalling()
        if valid and not any(progresses):  # the common case: all valid and fresh, at once
            names = cast("list[str]", keys)
            events: list[Event] = []
            if recall is not None:
                names, events = await self._recall_fresh(recall, names)
            units = list(map(Unit, names, itertools.repeat(IN_A_PACK), itertools.repeat(None)))
            self._active += len(units)
            packer.add_many(zip(units, names, strict=True))
            if events:
                await self._deliver(Chunk(events))
            return
        entries: list[tuple[Unit, str]] = []
        events = []
        for raw, target, progress in zip(raws, keys, progresses, strict=True):
            if isinstance(target, InvalidTarget):
                events.append(self._invalid(raw, target))
                continue
            self._active += 1
            if progress is None:  # its one request is owed
                entries.append((Unit(target, IN_A_PACK, None), target))
                continue
            plan = self._plan(progress)
            unit = Unit(target, IN_A_PACK, plan)
            if plan.done:  # every page was answered before: done without a request
                events.append(self._final(unit))
                continue
            for page in plan.owed():
                assert page == ONLY_REQUEST, page
                entries.append((unit, target))
        if recall is not None and entries:
            entries = await self._recall_units(recall, entries, events)
        packer.add_many(entries)
        if events:
            await self._deliver(Chunk(events))

    async def _lookup(self, recall: Recall, targets: list[str]) -> list[Any]:
        """The item the cache holds of each of `targets` (None: a miss); the cache's log of
        this run's answers is read at the run's first lookup (see `held`)."""
        if self._held is None:
            self._held = recall.held(self.endpoint, self.fields)
            await self._held.start()
        return await recall.items(self._held, self.endpoint, targets)

    async def _recall_fresh(
        self, recall: Recall, targets: list[str]
    ) -> tuple[list[str], list[Event]]:
        """Fresh targets: those the cache lacks, and the events of those it holds."""
        items = await self._lookup(recall, targets)
        if items.count(None) == len(items):  # none held
            return targets, []
        held = [(t, item) for t, item in zip(targets, items, strict=True) if item is not None]
        events, _ = self.kind.first_answers([t for t, _ in held], [item for _, item in held])
        self.engine.stats.targets_done += len(held)
        return [t for t, item in zip(targets, items, strict=True) if item is None], events

    async def _recall_units(
        self, recall: Recall, entries: list[tuple[Unit, str]], events: list[Event]
    ) -> list[tuple[Unit, str]]:
        """Units owing their request: those the cache lacks; the events of those it holds
        are added to `events` (as their request's answer would give them)."""
        items = await self._lookup(recall, [target for _, target in entries])
        lacking: list[tuple[Unit, str]] = []
        for (unit, target), item in zip(entries, items, strict=True):
            if item is None:
                lacking.append((unit, target))
            elif unit.plan_or_none is None:
                events += self.kind.first_answers((target,), (item,))[0]
                unit.reported = True
                self._active -= 1
                self.engine.stats.targets_done += 1
            else:  # a resumed target whose request is owed
                events += self._answered(unit, ONLY_REQUEST, item)[0]
                events.append(self._final(unit))
        return lacking
