"""The stream of a paged or unpaged endpoint: one request per page of one unit.

A request carries one owed page of the oldest unit that has one: started targets finish
first (a new target is read only when no unit has a page owed, and at most `UNITS_PER_SLOT`
units a work slot are open), so few targets are half-done at any moment: fewer partial
targets in a stopped run's output, less for a resume to continue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from dfs_async.codes import Action
from dfs_async.engine.stream import Run, Unit
from dfs_async.plan import PageRequest
from dfs_async.records import Event
from dfs_async.wire import build_task

if TYPE_CHECKING:
    from dfs_async.engine.recall import Recall

__all__ = ["UNITS_PER_SLOT", "PagesRun"]

# Units a stream keeps open per request slot: enough that a slot freed by a finished unit
# finds another unit with owed pages at once, few enough that few targets are half-done
# when a run stops (less for a resume to continue).
UNITS_PER_SLOT: Final = 4


class PagesRun(Run[tuple[Unit, PageRequest]]):
    """Every page of every unit, a request each; see the module docstring."""

    def __init__(self, *args: Any, concurrency: int = 30, **kwargs: Any) -> None:
        super().__init__(
            *args, concurrency=concurrency, max_active=UNITS_PER_SLOT * concurrency, **kwargs
        )

    async def _next(self) -> tuple[Unit, PageRequest] | None:
        """The oldest unit's next owed page."""
        ready = self._ready
        while not self._draining:
            while ready:
                unit = ready[0]
                if unit.ahead is not None:
                    page, unit.ahead = unit.ahead, None
                    return unit, page
                pages = unit.plan.owed(at_most=1)
                if pages:
                    return unit, pages[0]
                ready.popleft()
                unit.queued = False
            if not self._targets_done and self._active < self._max_active:
                recall = self.engine.recalling()
                if recall is None:
                    await self._pull()
                else:  # a batch of targets, their first pages looked up at once
                    n = min(self.concurrency, self._max_active - self._active)
                    await self._look_ahead(recall, await self._pull(n))
                continue
            if self._targets_done and self._active == 0:
                return None
            await self._idle()
        return None

    async def _look_ahead(self, recall: Recall, units: list[Unit]) -> None:
        """Hand out each unit's first page and look them all up in the cache at once: a
        unit the cache holds it of keeps the entry for `_send`; one it does not asks the
        server from then on (`Unit.skips_cache`)."""
        endpoint, pages = self.endpoint, []
        for unit in units:
            owed = unit.plan.owed(at_most=1)
            if owed:
                unit.ahead = owed[0]
                pages.append((unit, owed[0]))
        keys = [
            recall.key(endpoint, build_task(endpoint, self.fields, unit.task_fields, page))
            for unit, page in pages
        ]
        for (unit, page), entry in zip(pages, await recall.entries(keys), strict=True):
            if entry is None:
                unit.skips_cache = True
            else:
                unit.recalled = (page, entry)

    async def _send(self, work: tuple[Unit, PageRequest]) -> None:
        """One page: its records and PageDone (and its unit's end, if this was its last) as
        one chunk, held until the caller consumed it; from the cache if it holds the page
        (and the unit does not `skips_cache`), else from the server (and kept)."""
        unit, page = work
        engine, endpoint = self.engine, self.endpoint
        handed = landed = False
        try:
            task = build_task(endpoint, self.fields, unit.task_fields, page)
            recall = engine.recalling()
            keep = None
            if recall is not None:
                key = recall.key(endpoint, task)
                ahead, entry = unit.recalled, None
                if ahead is not None and ahead[0] is page:
                    unit.recalled, entry = None, ahead[1]
                elif not unit.skips_cache:
                    [entry] = await recall.entries((key,))
                    unit.skips_cache = entry is None
                if entry is not None:
                    await self._landing.acquire()
                    landed = True
                    hit = recall.decoded(endpoint, entry)
                    if hit is not None:
                        recalled, items = self._answered(unit, page, hit.result)
                        recall.served(1, items, hit.cost)
                        handed = await self._deliver_page(unit, recalled)
                        return
                    self._landing.release()
                    landed = False
                    unit.skips_cache = True  # not the endpoint's answer: a miss
                keep = recall.keeper(key, page)
            worst = engine.price(endpoint).worst(page.limit)
            if not self._admit(worst):
                return
            unit.sent(page)
            outcome = await engine.exchange(endpoint, task, worst, self._landing, keep)
            landed = True
            events: list[Event] = []
            if outcome.action is Action.DELIVER:
                events, items = self._answered(unit, page, outcome.result)
                engine.delivered(items)
            elif not self._not_answered(unit, page, outcome):
                return  # the run stopped
            handed = await self._deliver_page(unit, events)
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)

    async def _deliver_page(self, unit: Unit, events: list[Event]) -> bool:
        """A page's events, and its unit's end if this was its last page (or its failure),
        handed held (`_deliver_held`)."""
        if self._finished(unit) and unit.delivering == 0:
            events.append(self._final(unit))
        return await self._deliver_held(events, (unit,) if events else ())
