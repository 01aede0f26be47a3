"""The stream of a bulk endpoint: one request per target, up to 1,000 targets a request.

Each target is a unit with a `Bulk` plan (one request, the item that names the target is its
record); the kind's `Packer` decides which waiting targets travel together in one task (a
`Pack`). The run reads a pack's worth of targets at once (`Endpoint.keys`) and keeps a full
pack for every work slot, and the next one filling.

A target gets its plan only when it needs one: when it resumes an earlier run, or when its
request ends other than answered (`_planned`). A target answered at its first request, the
common case, needs no ledger: its events are the ones its plan would give
(`Bulk.first_answers`), and a request answers a thousand of them. A response cache answers
a target's record where targets are read (`_pull_many`, `_pull`), before the packer: a pack
is made only of the targets it lacked.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, Final, cast

from dfs_async.codes import INVALID_FIELD, Action
from dfs_async.engine.stream import Chunk, Run, SyncTargets, Unit
from dfs_async.errors import InvalidTarget
from dfs_async.plan import ONLY_REQUEST, Bulk, Pack, Packer, pack_fields
from dfs_async.records import Event, PageProgress
from dfs_async.wire import Outcome, build_task

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

    def _task_fields(self, fields: dict[str, Any]) -> MappingProxyType[str, Any]:
        return IN_A_PACK

    async def _next(self) -> Pack[Unit] | None:
        """The next pack, as full as the targets allow.

        Units with an owed request enter the packer; targets are read until a pack is full
        (or the targets end), so packs are full but the last. A plain iterable of targets
        is read a pack's worth at a time (`_pull_many`), an async one target by target.
        """
        packer, ready = self.packer, self._ready
        sync = self._targets.iterator if isinstance(self._targets, SyncTargets) else None
        while not self._draining:
            while ready:
                unit = ready.popleft()
                unit.queued = False
                for page in unit.plan.owed():
                    assert page == ONLY_REQUEST, page
                    packer.add(unit, unit.target)
            room = min(packer.capacity - packer.waiting, self._max_active - self._active)
            if room > 0 and not self._targets_done:
                if sync is None:
                    await self._pull()
                else:
                    await self._pull_many(sync, room)
                continue
            pack = packer.next_pack()
            if pack is not None:
                return pack
            if self._targets_done and self._active == 0:
                return None
            await self._idle()
        return None

    def _worst(self, pack: Pack[Unit]) -> float:
        """One task: one request's price, and a row per target."""
        return self.engine.price(self.endpoint).worst(len(pack))

    async def _send(self, pack: Pack[Unit], worst: float) -> None:
        """One pack as one task; what it brings (each target's Record, PageDone and
        TargetDone or Failure, in the pack's order) as one chunk, held until the caller
        consumed it."""
        handed = landed = False
        try:
            task = build_task(self.endpoint, self.fields, pack_fields(pack.targets), ONLY_REQUEST)
            outcome = await self.engine.exchange(self.endpoint, task, worst, self._landing)
            landed = True
            if outcome.action is Action.DELIVER:
                events, pending = self._answered_pack(pack, outcome)
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

    def _answered_pack(self, pack: Pack[Unit], outcome: Outcome) -> tuple[list[Event], list[Unit]]:
        """An answered pack: each unit gets the item that names its target (none if the
        answer has none). Returns the events to deliver, in the pack's order, and the units
        whose end is not among them."""
        self.packer.on_answered(pack)
        result = outcome.result
        items = (result.items or ()) if result is not None else ()
        item_of = dict(zip(map(self._key, items), items, strict=True)).get
        stats = self.engine.stats
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

    async def _pull_many(self, targets: Iterator[Any], n: int) -> None:
        """Read up to `n` units of work from a plain iterator, as `_pull` does one by one:
        a valid one's owed request goes into the packer at once; the events of the others
        (an invalid target's Failure, the TargetDone of one a resume had finished) go out as
        one chunk. A target with no progress to resume gets no plan until it needs one."""
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
        packer = self.packer
        if valid and not any(progresses):  # the common case: all valid and fresh, at once
            names = cast("list[str]", keys)
            units = list(map(Unit, names, itertools.repeat(IN_A_PACK), itertools.repeat(None)))
            self._active += len(units)
            packer.add_many(zip(units, names, strict=True))
            return
        entries: list[tuple[Unit, str]] = []
        events: list[Event] = []
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
        packer.add_many(entries)
        if events:
            await self._deliver(Chunk(events))
