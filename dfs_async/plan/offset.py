"""The offset paging kind: which pages of one job are owed, what each answer emits.

A pure state machine: no I/O, no clock, no randomness. The engine asks it which pages to send
(`owed`), tells it how each one ended (`on_page`, `on_retry`, `on_failure`) and forwards what
`on_page` returns. Its promise is **exactly-once by position**: an item's position is
`page.offset + index`, and no position is emitted twice, whatever the order of answers, the
retries, short pages or a `total_count` that changes between pages. Positions, not items:
when the data changes under offset paging an item can move to a position already read (or
away from one not yet read); no client can see that, so none is promised.

The grid
--------
Pages sit on a fixed grid: offsets `offset, offset + limit, offset + 2*limit, ...`. The
wanted window is `[offset, stop)` with `stop = offset + max_items` (no end without
`max_items`); a page's limit is `min(limit, stop - page.offset)`, so the last page asks only
for what is still wanted (cost is $0.02 per request plus a little per item: the request
can't be saved, the unwanted items can). A page may be asked several times (retries) but is
answered at most once, and `on_page` emits at most `page.limit` items (a longer answer is
cut): grid pages don't overlap, hence no position twice.

The horizon
-----------
`horizon` is where the data ends, as the latest answer says: its `total_count`, or, if the
page came back short (fewer items than its limit), the end of its items when that is lower
(the data shrank, or the total was stale). Capped at `stop`. A grid page is owed while its
offset is below the horizon:

- it grows (a later `total_count` is larger): the new pages up to it are owed at once;
- it shrinks: pages not yet handed out beyond it stay parked, not sent (no money spent on
  empty pages); pages already in flight are not recalled, and what they bring is emitted
  (their positions are still unique). A later answer that raises the horizon again un-parks
  them; when the job ends, parked pages are dropped;
- `total_count` null: the answer says nothing about the total; the horizon stays where it
  was (after the first page: the job ends with that page, no endless guessing).

Bound: every page ever sent is a grid page below the largest horizon seen, so at most
`ceil((max(offset + 1, min(largest total_count seen, stop)) - offset) / limit)` pages are
answered (retries aside, which the engine's policy bounds). A server can't make the job loop:
it can only make it page up to the totals it reports, and `max_items` caps even that.
Known limit: a short page is done for good; if the total later grows past it, its tail is
not asked again (pages beyond it are).

States of the job
-----------------
Probing
    Only the first page (`offset`) is owed or in flight; the total is unknown.
    `on_page` -> Paging (or Done if the data ends within the first page);
    `on_retry` -> Probing (the first page is owed again); `on_failure` -> Failed.
Paging
    The horizon is known; every grid page below it that is not in flight or answered is owed.
    `on_page` emits the page's items and moves the horizon; `on_retry` puts the page back to
    owed; `on_failure` -> Failed. -> Done when nothing is owed and nothing is in flight.
Failed
    A page failed for good: `failure` holds its code and message; nothing is owed any more,
    pages still in flight may come back (with any outcome) and emit nothing. A later failure
    does not replace the first. -> Done when nothing is in flight.
Done
    Nothing owed, nothing in flight; `failure` tells whether the job succeeded. Terminal.

Each page: owed -> (`owed()`) in flight -> answered (`on_page`) | owed again (`on_retry`)
| failed (`on_failure`). Reporting a page that is not in flight is a bug in the caller and
raises `PageNotInFlight`.

Seeded plans (resuming)
-----------------------
A plan can start from what an earlier run of the same job (the same `limit`, `offset` and
`max_items`, hence the same grid) already delivered: `answered`, the grid offsets whose items
were delivered, and `total_count`, the latest total that run saw. An answered page is never
owed again (its positions were emitted then, so emitting them now would be twice). With a
known total the plan starts in Paging (no probing, even if the first page is not among the
answered ones): every grid page below `min(total_count, stop)` that is not answered is owed.
With no total, it probes as usual, unless the first page is answered (its answer then had a
null total: the job ended with it, so nothing is owed). `items_emitted` and `pages_done`
count this plan's life only. Known limit: an earlier short page's lower horizon is not
replayed (only the total is); against data that shrank, pages past it may be asked and come
back short or empty, which emits nothing twice.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dfs_async.errors import ValidationError, check_int
from dfs_async.models import PagedResult
from dfs_async.plan.protocol import PageNotInFlight, PageRequest
from dfs_async.records import Page, PageProgress

T = TypeVar("T")

__all__ = ["Offset", "OffsetPlan"]


@dataclass(frozen=True)
class Offset:
    """Pages of `limit` items at `offset`, in parallel once the first tells `total_count`."""

    max_limit: int | None = 1000

    def plan(
        self,
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        progress: PageProgress | None = None,
    ) -> OffsetPlan[Any]:
        return OffsetPlan(
            limit=limit,
            offset=offset,
            max_items=max_items,
            answered=progress.answered if progress is not None else (),
            total_count=progress.total_count if progress is not None else None,
        )

    def task_fields(self, page: PageRequest) -> dict[str, Any]:
        return {"offset": page.offset, "limit": page.limit}

    def result_type(self, item: type[Any]) -> Any:
        return PagedResult[item]  # type: ignore[valid-type]

    def answer(
        self, target: str, page: PageRequest, results: Sequence[Any], cost: float
    ) -> Page[Any]:
        result = results[0] if results else None
        return Page(
            target=target,
            total_count=result.total_count if result is not None else None,
            items=list(result.items or ()) if result is not None else [],
            cost=cost,
            offset=page.offset,
            limit=page.limit,
        )

    def answer_type(self, item: type[Any], result: Any) -> Any:
        return Page[item]  # type: ignore[valid-type]


def check_grid(limit: int, offset: int, max_items: int | None) -> None:
    """Refuse a grid that is not one (`ValidationError` naming the field)."""
    check_int("limit", limit, 1)
    check_int("offset", offset, 0)
    check_int("max_items", max_items, 1, none=True)


class OffsetPlan(Generic[T]):
    """The paging ledger of one job; see the module docstring for states and transitions."""

    __slots__ = (
        "_answered",
        "_failure",
        "_frontier",
        "_horizon",
        "_in_flight",
        "_items",
        "_limit",
        "_pages",
        "_parked",
        "_start",
        "_stop",
        "_total",
    )

    def __init__(
        self,
        *,
        limit: int,
        offset: int = 0,
        max_items: int | None = None,
        answered: Iterable[int] = (),
        total_count: int | None = None,
    ) -> None:
        check_grid(limit, offset, max_items)
        self._limit = limit
        self._start = offset
        self._stop = None if max_items is None else offset + max_items
        # Grid offsets below _frontier have been handed out at least once.
        self._frontier = offset
        # Owed while below the horizon: offset + 1 until the first answer (only the first page).
        self._horizon = offset + 1
        self._parked: list[int] = []  # retried offsets, sorted: owed when below the horizon
        self._in_flight: dict[int, int] = {}  # offset -> limit
        self._failure: tuple[int | None, str] | None = None
        self._total: int | None = None
        self._items = 0
        self._pages = 0
        # Seeded (see "Seeded plans"): grid offsets answered before, skipped by the frontier.
        self._answered: set[int] = set()
        if total_count is not None:
            if isinstance(total_count, bool) or not isinstance(total_count, int):
                raise ValidationError(
                    "total_count", f"must be None or an integer, got {total_count!r}"
                )
            self._total = total_count
            self._horizon = total_count if self._stop is None else min(total_count, self._stop)
        for done in answered:
            if (
                done < offset
                or (done - offset) % limit
                or (self._stop is not None and done >= self._stop)
            ):
                raise ValidationError("answered", f"offset {done} is not a page of this grid")
            self._answered.add(done)
        self._skip_answered()

    # -- queries -------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Nothing owed and nothing in flight (whether the job failed or not)."""
        if self._in_flight:
            return False
        if self._failure is not None:
            return True
        horizon = self._horizon
        return self._frontier >= horizon and not (self._parked and self._parked[0] < horizon)

    @property
    def failure(self) -> tuple[int | None, str] | None:
        """`(status_code, status_message)` of the page that failed the job, else None."""
        return self._failure

    @property
    def total_count(self) -> int | None:
        """The `total_count` of the latest answer that had one (for progress displays)."""
        return self._total

    @property
    def in_flight(self) -> int:
        """How many pages are handed out and not yet reported."""
        return len(self._in_flight)

    @property
    def cursor(self) -> None:
        return None  # no cursor chain in this kind

    @property
    def items_emitted(self) -> int:
        return self._items

    @property
    def pages_done(self) -> int:
        """Pages answered while the job was alive (the pages whose items were emitted)."""
        return self._pages

    def __repr__(self) -> str:
        state = "failed" if self._failure else "done" if self.done else "open"
        return (
            f"OffsetPlan({state}, offset={self._start}, limit={self._limit}, stop={self._stop},"
            f" horizon={self._horizon}, frontier={self._frontier},"
            f" in_flight={len(self._in_flight)}, parked={len(self._parked)})"
        )

    # -- transitions ---------------------------------------------------------------------

    def owed(self, at_most: int | None = None) -> list[PageRequest]:
        """Hand out the pages to send now (at most `at_most`); they are then in flight.

        Retried pages come first, then new grid pages in offset order. A second call returns
        only what became owed since (an answer, a retry); `at_most` lets a caller pull lazily.
        """
        if at_most is not None and at_most < 0:
            raise ValidationError("at_most", f"must be None or at least 0, got {at_most}")
        if self._failure is not None:
            return []
        horizon = self._horizon
        room = -1 if at_most is None else at_most
        offsets: list[int] = []
        parked = self._parked
        if parked and parked[0] < horizon:
            n = bisect_left(parked, horizon)
            if 0 <= room < n:
                n = room
            offsets = parked[:n]
            del parked[:n]
            room = room - n if room >= 0 else -1
        if self._answered:  # seeded: step over the pages answered before, one at a time
            while self._frontier < horizon and room != 0:
                offsets.append(self._frontier)
                self._frontier += self._limit
                self._skip_answered()
                room -= 1
        elif self._frontier < horizon and room != 0:
            end = horizon if room < 0 else min(horizon, self._frontier + room * self._limit)
            fresh = range(self._frontier, end, self._limit)
            offsets.extend(fresh)
            self._frontier = fresh[-1] + self._limit
        limit, stop, in_flight = self._limit, self._stop, self._in_flight
        pages = []
        for offset in offsets:
            page_limit = limit if stop is None or stop - offset >= limit else stop - offset
            in_flight[offset] = page_limit
            pages.append(PageRequest(offset, page_limit))
        return pages

    def on_result(self, page: PageRequest, result: Any) -> Sequence[T]:
        """A decoded `PagedResult` (or None: an answer without a result) came back."""
        if result is None:
            return self.on_page(page, None, ())
        return self.on_page(page, result.total_count, result.items or ())

    def on_page(
        self, page: PageRequest, total_count: int | None, items: Sequence[T]
    ) -> Sequence[T]:
        """The page came back: return its items to emit now and move the horizon."""
        self._land(page)
        if self._failure is not None:
            return ()
        count = len(items)
        if count > page.limit:  # more than asked: the extra positions belong to other pages
            items = items[: page.limit]
            count = page.limit
        end = self._horizon
        if total_count is not None:
            self._total = end = total_count
        if count < page.limit:
            end = min(end, page.offset + count)
        self._horizon = end if self._stop is None else min(end, self._stop)
        self._items += count
        self._pages += 1
        return items

    def see_total(self, total_count: int | None) -> None:
        """Another request of the job (not a grid page: a cursor kind's chain page) reported
        `total_count`: the horizon moves as it would on an answer (a null total: no move)."""
        if total_count is None or self._failure is not None:
            return
        self._total = total_count
        self._horizon = total_count if self._stop is None else min(total_count, self._stop)

    def on_retry(self, page: PageRequest) -> None:
        """The page will be asked again: it goes back to owed (unless the job has failed)."""
        self._land(page)
        if self._failure is None:
            insort(self._parked, page.offset)

    def on_failure(self, page: PageRequest, status_code: int | None, status_message: str) -> None:
        """The page failed for good: the job fails; pages in flight will emit nothing."""
        self._land(page)
        if self._failure is None:
            self._failure = (status_code, status_message)
            self._parked.clear()

    def _skip_answered(self) -> None:
        """Move the frontier past the pages answered before this plan (seeded plans)."""
        answered = self._answered
        while self._frontier in answered:
            answered.discard(self._frontier)
            self._frontier += self._limit

    def _land(self, page: PageRequest) -> None:
        if self._in_flight.get(page.offset) != page.limit or page.cursor is not None:
            raise PageNotInFlight(
                f"page offset={page.offset} limit={page.limit} is not in flight"
                f" (never handed out by owed(), or already reported): {self!r}"
            )
        del self._in_flight[page.offset]
