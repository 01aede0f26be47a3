"""The stream of a paged or unpaged endpoint: one request per page of one job.

A request carries one owed page of the oldest job that has one: started targets finish
first (a new target is read only when no job has a page owed, and at most `JOBS_PER_SLOT`
jobs a work slot are open), so few targets are half-done at any moment: fewer partial
targets in a stopped run's output, less for a resume to continue.
"""

from __future__ import annotations

from typing import Any, Final

from dfs_async.codes import Action
from dfs_async.engine.stream import Job, Run
from dfs_async.plan import PageRequest
from dfs_async.records import Event
from dfs_async.wire import build_task

__all__ = ["JOBS_PER_SLOT", "PagesRun"]

# Jobs a stream keeps open per request slot: enough that a slot freed by a finished job
# finds another job with owed pages at once, few enough that few targets are half-done
# when a run stops (less for a resume to continue).
JOBS_PER_SLOT: Final = 4


class PagesRun(Run[tuple[Job, PageRequest]]):
    """Every page of every job, a request each; see the module docstring."""

    def __init__(self, *args: Any, concurrency: int = 30, **kwargs: Any) -> None:
        super().__init__(
            *args, concurrency=concurrency, max_active=JOBS_PER_SLOT * concurrency, **kwargs
        )

    async def _next(self) -> tuple[Job, PageRequest] | None:
        """The oldest job's next owed page."""
        ready = self._ready
        while not self._draining:
            while ready:
                job = ready[0]
                pages = job.plan.owed(at_most=1)
                if pages:
                    return job, pages[0]
                ready.popleft()
                job.queued = False
            if not self._targets_done and self._active < self._max_active:
                await self._pull()
                continue
            if self._targets_done and self._active == 0:
                return None
            await self._idle()
        return None

    def _worst(self, work: tuple[Job, PageRequest]) -> float:
        return self.engine.price(self.endpoint).worst(work[1].limit)

    async def _send(self, work: tuple[Job, PageRequest], worst: float) -> None:
        """One page: its records and PageDone (and its job's end, if this was its last) as
        one chunk, held until the caller consumed it."""
        job, page = work
        engine, endpoint = self.engine, self.endpoint
        handed = landed = False
        try:
            job.sent(page)
            task = build_task(endpoint, self.fields, job.unit, page)
            outcome = await engine.exchange(endpoint, task, worst, self._landing)
            landed = True
            events: list[Event] = []
            if outcome.action is Action.DELIVER:
                events, items = self._answered(job, page, outcome.result)
                engine.delivered(items)
            elif not self._not_answered(job, page, outcome):
                return  # the run stopped
            if self._finished(job) and job.delivering == 0:  # its last page, or its failure
                events.append(self._final(job))
            handed = await self._deliver_held(events, (job,) if events else ())
        finally:
            if not handed:  # else the caller frees them once it consumed the chunk
                self._free(landed)
