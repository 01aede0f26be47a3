"""The stream of a paged or unpaged endpoint: one request per page of one unit.

A request carries one owed page of the oldest unit that has one: started targets finish
first (a new target is read only when no unit has a page owed, and at most `UNITS_PER_SLOT`
units a work slot are open), so few targets are half-done at any moment: fewer partial
targets in a stopped run's output, less for a resume to continue.
"""

from __future__ import annotations

from typing import Any, Final

from dfs_async.codes import Action
from dfs_async.engine.stream import Run, Unit
from dfs_async.plan import PageRequest
from dfs_async.records import Event
from dfs_async.wire import build_task

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
                pages = unit.plan.owed(at_most=1)
                if pages:
                    return unit, pages[0]
                ready.popleft()
                unit.queued = False
            if not self._targets_done and self._active < self._max_active:
                await self._pull()
                continue
            if self._targets_done and self._active == 0:
                return None
            await self._idle()
        return None

    def _worst(self, work: tuple[Unit, PageRequest]) -> float:
        return self.engine.price(self.endpoint).worst(work[1].limit)

    async def _send(self, work: tuple[Unit, PageRequest], worst: float) -> None:
        """One page: its records and PageDone (and its unit's end, if this was its last) as
        one chunk, held until the caller consumed it."""
        unit, page = work
        engine, endpoint = self.engine, self.endpoint
        handed = landed = False
        try:
            unit.sent(page)
            task = build_task(endpoint, self.fields, unit.task_fields, page)
            outcome = await engine.exchange(endpoint, task, worst, self._landing)
            landed = True
            events: list[Event] = []
            if outcome.action is Action.DELIVER:
                events, items = self._answered(unit, page, outcome.result)
                engine.delivered(items)
            elif not self._not_answered(unit, page, outcome):
                return  # the run stopped
            if self._finished(unit) and unit.delivering == 0:  # its last page, or its failure
                events.append(self._final(unit))
            handed = await self._deliver_held(events, (unit,) if events else ())
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)
